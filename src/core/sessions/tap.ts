/**
 * A decoding TCP tap: listens on a local port, relays every connection to the
 * real endpoint and decodes both directions of ZMTP as the bytes pass. The user
 * points one peer at the tap's port instead of the real one.
 *
 * Relay first, decode second: bytes are written to the other side unchanged and
 * in order before the decoder sees them, so a decoding problem (garbage, ZMTP
 * 1.0/2.0, a faulty sink) can never change, reorder or drop relayed bytes.
 * Backpressure: a side whose peer does not drain is paused, nothing piles up.
 */
import * as net from 'node:net';
import type { Capture, WireBatch, WireStreamMeta } from '../capture/capture';
import { bracketHost, parseHostPort } from '../zmq/endpoint';
import { Emitter, type Event } from '../base/lifecycle';
import type { CaptureRecord, ConnectionRecord } from '../capture/records';
import { isReqRep, tapCommandRecord, tapGreetingRecord, tapMessageRecord, type TapSidePlace } from '../capture/tapRecords';
import type { CaptureSession, SessionState } from './session';
import { ZmtpDecoder, type ZmtpCommand, type ZmtpDecoderHandler, type ZmtpGreeting } from '../zmtp/decoder';
import { HANDSHAKE_TIMEOUT_MS } from './zmtpSpy';

export interface ZmtpTapOptions {
  /** Where the real endpoint listens: `host:port` or `tcp://host:port`. */
  target: string;
  /** Where the tap listens: `host:port`, `tcp://host:port` or a port. Default 127.0.0.1, port 0 (ephemeral). */
  listen?: string;
  /** Payload bytes kept per captured frame; longer frames are relayed whole, captured truncated. Default 64 KiB. */
  maxCapturedFrameBytes?: number;
  /** Session id, stamped on every record. Default "tap". */
  id?: string;
  /** Read into reused buffers (default true); false: a fresh Buffer per read, as Node's 'data' events give (for comparison). */
  reusedReads?: boolean;
  /** Gets the relayed bytes as they pass, e.g. to write them to a pcapng file (`tap --pcapng`). */
  wire?: TapWireObserver;
  /** A side that has not sent its ZMTP greeting this long after the target accepted is noted on the connection (bytes still relayed). Default HANDSHAKE_TIMEOUT_MS (5 s). */
  handshakeTimeoutMs?: number;
}

/** What a tap relays, connection by connection (`relayed`'s bytes are only valid during the call). */
export interface TapWireObserver {
  opened(connection: number, client: HostPort, target: HostPort, via: string): void;
  relayed(connection: number, direction: TapDirection, bytes: Uint8Array): void;
  closed(connection: number, reason?: string): void;
}

interface HostPort {
  host: string;
  port: number;
}

/**
 * Where the tap's records go: a Capture (then messages take the wire fast path:
 * no record object per message) or any function that takes records.
 */
export type TapRecordSink = ((record: CaptureRecord) => void) | Pick<Capture, 'append' | 'appendWire'>;

export interface TapConnectionInfo {
  connection: number;
  /** The connecting peer's address (host:port). */
  peer: string;
  state: 'connecting' | 'open' | 'closed';
  /** Socket-Type announced by the connecting peer (READY / PLAIN INITIATE). */
  clientSocketType?: string;
  /** Socket-Type announced by the target. */
  targetSocketType?: string;
  bytesToTarget: number;
  bytesFromTarget: number;
  messagesToTarget: number;
  messagesFromTarget: number;
  /** Bytes the tap holds for this connection right now (socket buffers in both directions): stays small under backpressure. */
  bufferedBytes: number;
  /** Why a direction could not be decoded (bytes are still relayed). */
  undecodable?: string;
  /** Why the connection closed, when it was an error. */
  reason?: string;
}

/**
 * The tap as a capture session (kind `tap`): `listen()` binds, every accepted
 * connection is relayed to `target` and decoded, records go to `sink` (the
 * capture). State: connecting (not bound yet) → listening → receiving
 * while connections are open → stopped, or error when the port cannot be bound.
 */
export class ZmtpTap implements CaptureSession {
  readonly kind = 'tap' as const;
  readonly id: string;
  /** The target as an endpoint (`tcp://host:port`), stamped on every record. */
  readonly endpoint: string;
  readonly endpoints: readonly string[];
  private readonly server: net.Server;
  private readonly target: HostPort;
  private readonly listenAt: HostPort;
  private readonly relays = new Map<number, Relay>();
  /** The sink when it is a capture: messages go to its appendWire. */
  private readonly captureSink: Pick<Capture, 'append' | 'appendWire'> | undefined;
  private nextId = 1;
  private disposed = false;
  private boundPort = 0;
  private currentState: SessionState = 'connecting';
  private errorText: string | undefined;

  private readonly changeEmitter = new Emitter<void>();
  /** Fires when a connection opens, learns its socket types, becomes undecodable or closes. */
  readonly onDidChangeConnections: Event<void> = this.changeEmitter.event;
  private readonly stateEmitter = new Emitter<SessionState>();
  readonly onDidChangeState: Event<SessionState> = this.stateEmitter.event;

  constructor(
    readonly options: ZmtpTapOptions,
    readonly sink: TapRecordSink,
  ) {
    this.id = options.id ?? 'tap';
    this.captureSink = typeof sink === 'function' ? undefined : sink;
    this.target = parseHostPort(options.target);
    this.listenAt = parseListen(options.listen ?? '127.0.0.1:0');
    this.endpoint = `tcp://${bracketHost(this.target.host)}:${this.target.port}`;
    this.endpoints = [this.endpoint];
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
  }

  get label(): string {
    return `tap ${bracketHost(this.listenAt.host)}:${this.boundPort || this.listenAt.port} → ${this.endpoint}`;
  }

  get state(): SessionState {
    return this.currentState;
  }

  get error(): string | undefined {
    return this.errorText;
  }

  /** Starts listening; rejects with "port N in use" and the like (and the session goes to state error). */
  listen(): Promise<HostPort> {
    return new Promise((resolve, reject) => {
      if (this.disposed) return reject(new Error('the tap is stopped'));
      const onError = (err: NodeJS.ErrnoException) => {
        this.server.off('listening', onListening);
        const e = listenError(err, this.listenAt);
        this.errorText = e.message;
        this.setState('error');
        reject(e);
      };
      const onListening = () => {
        this.server.off('error', onError);
        this.boundPort = (this.server.address() as net.AddressInfo).port;
        this.server.on('error', (err) => {
          this.errorText = `tap listening socket failed: ${err.message}`;
          this.setState('error');
        });
        this.setState('listening');
        resolve({ host: this.listenAt.host, port: this.boundPort });
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen(this.listenAt.port, this.listenAt.host);
    });
  }

  /** The port the tap listens on (the ephemeral one when asked for port 0); 0 before listen(). */
  get port(): number {
    return this.boundPort;
  }

  /** `tcp://host:port` to point a peer at. */
  get listenEndpoint(): string {
    const h = this.listenAt.host === '0.0.0.0' ? '127.0.0.1' : this.listenAt.host;
    return `tcp://${bracketHost(h)}:${this.boundPort}`;
  }

  get connections(): TapConnectionInfo[] {
    return [...this.relays.values()].map((r) => r.info());
  }

  /** Closes the listening socket and every relayed connection (each gets a closed record). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.server.close();
    for (const r of [...this.relays.values()]) r.close('tap stopped');
    this.relays.clear();
    this.setState('stopped');
    this.changeEmitter.dispose();
    this.stateEmitter.dispose();
  }

  /** Like dispose(), resolving once the listening socket is closed. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        this.dispose();
        return resolve();
      }
      this.server.once('close', () => resolve());
      this.dispose();
    });
  }

  private setState(s: SessionState): void {
    if (this.currentState === s || this.currentState === 'stopped') return;
    if (this.currentState === 'error' && s !== 'stopped') return;
    this.currentState = s;
    this.stateEmitter.fire(s);
  }

  private accept(client: net.Socket): void {
    if (this.disposed) {
      client.destroy();
      return;
    }
    const id = this.nextId++;
    const relay = new Relay(this, id, client, this.target);
    this.relays.set(id, relay);
    relay.start();
  }

  /** @internal Whether messages may come as wire bytes (emitWire). */
  get wireSink(): boolean {
    return this.captureSink !== undefined;
  }

  /** @internal */
  emit(record: CaptureRecord): void {
    try {
      if (this.captureSink) this.captureSink.append(record);
      else (this.sink as (record: CaptureRecord) => void)(record);
    } catch (err) {
      sinkFailed(err);
    }
  }

  /** @internal Messages as wire bytes, into the capture (see Capture.appendWire). */
  emitWire(stream: WireStreamMeta, ts: number, chunk: Uint8Array, batch: WireBatch): void {
    try {
      this.captureSink!.appendWire(stream, ts, chunk, batch);
    } catch (err) {
      sinkFailed(err);
    }
  }

  /** @internal */
  changed(): void {
    if (this.disposed) return;
    this.setState(this.relays.size > 0 ? 'receiving' : 'listening');
    this.changeEmitter.fire();
  }

  /** @internal */
  forget(id: number): void {
    this.relays.delete(id);
  }
}

/** A faulty sink must not break the relay: its error is thrown later, outside it. */
function sinkFailed(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

/** Like parseHostPort, but port 0 (an ephemeral port) is allowed. */
function parseListen(text: string): HostPort {
  const m = /^(.*?)(\d+)$/.exec(text.trim());
  if (m && Number(m[2]) === 0) return { ...parseHostPort(`${m[1]}1`), port: 0 };
  return parseHostPort(text);
}

function listenError(err: NodeJS.ErrnoException, at: HostPort): Error {
  if (err.code === 'EADDRINUSE') return new Error(`port ${at.port} in use`);
  if (err.code === 'EACCES') return new Error(`no permission to listen on port ${at.port}`);
  if (err.code === 'EADDRNOTAVAIL') return new Error(`cannot listen on ${at.host}: address not available`);
  return new Error(`cannot listen on ${at.host}:${at.port}: ${err.message}`);
}

type TapDirection = 'toTarget' | 'fromTarget';
/** How long a relay waits for the second side to close after the first one did. */
const LINGER_MS = 5000;

/** Size of each reused read buffer. */
const READ_BUFFER_BYTES = 256 * 1024;

/**
 * Reads of one socket land in one reused buffer (net.Socket's `onread`), not a
 * fresh Buffer per read: V8 answers a stream of fresh buffers with scavenges
 * and full marks whose cost grows with the heap (an extension host's is big).
 * The relay writes each read on to the other side; when that write cannot
 * complete at once (the peer does not drain), the kernel has not taken the
 * bytes yet and the pending write still points into the buffer, so the next
 * reads go to a fresh buffer and the lent one is left to the write. The
 * decoder copies what must outlive a read (transientChunks).
 */
class ReusedReads {
  private buf = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  /** Node asks this after every read for the buffer of the next. */
  readonly next = (): Buffer => this.buf;
  /** The current buffer is referenced by a pending write: read into another from now on. */
  lend(): void {
    this.buf = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  }
}

type ReadCallback = (nread: number, buf: Buffer) => boolean;

/**
 * An accepted socket with reused reads: net.Server offers no `onread`, so a new
 * net.Socket adopts the accepted handle (the way net.Server itself wraps it) and
 * the server's socket lets go of it. Undefined when the handle cannot be taken
 * (then the relay reads with 'data' events).
 */
function adoptWithReusedReads(accepted: net.Socket, reads: ReusedReads, callback: { fn: ReadCallback }): net.Socket | undefined {
  const handle = (accepted as unknown as { _handle?: unknown })._handle;
  if (!handle || accepted.destroyed) return undefined;
  try {
    const adopted = new net.Socket({ handle, allowHalfOpen: true, readable: true, writable: true, onread: { buffer: reads.next, callback: (n: number, b: Uint8Array) => callback.fn(n, b as Buffer) } } as net.SocketConstructorOpts);
    adopted.pause(); // until the target accepts
    (accepted as unknown as { _handle: unknown })._handle = null;
    // the server counts its connections by the sockets it made: this one leaves now
    accepted.destroy();
    return adopted;
  } catch {
    return undefined;
  }
}

/** One relayed connection: client ⇄ target, with a decoder per direction. */
class Relay {
  private readonly target: net.Socket;
  private client: net.Socket;
  /** Set when both sockets read into reused buffers. */
  private readonly reused: { toTarget: ReusedReads; fromTarget: ReusedReads; onClient: { fn: ReadCallback }; onTarget: { fn: ReadCallback } } | undefined;
  private state: 'connecting' | 'open' | 'closed' = 'connecting';
  /** Timestamp for the records decoded from the current chunk (one clock read per chunk). */
  now = Date.now();
  readonly toTarget: Side;
  readonly fromTarget: Side;
  private readonly peer: string;
  private undecodable: string | undefined;
  private reason: string | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private greetingTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly tap: ZmtpTap,
    readonly id: number,
    accepted: net.Socket,
    private readonly targetAt: HostPort,
  ) {
    this.peer = `${accepted.remoteAddress}:${accepted.remotePort}`;
    const reused = { toTarget: new ReusedReads(), fromTarget: new ReusedReads(), onClient: { fn: (() => true) as ReadCallback }, onTarget: { fn: (() => true) as ReadCallback } };
    const adopted = tap.options.reusedReads === false ? undefined : adoptWithReusedReads(accepted, reused.toTarget, reused.onClient);
    this.client = adopted ?? accepted;
    this.reused = adopted ? reused : undefined;
    this.toTarget = new Side(this, 'toTarget', this.reused !== undefined);
    this.fromTarget = new Side(this, 'fromTarget', this.reused !== undefined);
    this.target = this.reused
      ? new net.Socket({ allowHalfOpen: true, onread: { buffer: reused.fromTarget.next, callback: (n: number, b: Uint8Array) => reused.onTarget.fn(n, b as Buffer) } } as net.SocketConstructorOpts)
      : new net.Socket({ allowHalfOpen: true });
  }

  start(): void {
    const { client, target } = this;
    client.pause(); // until the target accepts
    client.setNoDelay(true);
    this.emitConnection('open');
    this.tap.changed();
    target.setNoDelay(true);
    target.once('connect', () => {
      if (this.state === 'closed') return;
      this.state = 'open';
      this.tap.options.wire?.opened(this.id, { host: client.remoteAddress ?? '', port: client.remotePort ?? 0 }, { host: target.remoteAddress ?? this.targetAt.host, port: target.remotePort ?? this.targetAt.port }, this.tap.listenEndpoint);
      this.tap.changed();
      const ms = this.tap.options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
      this.greetingTimer = setTimeout(() => this.noGreeting(ms), ms).unref();
      this.pipe(client, target, this.toTarget);
      this.pipe(target, client, this.fromTarget);
      client.resume();
    });
    const onError = (which: string) => (err: NodeJS.ErrnoException) => {
      if (this.state === 'closed') return;
      if (which === 'target' && this.state === 'connecting') {
        const why = err.code === 'ECONNREFUSED' ? 'refused the connection' : `unreachable (${err.code ?? err.message})`;
        this.close(`target ${this.targetAt.host}:${this.targetAt.port} ${why}`);
      } else {
        this.close(`${which} ${err.code ?? err.message}`);
      }
    };
    client.on('error', onError('client'));
    target.on('error', onError('target'));
    client.on('close', () => this.sideClosed());
    target.on('close', () => this.sideClosed());
    target.connect(this.targetAt.port, this.targetAt.host);
  }

  /** Relays a → b unchanged with backpressure, then decodes a copy-free view of the same chunk. */
  private pipe(a: net.Socket, b: net.Socket, side: Side): void {
    const reused = this.reused;
    if (reused) {
      const reads = side.direction === 'toTarget' ? reused.toTarget : reused.fromTarget;
      (side.direction === 'toTarget' ? reused.onClient : reused.onTarget).fn = (nread, buf) => {
        const chunk = buf.subarray(0, nread);
        const ok = b.write(chunk);
        // not all taken by the kernel at once: the pending write holds on to this buffer
        if (b.writableLength > 0) reads.lend();
        side.bytes += nread;
        this.now = Date.now();
        this.tap.options.wire?.relayed(this.id, side.direction, chunk);
        side.decoder.push(chunk);
        return ok;
      };
    } else {
      a.on('data', (chunk: Buffer) => {
        const ok = b.write(chunk);
        side.bytes += chunk.length;
        this.now = Date.now();
        this.tap.options.wire?.relayed(this.id, side.direction, chunk);
        side.decoder.push(chunk);
        if (!ok) a.pause();
      });
    }
    b.on('drain', () => a.resume());
    // half-close travels through: the peer's FIN becomes ours on the other side
    a.on('end', () => b.end());
  }

  private sideClosed(): void {
    if (this.state === 'connecting') {
      this.close(this.client.destroyed ? 'the client left before the target accepted' : undefined);
      return;
    }
    if (this.client.destroyed && this.target.destroyed) {
      this.close(undefined);
      return;
    }
    // one side is gone: pass the FIN on, and give the other side a moment to close
    // by itself (libzmq does at once) before cutting it
    (this.client.destroyed ? this.target : this.client).end();
    this.lingerTimer ??= setTimeout(() => this.close(undefined), LINGER_MS).unref();
  }

  close(reason: string | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    clearTimeout(this.greetingTimer);
    // a message the close cut in half was relayed in part and cannot be captured: say so
    const cut = [this.toTarget, this.fromTarget].filter((side) => side.decoder.hasPartialMessage).map((side) => side.direction);
    if (cut.length) reason = [reason, `a message in flight ${cut.join(' and ')} was cut off by the close and not captured`].filter(Boolean).join('; ');
    this.reason = reason;
    this.client.destroy();
    this.target.destroy();
    this.tap.options.wire?.closed(this.id, reason);
    this.emitConnection('closed', reason);
    this.tap.forget(this.id);
    this.tap.changed();
  }

  /**
   * A side still without its greeting after the handshake timeout, said on the
   * connection (bytes are relayed as ever), where a silent or non-ZMTP target
   * left only 'connection open' until the client gave up (libzmq: 30 s). The
   * target first: a libzmq client sends the rest of its greeting only after
   * the target's signature.
   */
  private noGreeting(ms: number): void {
    if (this.state !== 'open') return;
    const silent = (side: Side) => !side.decoder.greeting && !side.decoder.isUndecodable;
    const side = silent(this.fromTarget) ? this.fromTarget : silent(this.toTarget) ? this.toTarget : undefined;
    if (!side) return;
    const who = side === this.fromTarget ? `the target ${bracketHost(this.targetAt.host)}:${this.targetAt.port}` : `the client ${this.peer}`;
    const sent = side.bytes ? `only ${side.bytes} of the 64 bytes of a ZMTP greeting` : 'no ZMTP greeting';
    this.markUndecodable(side.direction, `${sent} from ${who} in ${ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`}: is this a ZeroMQ socket? (bytes still relayed)`);
  }

  markUndecodable(direction: TapDirection, reason: string): void {
    const text = `${direction}: ${reason}`;
    this.undecodable = this.undecodable ? `${this.undecodable}; ${text}` : text;
    this.emitConnection('undecodable', text);
    this.tap.changed();
  }

  private emitConnection(state: ConnectionRecord['state'], reason?: string): void {
    const r: ConnectionRecord = {
      seq: 0,
      ts: Date.now(),
      session: this.tap.id,
      source: 'tap',
      endpoint: this.tap.endpoint,
      kind: 'connection',
      connection: this.id,
      state,
      peer: this.peer,
    };
    if (reason !== undefined) r.reason = reason;
    this.tap.emit(r);
  }

  info(): TapConnectionInfo {
    const i: TapConnectionInfo = {
      connection: this.id,
      peer: this.peer,
      state: this.state,
      bytesToTarget: this.toTarget.bytes,
      bytesFromTarget: this.fromTarget.bytes,
      messagesToTarget: this.toTarget.decoder.messages,
      messagesFromTarget: this.fromTarget.decoder.messages,
      bufferedBytes:
        this.client.writableLength + this.client.readableLength + this.target.writableLength + this.target.readableLength +
        this.toTarget.decoder.bufferedBytes + this.fromTarget.decoder.bufferedBytes,
    };
    if (this.toTarget.decoder.socketType) i.clientSocketType = this.toTarget.decoder.socketType;
    if (this.fromTarget.decoder.socketType) i.targetSocketType = this.fromTarget.decoder.socketType;
    if (this.undecodable) i.undecodable = this.undecodable;
    if (this.reason) i.reason = this.reason;
    return i;
  }
}

/**
 * One direction of a relay: its decoder and the records it makes.
 *
 * Socket types on message records follow the message: `socketType` is the
 * SENDER's type (from its own READY) and `peerSocketType` the RECEIVER's, so a
 * request through a REQ→REP tap reads REQ→REP and its reply REP→REQ, and
 * `identity` is the sender's announced identity (the routing id a ROUTER
 * receiver sees). The connection's two types stay available per connection
 * (`clientSocketType`/`targetSocketType`) and in the READY command records.
 */
class Side implements ZmtpDecoderHandler {
  readonly decoder: ZmtpDecoder;
  bytes = 0;
  private readonly session: string;
  /** Where this direction's records belong. */
  private readonly place: TapSidePlace;
  /** What this direction's messages share, for the wire path; replaced when a READY changes it. */
  private wireStream: WireStreamMeta | undefined;

  constructor(
    private readonly relay: Relay,
    readonly direction: TapDirection,
    reusedReads: boolean,
  ) {
    this.session = relay.tap.id;
    this.place = { session: this.session, endpoint: relay.tap.endpoint, direction, connection: relay.id };
    this.decoder = new ZmtpDecoder(this, { maxCapturedFrameBytes: relay.tap.options.maxCapturedFrameBytes, wireMessages: relay.tap.wireSink, transientChunks: reusedReads });
  }

  private get receiver(): Side {
    return this.direction === 'toTarget' ? this.relay.fromTarget : this.relay.toTarget;
  }

  greeting(g: ZmtpGreeting): void {
    this.relay.tap.emit(tapGreetingRecord(this.place, this.relay.now, g));
  }

  command(c: ZmtpCommand): void {
    this.relay.tap.emit(tapCommandRecord(this.place, this.relay.now, c));
    if (c.name === 'READY' || c.name === 'INITIATE') this.relay.tap.changed();
  }

  message(frames: Uint8Array[], truncated: Record<number, number> | undefined, encrypted: boolean): void {
    this.relay.tap.emit(tapMessageRecord(this.place, this.relay.now, frames, truncated, encrypted, this.decoder, this.receiver.decoder.socketType));
  }

  /** The fast path: whole messages as wire bytes, straight into the capture; read back each equals what message() makes. */
  wireMessages(chunk: Uint8Array, batch: WireBatch): void {
    const relay = this.relay;
    const socketType = this.decoder.socketType;
    const peerSocketType = this.receiver.decoder.socketType;
    const identity = this.decoder.identity;
    let stream = this.wireStream;
    if (stream === undefined || stream.socketType !== socketType || stream.peerSocketType !== peerSocketType || stream.identity !== identity) {
      stream = this.wireStream = {
        session: this.session,
        endpoint: relay.tap.endpoint,
        direction: this.direction,
        connection: relay.id,
        socketType,
        peerSocketType,
        identity,
        reqRepEnvelope: isReqRep(socketType) || isReqRep(peerSocketType),
      };
    }
    relay.tap.emitWire(stream, relay.now, chunk, batch);
  }

  undecodable(reason: string): void {
    this.relay.markUndecodable(this.direction, reason);
  }
}
