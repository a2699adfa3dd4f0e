/**
 * What the capture holds. Every source (spy, monitor spy, tap, socket events)
 * produces these records; the capture assigns `seq`. The JSON Lines export
 * format (src/core/exportFormat.ts, documented in README.md) is a lossless image
 * of these records.
 */

export type SourceKind = 'spy' | 'monitor' | 'tap';

/**
 * `in`/`out`: as seen by a spy (always `in`) or as labelled by a monitored queue;
 * `toTarget`/`fromTarget`: the two directions through a tap.
 */
export type Direction = 'in' | 'out' | 'toTarget' | 'fromTarget';

interface RecordBase {
  /** Sequence number assigned by the capture, strictly increasing. 0 until appended. */
  seq: number;
  /** Epoch milliseconds (may carry fractions). */
  ts: number;
  /** The session (spy/monitor/tap) that produced it. */
  session?: string;
  source: SourceKind;
  endpoint: string;
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

export type CaptureRecord = CapturedMessage | CapturedEvent | GreetingRecord | CommandRecord | ConnectionRecord;

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
    case 'event':
    case 'greeting':
    case 'connection':
      return 0;
  }
}
