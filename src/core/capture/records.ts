/**
 * What the capture holds. Every source (spy, monitor spy, tap, socket events)
 * produces these records; the capture assigns `seq`. The JSON Lines export
 * format (src/core/capture/exportFormat.ts, documented in docs/capture-format.md) is a lossless image
 * of these records.
 */

/** `agent`: reported from inside a program by the zmq-debug agent, through a collector. */
export type SourceKind = 'spy' | 'monitor' | 'tap' | 'agent';

/**
 * `in`/`out`: as seen by a spy (always `in`) or as labelled by a monitored queue;
 * `toTarget`/`fromTarget`: the two directions through a tap.
 */
export type Direction = 'in' | 'out' | 'toTarget' | 'fromTarget';

/**
 * Agent records: where in the program's own code (outside the ZeroMQ binding
 * and the agent) the call was made. `line` is 1-based, `file` absolute.
 */
export interface CallSite {
  file: string;
  line: number;
}

interface RecordBase {
  /** Sequence number assigned by the capture, strictly increasing. 0 until appended. */
  seq: number;
  /** Epoch milliseconds (may carry fractions). */
  ts: number;
  /** The session (spy/monitor/tap) that produced it. */
  session?: string;
  source: SourceKind;
  endpoint: string;
  /** Agent records: the program's name (`pub_server.py`, `node worker.js` → `worker.js`). */
  process?: string;
  /** Agent records: the process id of the program. */
  pid?: number;
  /** Agent records: the socket inside the program, `<pid>.<n>` (n counts the process's sockets from 1). */
  socket?: string;
}

export interface CapturedMessage extends RecordBase {
  kind: 'message';
  direction: Direction;
  /** Every frame of the multipart message, as raw bytes (possibly truncated, see `truncated`). */
  frames: Uint8Array[];
  /** For frames captured truncated: original length per frame index (absent when nothing was cut). */
  truncated?: Record<number, number>;
  /** Our socket's type (e.g. SUB for a spy). */
  socketType?: string;
  /** The peer's socket type, e.g. from ZMTP READY metadata. */
  peerSocketType?: string;
  /** The peer's identity (routing id), when known. */
  identity?: Uint8Array;
  /** Tap connection number. */
  connection?: number;
  /**
   * Number of leading frames that are a ROUTER envelope (identities and the empty
   * delimiter), when known (monitor spy, tap between REQ/ROUTER-family peers).
   */
  envelopeFrames?: number;
  /** True when the body is CURVE-encrypted and cannot be shown. */
  encrypted?: boolean;
}

/** A socket or connection event: zeromq.js event names as they are (`connect:retry`, `handshake:error:protocol`, ...). */
export interface CapturedEvent extends RecordBase {
  kind: 'event';
  type: string;
  /** The address the event is about (zeromq.js `address`). */
  address?: string;
  /** Error text for `*:error*` events. */
  error?: string;
  /** Errno-style code when there is one. */
  code?: string;
  /** Retry interval in ms for `connect:retry`. */
  interval?: number;
  /**
   * Spies coalesce a run of failed connects into two records: `connect:retry` at
   * the first failure (attempts 1) and `connect:retried` when the run ends (the
   * spy connected or stopped) with every attempt counted and `since`, the time
   * of the first. In between, the session's details count live.
   */
  attempts?: number;
  /** Epoch ms when the run of retries (or the falling-behind spell) began. */
  since?: number;
  /** `spy:behind`: bytes known to wait for the spy in the kernel's socket buffers (a lower bound). */
  backlog?: number;
  /** Agent `send:error`/`recv:error`: how many such failures this record stands for; `send:wait`: how many sends a green/async layer held at the high-water mark. */
  count?: number;
  /** Agent `send:error`/`recv:error`: the call site of the first of them. */
  site?: CallSite;
  /** Agent monitor events (`accept`, `connect`, `disconnect`): the remote end of that TCP connection (`tcp://127.0.0.1:53412`). */
  peer?: string;
}

/**
 * Agent: a program seen by a collector. `started` when its agent connected
 * (endpoint ''), `exited` when it said so or its connection ended.
 */
export interface ProcessRecord extends RecordBase {
  kind: 'process';
  state: 'started' | 'exited';
  /** The full command line. */
  argv?: string[];
  cwd?: string;
  ppid?: number;
  /** Language, binding and libzmq versions, e.g. `python 3.11.2 pyzmq 24.0.1 libzmq 4.3.4`. */
  runtime?: string;
  /** Reports the agent had to drop so far (its queue to the collector was full or nobody listened). */
  dropped?: number;
}

/**
 * Agent: what a program did to one of its sockets. `endpoint` is the endpoint
 * of a bind/connect/unbind/disconnect (the real one: `tcp://0.0.0.0:41234` for
 * a bind to `tcp://*:0`, the text given in `requested`), else the socket's first
 * endpoint or ''.
 */
export interface SocketRecord extends RecordBase {
  kind: 'socket';
  op: 'open' | 'bind' | 'connect' | 'unbind' | 'disconnect' | 'subscribe' | 'unsubscribe' | 'option' | 'close';
  socketType?: string;
  /** The endpoint as the program wrote it, when it differs from `endpoint`. */
  requested?: string;
  /** subscribe/unsubscribe: the topic prefix. */
  topic?: Uint8Array;
  /** option: its name in lower case as in libzmq without ZMQ_ (`sndhwm`, `routing_id`, ...). */
  option?: string;
  /** option: a number value. */
  value?: number;
  /** option: a bytes value (routing_id). */
  bytes?: Uint8Array;
  /** open: the high-water marks the socket started with. */
  sndhwm?: number;
  rcvhwm?: number;
  /** A bind/connect/... that failed: the error text and errno name (`EADDRINUSE`). */
  error?: string;
  code?: string;
  /** open, bind, connect, unbind, disconnect, subscribe, unsubscribe: the call site in the program. */
  site?: CallSite;
}

export interface GreetingRecord extends RecordBase {
  kind: 'greeting';
  direction: Direction;
  connection: number;
  version: string;
  mechanism: string;
  asServer: boolean;
}

export interface CommandRecord extends RecordBase {
  kind: 'command';
  direction: Direction;
  connection: number;
  name: string;
  /** READY/INITIATE metadata; values raw bytes. Secrets (PLAIN password) are never stored. */
  properties?: Record<string, Uint8Array>;
  /** SUBSCRIBE/CANCEL topic. */
  topic?: Uint8Array;
  /** Human-readable details (ERROR reason, PLAIN user name, PING TTL...). */
  detail?: string;
}

export interface ConnectionRecord extends RecordBase {
  kind: 'connection';
  connection: number;
  state: 'open' | 'closed' | 'undecodable';
  /** Remote address of the connecting peer (host:port). */
  peer?: string;
  /** Why a connection is undecodable or closed with an error. */
  reason?: string;
}

export type CaptureRecord = CapturedMessage | CapturedEvent | GreetingRecord | CommandRecord | ConnectionRecord | ProcessRecord | SocketRecord;

/** Size in bytes that a record's payload occupies (frames, topic, properties). */
/**
 * Between REQ/REP-family peers a message on the wire carries its envelope up to
 * the first empty frame (the delimiter; a frame captured cut to nothing is not
 * one): how many leading frames that is, delimiter included, or 0.
 */
export function reqRepEnvelopeFrames(frames: readonly Uint8Array[], truncated?: Record<number, number>): number {
  for (let i = 0; i < frames.length - 1; i++) {
    if (frames[i].length === 0 && truncated?.[i] === undefined) return i + 1;
  }
  return 0;
}

/**
 * A record's fields without its bytes (Capture.peekHeader): what a scan over
 * many records reads, with no frames rebuilt for it.
 */
export interface RecordHeader {
  kind: CaptureRecord['kind'];
  seq: number;
  ts: number;
  session?: string;
  endpoint?: string;
  socketType?: string;
  peerSocketType?: string;
  pid?: number;
  process?: string;
  socket?: string;
  /** payloadBytes() of the record. */
  bytes: number;
}

/** The header fields a record may have besides kind, seq, ts and bytes. */
const HEADER_FIELDS = ['session', 'endpoint', 'socketType', 'peerSocketType', 'pid', 'process', 'socket'] as const;

/** A record's header fields (those its kind has), written into `out`, by name (see RecordStore.headerAt). */
export function writeHeaderFields(out: RecordHeader, f: Partial<Pick<RecordHeader, (typeof HEADER_FIELDS)[number]>>): void {
  const o = out as Record<(typeof HEADER_FIELDS)[number], unknown>;
  for (const k of HEADER_FIELDS) o[k] = f[k];
}

export function payloadBytes(r: CaptureRecord): number {
  switch (r.kind) {
    case 'message': {
      let n = 0;
      for (const f of r.frames) n += f.byteLength;
      return n;
    }
    case 'command': {
      let n = r.topic?.byteLength ?? 0;
      if (r.properties) for (const v of Object.values(r.properties)) n += v.byteLength;
      return n;
    }
    case 'socket':
      return (r.topic?.byteLength ?? 0) + (r.bytes?.byteLength ?? 0);
    case 'event':
    case 'greeting':
    case 'connection':
    case 'process':
      return 0;
  }
}
