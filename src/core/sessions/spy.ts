/**
 * Spies: sessions that subscribe to PUB/XPUB endpoints and append what they
 * receive to the capture. The monitor spy is a spy whose publisher is the
 * monitor PUB of a monitored queue device: every message starts with a
 * direction prefix frame (`in`/`out`).
 *
 * Each endpoint is served by its own subscriber, so that each message carries
 * the endpoint it came from even when several publishers interleave: the
 * ZMTP-native one (zmtpSpy.ts: plain TCP, decoded straight into the capture)
 * for tcp:// endpoints, a `zeromq` Subscriber where the native one cannot serve
 * (ipc://, a peer that speaks ZMTP 1.0/2.0, or when asked with `native: false`);
 * `details` says which, and why.
 *
 * Socket events (`connect`, `connect:retry`, `disconnect`, `handshake:error:*`,
 * ...) are captured too, so "nothing listens on 5556" shows as retries, not
 * silence, but a publisher that went away must not flood the capture: a run of
 * failed connects is one `connect:retry` record (attempts 1) when it begins and
 * one `connect:retried` record with the count when it ends; in between, the
 * session's details count live. A spy that cannot keep up with its publisher
 * says so: a `spy:behind` record, `details.behind`, and `spy:caught-up` after.
 */
import type { Subscriber } from 'zeromq';
import { Capture } from '../capture/capture';
import { connectAddressFor, parseEndpoint } from '../zmq/endpoint';
import { Emitter, type Event } from '../base/lifecycle';
import { CapturedEvent, CapturedMessage, Direction, SourceKind } from '../capture/records';
import { CaptureSession, SessionState } from './session';
import { formatTopic } from '../zmq/topics';
import { zmq } from '../zmq/zmqLoader';
import { type BehindInfo, equalBytes, type LinkEvent, NativeSubscriber } from './zmtpSpy';

export type { BehindInfo } from './zmtpSpy';

export interface SpyOptions {
  id: string;
  endpoints: string[];
  capture: Capture;
  /** Topic prefixes to subscribe to; none means everything. */
  topics?: Uint8Array[];
  /**
   * Receive high-water mark per socket of the zeromq.js path. libzmq's PUB drops
   * silently when it is reached, so the spy asks for a deep queue. Default 100,000.
   */
  receiveHighWaterMark?: number;
  /** Use the ZMTP-native subscriber where it can serve (default true); false: always a `zeromq` Subscriber. */
  native?: boolean;
  /** First reconnect interval in ms (ZMQ_RECONNECT_IVL). Default 100. */
  reconnectInterval?: number;
  /** Reconnects back off up to this many ms (ZMQ_RECONNECT_IVL_MAX). Default 5000. */
  reconnectIntervalMax?: number;
  /** Native path: payload bytes kept per frame, the rest counted (`truncated`); the zeromq.js path refuses a larger frame (libzmq maxMessageSize: a `spy:refused` record, then it reconnects). Default 4 MiB. */
  maxCapturedFrameBytes?: number;
  /** Native path: a peer that has not finished the ZMTP handshake this long after accepting is reported and retried. Default 5000 ms. */
  handshakeTimeoutMs?: number;
}

export interface MonitorSpyOptions extends Omit<SpyOptions, 'topics' | 'endpoints'> {
  endpoint: string;
  /** Prefix frames that mark the two directions (pyzmq's monitored_queue defaults). */
  inPrefix?: string;
  outPrefix?: string;
}

export type EndpointState = 'connecting' | 'connected' | 'retrying' | 'receiving';

/** What the status bar, the Sessions tree and the viewer show about one spied endpoint. */
export interface SpyEndpointDetails {
  endpoint: string;
  /** Which subscriber serves it. */
  path: 'native' | 'zeromq.js';
  /** Why the zeromq.js path serves it (undefined on the native path). */
  pathReason?: string;
  state: EndpointState;
  /** From the publisher's READY (native path). */
  peerSocketType?: string;
  /** ZMTP version the publisher announced (native path). */
  zmtpVersion?: string;
  /** The current run of failed connects: since when, how many, the last interval. */
  retry?: { since: number; attempts: number; interval?: number };
  /** Set while the spy cannot keep up with this publisher. */
  behind?: BehindInfo;
  /** The last handshake error (wrong socket type, a mechanism the spy cannot speak, not ZMTP...), until a handshake succeeds. */
  lastError?: string;
}

export interface SpyDetails {
  endpoints: SpyEndpointDetails[];
  /** Set while any endpoint is behind: the earliest `since`, the summed backlog. */
  behind?: BehindInfo;
  /** Failed connects in the current runs, summed over endpoints (0 when none retries). */
  retryAttempts: number;
}

/** What the session tells about a spy that cannot keep up (record text, status bar, viewer). */
/** A spy's live details (path, retries, falling behind); undefined for a session that is not a spy. */
export function spyDetailsOf(session: CaptureSession): SpyDetails | undefined {
  return session instanceof SubscriberSession ? session.details : undefined;
}

/** The native path's default cut of a frame, and the zeromq.js path's largest frame (ZMQ_MAXMSGSIZE). */
const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** libzmq reports a retry at once after a lost connection; none within this long means it gave the endpoint up. */
const REFUSAL_GRACE_MS = 500;

export const BEHIND_TEXT = 'falling behind — the publisher may be dropping messages for this subscriber at its HWM';

interface Link {
  readonly path: 'native' | 'zeromq.js';
  subscribe(topic: Uint8Array): void;
  unsubscribe(topic: Uint8Array): void;
  stop(): Promise<void>;
}

interface EndpointEntry extends SpyEndpointDetails {
  address: string;
  link?: Link;
  /** A `connect` (zeromq.js) held back during a run of retries: shown only if the handshake then succeeds. */
  heldConnect?: LinkEvent;
  lastRaw?: string;
  /** Messages of this endpoint in the capture when it last (re)connected: more means receiving. */
  seen: number;
  /** A flag object instead of a Map lookup per message: the zeromq.js loop is the hot path. */
  flag: { receiving: boolean };
}

abstract class SubscriberSession implements CaptureSession {
  abstract readonly kind: SourceKind;
  readonly id: string;
  readonly endpoints: readonly string[];
  private currentState: SessionState = 'connecting';
  private errorText?: string;
  private readonly entries: EndpointEntry[] = [];
  private stopping?: Promise<void>;
  private readonly stateEmitter = new Emitter<SessionState>();
  readonly onDidChangeState = this.stateEmitter.event;
  private readonly detailsEmitter = new Emitter<void>();
  /** Fires when `details` change: path, retries (at most 4 times a second), falling behind, errors. */
  readonly onDidChangeDetails: Event<void> = this.detailsEmitter.event;
  private detailsTimer: NodeJS.Timeout | undefined;
  protected readonly capture: Capture;
  protected subscriptions: Uint8Array[];

  constructor(
    private readonly options: Omit<SpyOptions, 'endpoints' | 'topics'>,
    endpoints: string[],
    topics: Uint8Array[],
  ) {
    if (endpoints.length === 0) throw new Error('Give at least one endpoint to observe');
    this.id = options.id;
    this.capture = options.capture;
    // Validate everything before opening anything, so bad input leaves nothing behind.
    const targets = endpoints.map((e) => ({ endpoint: parseEndpoint(e).text, address: connectAddressFor(e) }));
    this.endpoints = targets.map((t) => t.endpoint);
    this.subscriptions = topics.length === 0 ? [new Uint8Array(0)] : topics.map((t) => new Uint8Array(t));
    for (const { endpoint, address } of targets) {
      const entry: EndpointEntry = { endpoint, address, path: 'native', state: 'connecting', flag: { receiving: false }, seen: 0 };
      this.entries.push(entry);
    }
  }

  /** Opens the subscribers; called once by the subclass constructor, when toRecord can run. */
  protected open(): void {
    for (const entry of this.entries) {
      // a failure on any endpoint stops the links already opened: nothing is left behind
      try {
        const ep = parseEndpoint(entry.address);
        if (this.options.native === false) this.useZeromq(entry, 'asked for (native: false)');
        else if (ep.transport !== 'tcp') this.useZeromq(entry, `${ep.transport}:// is not TCP: libzmq serves it`);
        else this.useNative(entry, ep.host, ep.port);
      } catch (err) {
        void this.stop();
        throw new Error(`Cannot connect to ${entry.endpoint}: ${(err as Error).message}`);
      }
    }
  }

  abstract get label(): string;

  get state(): SessionState {
    return this.currentState;
  }

  get error(): string | undefined {
    return this.errorText;
  }

  get details(): SpyDetails {
    const endpoints = this.entries.map((e) => {
      const d: SpyEndpointDetails = { endpoint: e.endpoint, path: e.path, state: e.state };
      for (const k of ['pathReason', 'peerSocketType', 'zmtpVersion', 'lastError'] as const) if (e[k] !== undefined) d[k] = e[k];
      if (e.retry) d.retry = { ...e.retry };
      if (e.behind) d.behind = { ...e.behind };
      return d;
    });
    const out: SpyDetails = { endpoints, retryAttempts: endpoints.reduce((n, e) => n + (e.retry?.attempts ?? 0), 0) };
    const behind = endpoints.filter((e) => e.behind).map((e) => e.behind!);
    if (behind.length) {
      const known = behind.filter((b) => b.backlogBytes !== undefined);
      out.behind = { since: Math.min(...behind.map((b) => b.since)) };
      if (known.length) out.behind.backlogBytes = known.reduce((n, b) => n + b.backlogBytes!, 0);
    }
    return out;
  }

  /** Turns one received multipart message into the record to append. `truncated` comes from the native path only. */
  protected abstract toRecord(frames: Uint8Array[], endpoint: string, truncated?: Record<number, number>): CapturedMessage;

  /** Whether whole in-read messages may go straight to the capture as wire bytes (the records toRecord would make). */
  protected abstract readonly wirePath: boolean;

  private useNative(entry: EndpointEntry, host: string, port: number): void {
    entry.path = 'native';
    const link = new NativeSubscriber({
      session: this.id,
      source: this.kind,
      endpoint: entry.endpoint,
      host,
      port,
      capture: this.capture,
      subscriptions: this.subscriptions,
      wire: this.wirePath,
      maxCapturedFrameBytes: this.options.maxCapturedFrameBytes,
      reconnectInterval: this.options.reconnectInterval,
      reconnectIntervalMax: this.options.reconnectIntervalMax,
      handshakeTimeoutMs: this.options.handshakeTimeoutMs,
      toRecord: (frames, truncated) => {
        if (!entry.flag.receiving) queueMicrotask(() => this.markReceiving(entry));
        return this.toRecord(frames, entry.endpoint, truncated);
      },
      onEvent: (e) => this.onLinkEvent(entry, e),
      onFallback: (reason) => {
        if (this.stopping) return;
        this.useZeromq(entry, reason);
        this.detailsChanged(true);
      },
      onPeer: (peer) => {
        entry.peerSocketType = peer?.socketType;
        entry.zmtpVersion = peer?.version;
        this.detailsChanged(true);
      },
      onBehind: (info) => this.onBehind(entry, info),
    });
    entry.link = { path: 'native', subscribe: (t) => link.subscribe(t), unsubscribe: (t) => link.unsubscribe(t), stop: async () => link.stop() };
    // wire-path messages bypass toRecord: the capture's append event tells when they arrive
    if (this.wirePath) this.watchWireArrivals();
    link.start();
  }

  private wireWatch: { dispose(): void } | undefined;

  /** The native wire path appends without a callback per message: one check per capture tick marks endpoints receiving. */
  private watchWireArrivals(): void {
    if (this.wireWatch) return;
    const check = () => {
      if (this.entries.every((e) => e.flag.receiving)) return;
      const c = this.capture.session(this.id);
      if (!c) return;
      for (const e of this.entries) {
        if (!e.flag.receiving && e.path === 'native' && (c.endpoints.get(e.endpoint)?.messages ?? 0) > e.seen) this.markReceiving(e);
      }
    };
    const sub = this.capture.onDidAppend(check);
    // a capture nobody listens to (a CLI that polls) fires no append events: check every 100 ms as well
    const timer = setInterval(check, 100);
    timer.unref();
    this.wireWatch = { dispose: () => (sub.dispose(), clearInterval(timer)) };
  }

  private useZeromq(entry: EndpointEntry, reason: string): void {
    entry.path = 'zeromq.js';
    entry.pathReason = reason;
    const { Subscriber } = zmq();
    // libzmq cannot cut a frame as the native path does: a larger one is refused (see watchRefusals)
    const maxMessageSize = this.options.maxCapturedFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    const socket: Subscriber = new Subscriber({
      receiveHighWaterMark: this.options.receiveHighWaterMark ?? 100_000,
      linger: 0,
      reconnectInterval: this.options.reconnectInterval ?? 100,
      reconnectMaxInterval: this.options.reconnectIntervalMax ?? 5000,
      maxMessageSize,
    });
    const loops = [this.watchEvents(socket, entry, maxMessageSize)];
    try {
      for (const t of this.subscriptions) socket.subscribe(Buffer.from(t.buffer, t.byteOffset, t.byteLength));
      socket.connect(entry.address);
    } catch (err) {
      // libzmq refused the endpoint: this socket is ours to close (it is on no link yet)
      socket.close();
      throw err;
    }
    loops.push(this.receive(socket, entry));
    entry.link = {
      path: 'zeromq.js',
      subscribe: (t) => socket.subscribe(Buffer.from(t)),
      unsubscribe: (t) => socket.unsubscribe(Buffer.from(t)),
      stop: async () => {
        socket.close();
        await Promise.allSettled(loops);
      },
    };
  }

  /** Adds a subscription (a topic prefix; empty: everything) on every endpoint. */
  subscribe(topic: Uint8Array): void {
    if (this.subscriptions.some((s) => equalBytes(s, topic))) return;
    this.subscriptions.push(new Uint8Array(topic));
    for (const e of this.entries) e.link?.subscribe(topic);
  }

  /** Cancels a subscription on every endpoint; messages of that topic stop being captured. */
  unsubscribe(topic: Uint8Array): void {
    const i = this.subscriptions.findIndex((s) => equalBytes(s, topic));
    if (i < 0) return;
    this.subscriptions.splice(i, 1);
    for (const e of this.entries) e.link?.unsubscribe(topic);
  }

  private async receive(socket: Subscriber, entry: EndpointEntry): Promise<void> {
    try {
      const flag = entry.flag;
      for await (const frames of socket) {
        this.capture.append(this.toRecord(frames, entry.endpoint));
        if (!flag.receiving) this.markReceiving(entry);
      }
    } catch (err) {
      if (!this.stopping) this.fail(`Receiving from ${entry.endpoint} failed: ${(err as Error).message}`);
    }
  }

  private async watchEvents(socket: Subscriber, entry: EndpointEntry, maxMessageSize: number): Promise<void> {
    const refusals = this.watchRefusals(socket, entry, maxMessageSize);
    try {
      for await (const event of socket.events) {
        if (event.type === 'end') break;
        refusals.saw(event.type);
        const e = event as { type: string; address?: string; interval?: number; error?: Error & { code?: string } };
        this.onLinkEvent(entry, { type: e.type, address: e.address, interval: e.interval, error: e.error?.message, code: e.error?.code });
      }
    } catch {
      // the observer ends with the socket
    } finally {
      refusals.dispose();
    }
  }

  /**
   * libzmq closes a connection on a frame over maxMessageSize (or any protocol
   * error) and, unlike after a lost peer, never reconnects it: a `disconnect`
   * not followed by a retry within REFUSAL_GRACE_MS is that. The spy records
   * what was refused (`spy:refused`) and connects again.
   */
  private watchRefusals(socket: Subscriber, entry: EndpointEntry, maxMessageSize: number): { saw(type: string): void; dispose(): void } {
    let timer: NodeJS.Timeout | undefined;
    const refused = () => {
      timer = undefined;
      if (this.stopping || socket.closed) return;
      const error = `a message was refused: a frame over ${maxMessageSize} bytes (the spy's limit on the zeromq.js path) or a malformed stream closed the connection; reconnecting`;
      entry.lastError = error;
      this.record(entry, { type: 'spy:refused', error, code: 'EMSGSIZE' });
      this.detailsChanged(true);
      try {
        socket.disconnect(entry.address);
      } catch {
        // libzmq already forgot the endpoint
      }
      try {
        socket.connect(entry.address);
      } catch (err) {
        this.fail(`Reconnecting to ${entry.endpoint} failed: ${(err as Error).message}`);
      }
    };
    return {
      saw(type) {
        clearTimeout(timer);
        timer = type === 'disconnect' ? setTimeout(refused, REFUSAL_GRACE_MS).unref() : undefined;
      },
      dispose: () => clearTimeout(timer),
    };
  }

  /**
   * Every socket event of an endpoint passes here: recorded, except what a run
   * of failed connects repeats (see the file comment).
   */
  private onLinkEvent(entry: EndpointEntry, e: LinkEvent): void {
    if (this.stopping && e.type !== 'disconnect') return;
    const last = entry.lastRaw;
    entry.lastRaw = e.type;
    const retrying = entry.retry !== undefined;
    switch (e.type) {
      case 'connect:delay':
        // an attempt under way (zeromq.js): its outcome is what tells
        return;
      case 'close':
        if (retrying || last === 'connect:delay' || last === 'connect:retry') return;
        break;
      case 'connect:retry': {
        if (entry.retry) {
          entry.retry.attempts++;
          entry.retry.interval = e.interval;
          this.detailsChanged(false);
        } else {
          // the summary's `since` is this record's ts
          const ts = Date.now();
          entry.retry = { since: ts, attempts: 1, interval: e.interval };
          this.record(entry, { ...e, attempts: 1 }, ts);
          this.detailsChanged(true);
        }
        this.setEndpointState(entry, 'retrying');
        return;
      }
      case 'connect':
        if (retrying) {
          // held until the handshake says whether this attempt worked
          entry.heldConnect = e;
          return;
        }
        break;
      case 'handshake':
        this.endRetry(entry);
        if (entry.heldConnect) this.record(entry, entry.heldConnect);
        entry.heldConnect = undefined;
        if (entry.lastError !== undefined) {
          entry.lastError = undefined;
          this.detailsChanged(true);
        }
        break;
      case 'disconnect':
        entry.heldConnect = undefined;
        if (retrying) return;
        break;
      default:
        if (e.type.startsWith('handshake:error')) {
          entry.heldConnect = undefined;
          // the same refusal again is one more attempt of the run, counted there
          if (retrying && entry.lastError === e.error) return;
          entry.lastError = e.error ?? e.type;
          this.detailsChanged(true);
        }
    }
    this.record(entry, e);
    switch (e.type) {
      case 'connect':
      case 'handshake':
        if (entry.state !== 'receiving') this.setEndpointState(entry, 'connected');
        break;
      case 'disconnect':
        this.setEndpointState(entry, 'connecting');
        break;
    }
  }

  /** A run of retries ended (connected or stopped): its summary, when there was more than the first attempt. */
  private endRetry(entry: EndpointEntry): void {
    const r = entry.retry;
    if (!r) return;
    entry.retry = undefined;
    if (r.attempts > 1) this.record(entry, { type: 'connect:retried', interval: r.interval, attempts: r.attempts, since: r.since });
    this.detailsChanged(true);
  }

  private onBehind(entry: EndpointEntry, info: BehindInfo | undefined): void {
    const was = entry.behind;
    entry.behind = info && { ...info };
    if (info && !was) this.record(entry, { type: 'spy:behind', error: BEHIND_TEXT, since: info.since, ...(info.backlogBytes !== undefined ? { backlog: info.backlogBytes } : {}) });
    else if (!info && was && !this.stopping) this.record(entry, { type: 'spy:caught-up', since: was.since });
    this.detailsChanged(!info || !was);
  }

  private record(entry: EndpointEntry, e: LinkEvent & { attempts?: number; since?: number; backlog?: number }, ts = Date.now()): void {
    const r: CapturedEvent = { kind: 'event', seq: 0, ts, session: this.id, source: this.kind, endpoint: entry.endpoint, type: e.type };
    if (e.address !== undefined) r.address = e.address;
    if (e.interval !== undefined) r.interval = e.interval;
    if (e.error !== undefined) r.error = e.error;
    if (e.code !== undefined) r.code = e.code;
    if (e.attempts !== undefined) r.attempts = e.attempts;
    if (e.since !== undefined) r.since = e.since;
    if (e.backlog !== undefined) r.backlog = e.backlog;
    this.capture.append(r);
  }

  private markReceiving(entry: EndpointEntry): void {
    if (entry.flag.receiving) return;
    this.setEndpointState(entry, 'receiving');
  }

  private setEndpointState(entry: EndpointEntry, state: EndpointState): void {
    if (entry.state !== state) {
      entry.state = state;
      this.detailsChanged(true);
    }
    entry.flag.receiving = state === 'receiving';
    if (state !== 'receiving' && state !== 'connected') entry.seen = this.capture.session(this.id)?.endpoints.get(entry.endpoint)?.messages ?? 0;
    if (this.currentState === 'error' || this.stopping) return;
    const states = this.entries.map((e) => e.state);
    const next: SessionState = (['receiving', 'connected', 'retrying', 'connecting'] as const).find((s) => states.includes(s))!;
    this.setState(next);
  }

  /** Tells listeners that details changed: at once, or (retry counts) at most 4 times a second. */
  private detailsChanged(now: boolean): void {
    if (this.stopping && !now) return;
    if (now) {
      clearTimeout(this.detailsTimer);
      this.detailsTimer = undefined;
      this.detailsEmitter.fire();
      return;
    }
    this.detailsTimer ??= setTimeout(() => {
      this.detailsTimer = undefined;
      this.detailsEmitter.fire();
    }, 250);
  }

  private setState(state: SessionState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.stateEmitter.fire(state);
  }

  private fail(message: string): void {
    this.errorText = message;
    this.setState('error');
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.allSettled(this.entries.map((e) => e.link?.stop()));
      for (const e of this.entries) this.endRetry(e);
      this.wireWatch?.dispose();
      clearTimeout(this.detailsTimer);
      if (this.currentState !== 'error') this.setState('stopped');
      this.stateEmitter.dispose();
      this.detailsEmitter.dispose();
    })();
    return this.stopping;
  }

  dispose(): void {
    void this.stop();
  }
}

/** Spies on one or more PUB/XPUB endpoints, optionally filtered by topic prefixes. */
export class PubSpy extends SubscriberSession {
  readonly kind = 'spy';
  readonly topics: readonly Uint8Array[];

  protected readonly wirePath = true;

  constructor(options: SpyOptions) {
    const topics = options.topics ?? [];
    super(options, options.endpoints, topics);
    this.topics = topics;
    this.open();
  }

  get label(): string {
    const subs = this.subscriptions;
    const everything = subs.length === 1 && subs[0].length === 0;
    const topics = everything ? '' : ` [${subs.map(formatTopic).join(', ')}]`;
    return `spy ${this.endpoints.join(', ')}${topics}`;
  }

  protected toRecord(frames: Uint8Array[], endpoint: string, truncated?: Record<number, number>): CapturedMessage {
    const r: CapturedMessage = { kind: 'message', seq: 0, ts: Date.now(), session: this.id, source: 'spy', endpoint, direction: 'in', frames, socketType: 'SUB' };
    if (truncated) r.truncated = truncated;
    return r;
  }
}

/**
 * Spies on the monitor PUB of a monitored queue device: decodes the prefix frame
 * into a direction and marks the ROUTER envelope (identities up to the empty
 * delimiter) so views can show it apart from the body.
 */
export class MonitorSpy extends SubscriberSession {
  readonly kind = 'monitor';
  readonly inPrefix: Buffer;
  readonly outPrefix: Buffer;
  /** Messages whose first frame was neither prefix: kept whole, counted here. */
  unknownPrefixCount = 0;
  /** Every message needs its prefix read and its envelope found: the general path, no wire bytes. */
  protected readonly wirePath = false;

  constructor(options: MonitorSpyOptions) {
    const inPrefix = Buffer.from(options.inPrefix ?? 'in');
    const outPrefix = Buffer.from(options.outPrefix ?? 'out');
    // checked before any socket opens, like the endpoints
    if (inPrefix.equals(outPrefix)) throw new Error(`The in and out prefixes must differ (both are '${inPrefix}')`);
    super(options, [options.endpoint], []);
    this.inPrefix = inPrefix;
    this.outPrefix = outPrefix;
    this.open();
  }

  get label(): string {
    return `monitor ${this.endpoints[0]}`;
  }

  protected toRecord(frames: Uint8Array[], endpoint: string, truncated?: Record<number, number>): CapturedMessage {
    const first = frames[0];
    let direction: Direction | undefined;
    // a prefix frame cut short is not the prefix
    if (first && truncated?.[0] === undefined) {
      if (equalBytes(first, this.inPrefix)) direction = 'in';
      else if (equalBytes(first, this.outPrefix)) direction = 'out';
    }
    if (!direction) {
      // Not a monitored-queue message: keep every frame, lose nothing.
      this.unknownPrefixCount++;
      const r: CapturedMessage = { kind: 'message', seq: 0, ts: Date.now(), session: this.id, source: 'monitor', endpoint, direction: 'in', frames, socketType: 'SUB' };
      if (truncated) r.truncated = truncated;
      return r;
    }
    const body = frames.slice(1);
    const envelopeFrames = routerEnvelopeLength(body);
    const record: CapturedMessage = { kind: 'message', seq: 0, ts: Date.now(), session: this.id, source: 'monitor', endpoint, direction, frames: body, socketType: 'SUB' };
    if (truncated) {
      // the prefix frame is gone: frame i of the body was frame i + 1
      const shifted: Record<number, number> = {};
      for (const [k, v] of Object.entries(truncated)) shifted[Number(k) - 1] = v;
      record.truncated = shifted;
    }
    if (envelopeFrames) {
      record.envelopeFrames = envelopeFrames;
      record.identity = body[0];
    }
    return record;
  }
}

/**
 * Length of a ROUTER envelope at the start of `frames`: one or more non-empty
 * identity frames followed by an empty delimiter, with a body after it. 0 when
 * there is none.
 */
export function routerEnvelopeLength(frames: Uint8Array[]): number {
  // REQ/REP traffic through ROUTER/DEALER devices carries at most a few hops of identities.
  const limit = Math.min(frames.length - 1, 16);
  for (let i = 1; i < limit + 1; i++) {
    if (frames[i].byteLength === 0) return i + 1 < frames.length ? i + 1 : 0;
    if (frames[i - 1].byteLength === 0) return 0;
  }
  return 0;
}
