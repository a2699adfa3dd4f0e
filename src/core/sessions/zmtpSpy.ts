/**
 * The ZMTP-native subscriber behind a spy: one plain TCP connection to a PUB or
 * XPUB endpoint that speaks ZMTP 3.1 (3.0 peers accepted) as a SUB with the
 * NULL mechanism, and decodes what arrives straight into the capture.
 *
 * Why not a `zeromq` Subscriber: zeromq.js hands over every message as fresh
 * Buffers through a promise (~2 µs each), slower than the publishers it
 * watches, so the spy itself became the slow subscriber. Here every socket read
 * lands in one reused buffer, the tap's decoder finds whole messages in it, and
 * Capture.appendWire copies each one once into the capture's own memory: no
 * promise, no Buffer, no record object per message. Messages that do not lie
 * whole in one read (or are cut to the capture limit) take the decoder's
 * general path, with their frames copied out of the read buffer.
 *
 * It behaves like libzmq's SUB where the capture can tell: it reconnects with
 * backoff (reporting `connect:retry`), answers PINGs, sends its subscriptions
 * as SUBSCRIBE/CANCEL commands to 3.1 peers and as 0x01/0x00-prefixed messages
 * to 3.0 peers, and filters on receipt as libzmq's SUB does. What it cannot
 * serve (a peer speaking ZMTP 1.0/2.0) it hands back to the session, which
 * falls back to a `zeromq` Subscriber. It never reads more than one read
 * buffer ahead of the capture: when the capture cannot keep up, the bytes wait
 * in the kernel, where `behind` detection sees them.
 */
import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import type { Capture, WireBatch, WireStreamMeta } from '../capture/capture';
import type { CapturedMessage, SourceKind } from '../capture/records';
import { ZmtpDecoder, type ZmtpCommand, type ZmtpDecoderHandler, type ZmtpGreeting } from '../zmtp/decoder';
import { zmtpGreeting } from '../zmtp/greeting';

/** A socket event in zeromq.js's words (`connect`, `handshake`, `disconnect`, `connect:retry`, `handshake:error:protocol`...). */
export interface LinkEvent {
  type: string;
  address?: string;
  error?: string;
  code?: string;
  interval?: number;
}

/** The spy is not keeping up with its publisher (see NativeSubscriber's behind detection). */
export interface BehindInfo {
  /** When the spell began (epoch ms). */
  since: number;
  /**
   * Bytes known to wait for the spy right now: unread in its socket, plus (on
   * this host) unsent in the publisher's socket. libzmq's own queue behind them
   * cannot be seen, so this is a lower bound; undefined when not measurable.
   */
  backlogBytes?: number;
}

export interface NativeSubscriberOptions {
  session: string;
  source: SourceKind;
  /** The endpoint as shown on records. */
  endpoint: string;
  host: string;
  port: number;
  capture: Capture;
  /** Subscriptions (an empty one: everything). Changed later with subscribe()/unsubscribe(). */
  subscriptions: Uint8Array[];
  /** Whole in-read messages go to capture.appendWire (a PUB spy); false: every message through toRecord (the monitor spy). */
  wire: boolean;
  /** Builds the record of a message that does not take the wire path. */
  toRecord(frames: Uint8Array[], truncated: Record<number, number> | undefined): CapturedMessage;
  /** Payload bytes kept per frame; the rest is counted (the record says `truncated`). Default 4 MiB. */
  maxCapturedFrameBytes?: number;
  /** Payload bytes kept per message. Default 16 MiB. */
  maxCapturedMessageBytes?: number;
  /** First reconnect interval (libzmq's ZMQ_RECONNECT_IVL). Default 100 ms. */
  reconnectInterval?: number;
  /** The interval doubles after each failure up to this (ZMQ_RECONNECT_IVL_MAX). Default 5000 ms. */
  reconnectIntervalMax?: number;
  /** Size of the reused read buffer. Default 256 KiB. */
  readBufferBytes?: number;
  /** A connection whose peer has not finished the handshake this long after connecting is dropped and retried. Default HANDSHAKE_TIMEOUT_MS. */
  handshakeTimeoutMs?: number;
  onEvent(e: LinkEvent): void;
  /** The peer cannot be served natively (ZMTP 1.0/2.0): the session should use a zeromq Subscriber. The link has stopped. */
  onFallback(reason: string): void;
  /** Handshake done (peer type and ZMTP version known) or connection lost. */
  onPeer(peer: { socketType: string; version: string } | undefined): void;
  onBehind(info: BehindInfo | undefined): void;
}

/**
 * How long a connected peer may take to send its greeting and READY. libzmq
 * waits 30 s (ZMQ_HANDSHAKE_IVL) and says nothing; something that accepts and
 * never speaks ZMTP (an HTTP server waiting for a request line, a silent
 * server, a partial greeting) would leave the spy silent forever.
 */
export const HANDSHAKE_TIMEOUT_MS = 5000;

const SUB_TYPES = new Set(['PUB', 'XPUB']);
const NULL_GREETING_31 = zmtpGreeting({ minor: 1 });
const READY_SUB = commandFrame('READY', Buffer.concat([Buffer.from([11]), Buffer.from('Socket-Type', 'latin1'), Buffer.from([0, 0, 0, 3]), Buffer.from('SUB', 'latin1')]));

/** A ZMTP command frame. */
function commandFrame(name: string, data: Uint8Array): Buffer {
  const size = 1 + name.length + data.length;
  const long = size > 255;
  const out = Buffer.allocUnsafe((long ? 9 : 2) + size);
  let p = 0;
  out[p++] = long ? 0x06 : 0x04;
  if (long) {
    out.writeUInt32BE(0, p);
    out.writeUInt32BE(size, p + 4);
    p += 8;
  } else out[p++] = size;
  out[p++] = name.length;
  p += out.write(name, p, 'latin1');
  out.set(data, p);
  return out;
}

/** A one-frame ZMTP message (the 3.0 subscription form). */
function messageFrame(body: Uint8Array): Buffer {
  const long = body.length > 255;
  const out = Buffer.allocUnsafe((long ? 9 : 2) + body.length);
  out[0] = long ? 0x02 : 0x00;
  if (long) {
    out.writeUInt32BE(0, 1);
    out.writeUInt32BE(body.length, 5);
    out.set(body, 9);
  } else {
    out[1] = body.length;
    out.set(body, 2);
  }
  return out;
}

/** The subscription in the form the peer's ZMTP version reads: a command for 3.1, a prefixed message for 3.0. */
export function subscriptionFrame(topic: Uint8Array, subscribe: boolean, minor: number): Buffer {
  if (minor >= 1) return commandFrame(subscribe ? 'SUBSCRIBE' : 'CANCEL', topic);
  const body = new Uint8Array(topic.length + 1);
  body[0] = subscribe ? 1 : 0;
  body.set(topic, 1);
  return messageFrame(body);
}

/** Messages read from the socket per turn of the event loop, at most about this many (see onRead). */
const READ_BUDGET_MESSAGES = 40_000;
/** Behind detection samples once a second; these many saturated seconds in a row mean behind, these many calm ones caught up. */
const BEHIND_AFTER = 2;
const CAUGHT_UP_AFTER = 3;
/** Unread bytes in our socket above this, with saturated reads, count as a saturated second. */
const BACKLOG_BYTES = 64 * 1024;

type Phase = 'idle' | 'connecting' | 'handshake' | 'ready' | 'stopped';

export class NativeSubscriber implements ZmtpDecoderHandler {
  private socket: net.Socket | undefined;
  private decoder: ZmtpDecoder | undefined;
  private phase: Phase = 'idle';
  /** A plain Uint8Array, not a Buffer: the decoder and the capture then see one array type (monomorphic). */
  private readonly readBuf: Uint8Array;
  private now = Date.now();
  private retryTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  /** bytesIn when the current connection opened: what the peer sent on it. */
  private bytesAtConnect = 0;
  private readonly baseInterval: number;
  private readonly maxInterval: number;
  private currentInterval: number;
  /** Why the current attempt failed in the handshake (reported once the socket closes). */
  private handshakeError: { type: string; error: string } | undefined;
  private peerMinor = 0;
  private peerType: string | undefined;
  private stream: WireStreamMeta | undefined;
  private subs: Uint8Array[];
  /** Scratch batch for the messages that pass the topic filter. */
  private filtered = { count: 0, start: new Uint32Array(256), end: new Uint32Array(256), frames: new Uint32Array(256), payload: new Uint32Array(256) };

  // behind detection
  private reads = 0;
  private fullReads = 0;
  private saturatedSeconds = 0;
  private calmSeconds = 0;
  private behindInfo: BehindInfo | undefined;
  private sampler: NodeJS.Timeout | undefined;

  /** Bytes and messages decoded over the link's life (for details). */
  bytesIn = 0;

  constructor(private readonly o: NativeSubscriberOptions) {
    this.readBuf = new Uint8Array(o.readBufferBytes ?? 256 * 1024);
    this.baseInterval = Math.max(1, o.reconnectInterval ?? 100);
    this.maxInterval = Math.max(this.baseInterval, o.reconnectIntervalMax ?? 5000);
    this.currentInterval = this.baseInterval;
    this.subs = o.subscriptions.map((s) => new Uint8Array(s));
  }

  get address(): string {
    return `tcp://${this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host}:${this.o.port}`;
  }

  get behind(): BehindInfo | undefined {
    return this.behindInfo;
  }

  start(): void {
    if (this.phase !== 'idle') return;
    this.connect();
  }

  subscribe(topic: Uint8Array): void {
    this.subs.push(new Uint8Array(topic));
    if (this.phase === 'ready') this.socket!.write(subscriptionFrame(topic, true, this.peerMinor));
  }

  unsubscribe(topic: Uint8Array): void {
    const i = this.subs.findIndex((s) => equalBytes(s, topic));
    if (i < 0) return;
    this.subs.splice(i, 1);
    if (this.phase === 'ready') this.socket!.write(subscriptionFrame(topic, false, this.peerMinor));
  }

  /** Closes the connection and stops reconnecting. */
  stop(): void {
    if (this.phase === 'stopped') return;
    const wasReady = this.phase === 'ready';
    this.phase = 'stopped';
    clearTimeout(this.retryTimer);
    clearTimeout(this.handshakeTimer);
    this.stopSampler();
    this.socket?.destroy();
    this.socket = undefined;
    if (wasReady) this.o.onEvent({ type: 'disconnect', address: this.address });
  }

  private connect(): void {
    this.phase = 'connecting';
    this.handshakeError = undefined;
    this.refused = false;
    this.peerType = undefined;
    this.stream = undefined;
    this.decoder = new ZmtpDecoder(this, {
      maxCapturedFrameBytes: this.o.maxCapturedFrameBytes ?? 4 * 1024 * 1024,
      maxCapturedMessageBytes: this.o.maxCapturedMessageBytes ?? 16 * 1024 * 1024,
      wireMessages: this.o.wire,
      transientChunks: true,
    });
    // onread: every read lands in the one reused buffer, no fresh Buffer per read
    const socket: net.Socket = net.connect({
      port: this.o.port,
      host: this.o.host,
      noDelay: true,
      onread: {
        buffer: this.readBuf,
        callback: (nread: number, buf: Uint8Array) => this.onRead(socket, nread, buf),
      },
    });
    this.socket = socket;
    socket.on('connect', () => {
      if (this.socket !== socket) return;
      this.phase = 'handshake';
      this.bytesAtConnect = this.bytesIn;
      const ms = this.o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
      this.handshakeTimer = setTimeout(() => {
        if (this.socket === socket && this.phase === 'handshake') this.refuse(this.handshakeTimedOut(ms), 'handshake:error:timeout');
      }, ms);
      // our READY waits for the peer's: libzmq sends its READY without waiting for ours, and
      // a socket that cannot take a SUB hangs up on our READY (with a reset that may take its
      // own READY with it), so we read its type first and can say what it is
      socket.write(NULL_GREETING_31);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.socket !== socket || this.handshakeError) return;
      if (this.phase !== 'ready') this.lastConnectError = err.code ?? err.message;
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.closed();
    });
  }

  private lastConnectError: string | undefined;

  private onRead(socket: net.Socket, nread: number, buf: Uint8Array): boolean {
    if (this.socket !== socket || this.refused) return false;
    this.reads++;
    if (nread === buf.length) this.fullReads++;
    this.bytesIn += nread;
    this.now = Date.now();
    this.decoder!.push(nread === buf.length ? buf : buf.subarray(0, nread));
    // Reading on while the kernel has more, libuv runs up to 32 reads (8 MiB, 460,000 messages
    // of 16 B) in one turn of the event loop, before anyone who consumes the capture (the CLI's
    // printer, the viewer) gets a turn: a window of 100,000 records would evict what they never
    // saw. So at most READ_BUDGET_MESSAGES a turn; the rest waits in the kernel, where falling
    // behind is seen. (A budget in bytes cost 1 KiB messages 30% more CPU: pausing a socket
    // that always has more to read is not free. 1 KiB messages never reach this one.)
    if (!this.turnScheduled) {
      this.turnScheduled = true;
      setImmediate(this.endTurn);
    }
    if (this.turnMessages >= NativeSubscriber.readBudgetMessages && this.phase === 'ready') {
      this.budgetPaused = socket;
      return false;
    }
    if (NativeSubscriber.coalesceReads && nread < buf.length >> 2) {
      // a small read soon after the previous one: a busy stream read a few messages at a
      // time, each read paying the event loop's round. Let 1 ms of it gather in the kernel
      // and read it at once (libzmq batches alike); a quiet stream is read at once.
      const t = performance.now();
      const soon = t - this.lastReadAt < 0.5;
      this.lastReadAt = t;
      if (soon && this.phase === 'ready') {
        setTimeout(() => {
          if (this.socket === socket && !socket.destroyed) socket.resume();
        }, 1);
        return false;
      }
    }
    return true;
  }

  private turnMessages = 0;
  private turnScheduled = false;
  /** The socket paused for the rest of this turn (read budget spent). */
  private budgetPaused: net.Socket | undefined;
  /** After the consumers' turn (their setImmediate was queued before this one): the budget again. */
  private readonly endTurn = () => {
    this.turnMessages = 0;
    this.turnScheduled = false;
    const socket = this.budgetPaused;
    this.budgetPaused = undefined;
    if (socket && this.socket === socket && !socket.destroyed) socket.resume();
  };
  private lastReadAt = 0;
  /** @internal for the bench's side-by-side comparison. */
  static coalesceReads = true;
  /** @internal for the bench's side-by-side comparison (Infinity: no budget). */
  static readBudgetMessages = READ_BUDGET_MESSAGES;

  /** The connection is gone: report it, then reconnect after the interval (backing off while attempts fail). */
  private closed(): void {
    const phase = this.phase;
    this.socket = undefined;
    clearTimeout(this.handshakeTimer);
    this.stopSampler();
    if (phase === 'stopped') return;
    this.phase = 'idle';
    if (phase === 'ready') {
      this.o.onEvent({ type: 'disconnect', address: this.address });
      this.o.onPeer(undefined);
      // libzmq reconnects after its base interval once a connection was up
      this.currentInterval = this.baseInterval;
    } else if (this.handshakeError) {
      this.o.onEvent({ ...this.handshakeError, address: this.address });
    } else if (phase === 'handshake') {
      // libzmq hangs up (often with a reset that takes its greeting with it) on a mechanism or socket type it refuses
      this.o.onEvent({
        type: 'handshake:error:protocol',
        address: this.address,
        error: `the peer at ${this.o.endpoint} closed the connection during the handshake${this.lastConnectError ? ` (${this.lastConnectError})` : ''}: it may require PLAIN or CURVE security, or not accept a SUB`,
      });
    }
    if (this.fallbackReason !== undefined) {
      this.phase = 'stopped';
      this.o.onFallback(this.fallbackReason);
      return;
    }
    const interval = phase === 'ready' ? this.baseInterval : this.nextInterval();
    if (phase !== 'ready') {
      const code = phase === 'connecting' ? this.lastConnectError : undefined;
      this.o.onEvent({ type: 'connect:retry', address: this.address, interval, ...(code ? { code } : {}) });
    }
    this.lastConnectError = undefined;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.phase === 'idle') this.connect();
    }, interval);
  }

  /** Why the handshake did not end in time, by how far the peer got. */
  private handshakeTimedOut(ms: number): string {
    const sent = this.bytesIn - this.bytesAtConnect;
    const when = `in ${ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`}`;
    const g = this.decoder?.greeting;
    if (g) return `no READY from ${this.o.endpoint} ${when} after its ZMTP ${g.version} ${g.mechanism} greeting`;
    if (sent === 0) return `no ZMTP greeting from ${this.o.endpoint} ${when}: is this a ZeroMQ socket?`;
    return `only ${sent} of the 64 bytes of a ZMTP greeting from ${this.o.endpoint} ${when}: is this a ZeroMQ socket?`;
  }

  /** libzmq's backoff: the current interval plus up to one base interval of jitter; doubled for next time, up to the maximum. */
  private nextInterval(): number {
    const jitter = this.maxInterval > this.baseInterval ? Math.floor(Math.random() * this.baseInterval) : 0;
    const interval = Math.min(this.currentInterval + jitter, this.maxInterval);
    this.currentInterval = Math.min(this.currentInterval * 2, this.maxInterval);
    return interval;
  }

  private fallbackReason: string | undefined;
  /** The connection is being dropped: ignore what the decoder still finds in the read. */
  private refused = false;

  /** Ends the handshake with an error (reported as a handshake:error event once closed). */
  private refuse(error: string, type = 'handshake:error:protocol'): void {
    if (this.refused) return;
    this.refused = true;
    if (this.phase === 'ready') {
      // after the handshake: report now, then the disconnect follows
      this.o.onEvent({ type: 'handshake:error:protocol', address: this.address, error });
    } else this.handshakeError ??= { type, error };
    this.socket?.destroy();
  }

  // ZmtpDecoderHandler

  greeting(g: ZmtpGreeting): void {
    if (this.refused) return;
    this.peerMinor = g.major > 3 ? 1 : g.minor;
    if (g.mechanism !== 'NULL') {
      this.refuse(`the publisher at ${this.o.endpoint} requires the ${g.mechanism} security mechanism; the spy has no credentials and speaks NULL only`);
    }
  }

  command(c: ZmtpCommand): void {
    if (this.refused) return;
    if (this.phase === 'handshake') {
      if (c.name === 'ERROR') return this.refuse(`the publisher refused the handshake: ${c.detail || 'no reason given'}`);
      if (c.name !== 'READY') return this.refuse(`expected READY, got ${c.name}`);
      const type = this.decoder!.socketType;
      if (!type || !SUB_TYPES.has(type)) {
        return this.refuse(
          type
            ? `the socket at ${this.o.endpoint} is a ${type}, not a PUB or XPUB: a spy subscribes, so it can only watch publishers`
            : `the socket at ${this.o.endpoint} did not say its type (no Socket-Type in READY)`,
        );
      }
      this.phase = 'ready';
      clearTimeout(this.handshakeTimer);
      this.peerType = type;
      this.currentInterval = this.baseInterval;
      const v = this.decoder!.greeting!;
      this.stream = {
        session: this.o.session,
        source: this.o.source,
        endpoint: this.o.endpoint,
        direction: 'in',
        connection: undefined,
        socketType: 'SUB',
        // records stay as the zeromq.js spy made them: the peer's type is in the session's details
        peerSocketType: undefined,
        identity: undefined,
        reqRepEnvelope: false,
      };
      this.socket!.write(Buffer.concat([READY_SUB, ...this.subs.map((s) => subscriptionFrame(s, true, this.peerMinor))]));
      this.o.onEvent({ type: 'connect', address: this.address });
      this.o.onEvent({ type: 'handshake', address: this.address });
      this.o.onPeer({ socketType: type, version: v.version });
      this.startSampler();
      return;
    }
    if (this.phase !== 'ready') return;
    if (c.name === 'PING') {
      // 37/ZMTP: answer with the PING's context
      this.socket?.write(commandFrame('PONG', c.context ?? new Uint8Array(0)));
    } else if (c.name === 'ERROR') {
      this.refuse(`the publisher sent ERROR: ${c.detail || 'no reason given'}`);
    }
  }

  message(frames: Uint8Array[], truncated: Record<number, number> | undefined): void {
    if (this.refused) return;
    if (this.phase !== 'ready') return this.refuse('a message before the handshake ended');
    if (!this.passes(frames[0])) return;
    this.o.capture.append(this.o.toRecord(frames, truncated));
  }

  wireMessages(chunk: Uint8Array, batch: WireBatch): void {
    if (this.refused) return;
    if (this.phase !== 'ready') return this.refuse('a message before the handshake ended');
    this.turnMessages += batch.count;
    if (!this.filtering()) {
      this.o.capture.appendWire(this.stream!, this.now, chunk, batch);
      return;
    }
    // libzmq's SUB filters on receipt too (messages already in flight when a subscription changed)
    let f = this.filtered;
    if (f.start.length < batch.count) f = this.filtered = { count: 0, start: new Uint32Array(batch.count), end: new Uint32Array(batch.count), frames: new Uint32Array(batch.count), payload: new Uint32Array(batch.count) };
    let k = 0;
    for (let i = 0; i < batch.count; i++) {
      if (!this.wirePasses(chunk, batch.start[i])) continue;
      f.start[k] = batch.start[i];
      f.end[k] = batch.end[i];
      f.frames[k] = batch.frames[i];
      f.payload[k] = batch.payload[i];
      k++;
    }
    f.count = k;
    if (k) this.o.capture.appendWire(this.stream!, this.now, chunk, f);
  }

  undecodable(reason: string): void {
    if (this.refused) return;
    if (/version [12]\.0/.test(reason)) {
      this.fallbackReason = `the publisher speaks ZMTP ${/version ([12]\.0)/.exec(reason)![1]} (an old libzmq), which the native spy does not`;
    }
    this.refuse(this.phase === 'ready' ? `the publisher's stream became undecodable: ${reason}` : `not a ZMTP 3 publisher: ${reason}`);
  }

  private filtering(): boolean {
    const subs = this.subs;
    return !(subs.length >= 1 && subs.some((s) => s.length === 0));
  }

  private passes(first: Uint8Array | undefined): boolean {
    if (!this.filtering()) return true;
    const f = first ?? new Uint8Array(0);
    return this.subs.some((s) => s.length <= f.length && s.every((b, i) => f[i] === b));
  }

  private wirePasses(chunk: Uint8Array, start: number): boolean {
    let len: number;
    let off: number;
    if (chunk[start] & 0x02) {
      len = ((chunk[start + 5] << 24) >>> 0) + (chunk[start + 6] << 16) + (chunk[start + 7] << 8) + chunk[start + 8];
      off = start + 9;
    } else {
      len = chunk[start + 1];
      off = start + 2;
    }
    for (const s of this.subs) {
      if (s.length > len) continue;
      let ok = true;
      for (let i = 0; i < s.length; i++) {
        if (chunk[off + i] !== s[i]) {
          ok = false;
          break;
        }
      }
      if (ok) return true;
    }
    return false;
  }

  // Behind detection: once a second, while connected. A spy that keeps up reads
  // what arrived since its last read, a part of its buffer; one that does not
  // finds its buffer filled on every read and bytes waiting in the kernel.
  private startSampler(): void {
    this.reads = this.fullReads = this.saturatedSeconds = this.calmSeconds = 0;
    this.sampler = setInterval(() => this.sample(), 1000);
    this.sampler.unref();
  }

  private stopSampler(): void {
    if (this.sampler) clearInterval(this.sampler);
    this.sampler = undefined;
    if (this.behindInfo) {
      this.behindInfo = undefined;
      this.o.onBehind(undefined);
    }
  }

  private sample(): void {
    const socket = this.socket;
    if (!socket || this.phase !== 'ready') return;
    const { reads, fullReads } = this;
    this.reads = this.fullReads = 0;
    const busy = reads > 0 && fullReads >= reads * 0.5;
    let backlog: { unread: number; unsent?: number } | undefined;
    if (busy || this.behindInfo) backlog = socketBacklog(socket);
    const saturated = busy && (backlog === undefined ? fullReads >= reads * 0.9 : backlog.unread >= BACKLOG_BYTES);
    if (saturated) {
      this.saturatedSeconds++;
      this.calmSeconds = 0;
    } else {
      this.calmSeconds++;
      this.saturatedSeconds = 0;
    }
    const backlogBytes = backlog ? backlog.unread + (backlog.unsent ?? 0) : undefined;
    if (!this.behindInfo && this.saturatedSeconds >= BEHIND_AFTER) {
      this.behindInfo = { since: this.now - BEHIND_AFTER * 1000, backlogBytes };
      this.o.onBehind(this.behindInfo);
    } else if (this.behindInfo && this.calmSeconds >= CAUGHT_UP_AFTER) {
      this.behindInfo = undefined;
      this.o.onBehind(undefined);
    } else if (this.behindInfo && backlogBytes !== this.behindInfo.backlogBytes) {
      this.behindInfo = { since: this.behindInfo.since, backlogBytes };
      this.o.onBehind(this.behindInfo);
    }
  }
}

/**
 * Bytes waiting in the kernel for `socket` (unread by us) and, when the peer is
 * on this host, unsent by the peer's socket: from /proc/net/tcp{,6} on Linux.
 * Undefined elsewhere.
 */
export function socketBacklog(socket: net.Socket): { unread: number; unsent?: number } | undefined {
  const local = socket.localPort;
  const remote = socket.remotePort;
  if (!local || !remote) return undefined;
  let unread: number | undefined;
  let unsent: number | undefined;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      // "  sl  local_address rem_address   st tx_queue:rx_queue ..."
      const cols = lines[i].trim().split(/\s+/);
      if (cols.length < 5) continue;
      const lp = parseInt(cols[1].slice(cols[1].lastIndexOf(':') + 1), 16);
      const rp = parseInt(cols[2].slice(cols[2].lastIndexOf(':') + 1), 16);
      const [tx, rx] = cols[4].split(':').map((h) => parseInt(h, 16));
      if (lp === local && rp === remote) unread = rx;
      else if (lp === remote && rp === local && isLoopback(socket.remoteAddress)) unsent = tx;
    }
  }
  if (unread === undefined) return undefined;
  return unsent === undefined ? { unread } : { unread, unsent };
}

function isLoopback(address: string | undefined): boolean {
  return !!address && (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
