/**
 * Spies: sessions that connect `zeromq` Subscriber sockets to PUB/XPUB endpoints
 * and append what they receive to the capture. The monitor spy is a spy whose
 * publisher is the monitor PUB of a monitored queue device: every message starts
 * with a direction prefix frame (`in`/`out`).
 *
 * One Subscriber per endpoint, so that each message carries the endpoint it came
 * from even when several publishers interleave. Every socket's events
 * (`connect`, `connect:retry`, `disconnect`, `handshake:error:*`, ...) are
 * captured too, so "nothing listens on 5556" shows as retries, not silence.
 */
import type { Subscriber } from 'zeromq';
import { Capture } from '../capture/capture';
import { connectAddressFor, parseEndpoint } from '../zmq/endpoint';
import { Emitter } from '../base/lifecycle';
import { CapturedMessage, Direction, SourceKind } from '../capture/records';
import { CaptureSession, SessionState } from './session';
import { formatTopic } from '../zmq/topics';
import { zmq } from '../zmq/zmqLoader';

export interface SpyOptions {
  id: string;
  endpoints: string[];
  capture: Capture;
  /** Topic prefixes to subscribe to; none means everything. */
  topics?: Uint8Array[];
  /**
   * Receive high-water mark per socket. libzmq's PUB drops silently when it is
   * reached, so the spy asks for a deep queue. Default 100,000.
   */
  receiveHighWaterMark?: number;
}

export interface MonitorSpyOptions extends Omit<SpyOptions, 'topics' | 'endpoints'> {
  endpoint: string;
  /** Prefix frames that mark the two directions (pyzmq's monitored_queue defaults). */
  inPrefix?: string;
  outPrefix?: string;
}

type EndpointState = 'connecting' | 'connected' | 'retrying' | 'receiving';

abstract class SubscriberSession implements CaptureSession {
  abstract readonly kind: SourceKind;
  readonly id: string;
  readonly endpoints: readonly string[];
  private currentState: SessionState = 'connecting';
  private errorText?: string;
  private readonly sockets: Subscriber[] = [];
  private readonly endpointStates = new Map<string, EndpointState>();
  private readonly receivingFlags = new Map<string, { receiving: boolean }>();
  private readonly loops: Promise<void>[] = [];
  private stopping?: Promise<void>;
  private readonly stateEmitter = new Emitter<SessionState>();
  readonly onDidChangeState = this.stateEmitter.event;
  protected readonly capture: Capture;

  constructor(
    options: { id: string; capture: Capture; receiveHighWaterMark?: number },
    endpoints: string[],
    topics: Uint8Array[],
  ) {
    if (endpoints.length === 0) throw new Error('Give at least one endpoint to observe');
    this.id = options.id;
    this.capture = options.capture;
    // Validate everything before opening anything, so bad input leaves nothing behind.
    const targets = endpoints.map((e) => ({ endpoint: parseEndpoint(e).text, address: connectAddressFor(e) }));
    this.endpoints = targets.map((t) => t.endpoint);
    const { Subscriber } = zmq();
    for (const { endpoint, address } of targets) {
      const socket = new Subscriber({ receiveHighWaterMark: options.receiveHighWaterMark ?? 100_000, linger: 0 });
      this.sockets.push(socket);
      this.endpointStates.set(endpoint, 'connecting');
      this.loops.push(this.watchEvents(socket, endpoint));
      if (topics.length === 0) socket.subscribe();
      else socket.subscribe(...topics.map((t) => Buffer.from(t.buffer, t.byteOffset, t.byteLength)));
      try {
        socket.connect(address);
      } catch (err) {
        void this.stop();
        throw new Error(`Cannot connect to ${endpoint}: ${(err as Error).message}`);
      }
      this.loops.push(this.receive(socket, endpoint));
    }
  }

  abstract get label(): string;

  get state(): SessionState {
    return this.currentState;
  }

  get error(): string | undefined {
    return this.errorText;
  }

  /** Turns one received multipart message into the record to append. */
  protected abstract toRecord(frames: Buffer[], endpoint: string): CapturedMessage;

  private async receive(socket: Subscriber, endpoint: string): Promise<void> {
    try {
      // a flag object instead of a Map lookup per message: this loop is the hot path
      const flag = this.receivingFlag(endpoint);
      for await (const frames of socket) {
        this.capture.append(this.toRecord(frames, endpoint));
        if (!flag.receiving) this.setEndpointState(endpoint, 'receiving');
      }
    } catch (err) {
      if (!this.stopping) this.fail(`Receiving from ${endpoint} failed: ${(err as Error).message}`);
    }
  }

  private async watchEvents(socket: Subscriber, endpoint: string): Promise<void> {
    try {
      for await (const event of socket.events) {
        if (event.type === 'end') break;
        const e = event as { type: string; address?: string; interval?: number; error?: Error & { code?: string } };
        this.capture.append({
          kind: 'event',
          seq: 0,
          ts: Date.now(),
          session: this.id,
          source: this.kind,
          endpoint,
          type: e.type,
          address: e.address,
          interval: e.interval,
          error: e.error?.message,
          code: e.error?.code,
        });
        switch (e.type) {
          case 'connect':
          case 'handshake':
            if (this.endpointStates.get(endpoint) !== 'receiving') this.setEndpointState(endpoint, 'connected');
            break;
          case 'connect:retry':
            this.setEndpointState(endpoint, 'retrying');
            break;
          case 'disconnect':
            this.setEndpointState(endpoint, 'connecting');
            break;
        }
      }
    } catch {
      // the observer ends with the socket
    }
  }

  private receivingFlag(endpoint: string): { receiving: boolean } {
    let f = this.receivingFlags.get(endpoint);
    if (!f) this.receivingFlags.set(endpoint, (f = { receiving: false }));
    return f;
  }

  private setEndpointState(endpoint: string, state: EndpointState): void {
    this.endpointStates.set(endpoint, state);
    this.receivingFlag(endpoint).receiving = state === 'receiving';
    if (this.currentState === 'error' || this.stopping) return;
    const states = [...this.endpointStates.values()];
    const next: SessionState = (['receiving', 'connected', 'retrying', 'connecting'] as const).find((s) => states.includes(s))!;
    this.setState(next);
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
      for (const s of this.sockets) s.close();
      await Promise.allSettled(this.loops);
      if (this.currentState !== 'error') this.setState('stopped');
      this.stateEmitter.dispose();
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

  constructor(options: SpyOptions) {
    const topics = options.topics ?? [];
    super(options, options.endpoints, topics);
    this.topics = topics;
  }

  get label(): string {
    const topics = this.topics.length ? ` [${this.topics.map(formatTopic).join(', ')}]` : '';
    return `spy ${this.endpoints.join(', ')}${topics}`;
  }

  protected toRecord(frames: Buffer[], endpoint: string): CapturedMessage {
    return { kind: 'message', seq: 0, ts: Date.now(), session: this.id, source: 'spy', endpoint, direction: 'in', frames, socketType: 'SUB' };
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

  constructor(options: MonitorSpyOptions) {
    const inPrefix = Buffer.from(options.inPrefix ?? 'in');
    const outPrefix = Buffer.from(options.outPrefix ?? 'out');
    // checked before any socket opens, like the endpoints
    if (inPrefix.equals(outPrefix)) throw new Error(`The in and out prefixes must differ (both are '${inPrefix}')`);
    super(options, [options.endpoint], []);
    this.inPrefix = inPrefix;
    this.outPrefix = outPrefix;
  }

  get label(): string {
    return `monitor ${this.endpoints[0]}`;
  }

  protected toRecord(frames: Buffer[], endpoint: string): CapturedMessage {
    const first = frames[0];
    let direction: Direction | undefined;
    if (first?.equals(this.inPrefix)) direction = 'in';
    else if (first?.equals(this.outPrefix)) direction = 'out';
    if (!direction) {
      // Not a monitored-queue message: keep every frame, lose nothing.
      this.unknownPrefixCount++;
      return { kind: 'message', seq: 0, ts: Date.now(), session: this.id, source: 'monitor', endpoint, direction: 'in', frames, socketType: 'SUB' };
    }
    const body = frames.slice(1);
    const envelopeFrames = routerEnvelopeLength(body);
    const record: CapturedMessage = { kind: 'message', seq: 0, ts: Date.now(), session: this.id, source: 'monitor', endpoint, direction, frames: body, socketType: 'SUB' };
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
