/**
 * What the record store (recordStore.ts) keeps besides its columns: the
 * metadata entry a stream's packed records share, the chunks their bytes lie
 * in, what a record counts against the capture's byte limit; the ring's sizes.
 */
import type { CaptureRecord, Direction, SourceKind } from './records';

/**
 * What a record costs besides the bytes it keeps in a chunk, counted against the
 * capture's byte limit with them (issue 23: a window of messages made of empty
 * frames held 622 MiB under `--max-bytes 1000000` when only payload counted).
 * A packed record: its column slots and ring entry. A record kept as an object:
 * the object, and one view object per frame.
 */
export const PACKED_RECORD_BYTES = 32;
export const OBJECT_RECORD_BYTES = 256;
export const OBJECT_FRAME_BYTES = 64;

/** Bytes of the ring's columns per slot: two of 8 bytes, five of 4 (RecordStore.grow). */
export const RING_SLOT_BYTES = 36;
/** The ring's first size, up to the window's: no copy of the columns while a window this big fills. */
export const RING_FIRST_SLOTS = 1 << 17;

/** The bytes a record kept as an object holds: payload, the object and its frames, and its strings (UTF-16: 2 bytes a character). */
export function objectRecordBytes(r: CaptureRecord, payload: number): number {
  let n = payload + OBJECT_RECORD_BYTES;
  for (const v of Object.values(r)) {
    if (typeof v === 'string') n += 2 * v.length;
    else if (Array.isArray(v)) {
      for (const x of v as unknown[]) n += typeof x === 'string' ? 2 * x.length + 16 : OBJECT_FRAME_BYTES;
    }
  }
  return n;
}
export interface Meta {
  session: string | undefined;
  source: SourceKind;
  endpoint: string;
  direction: Direction;
  socketType: string | undefined;
  peerSocketType: string | undefined;
  connection: number | undefined;
  envelopeFrames: number | undefined;
  /** The identity is the first frame (monitor spy): rebuilt as a view of it. */
  identityIsFirstFrame: boolean;
  /** The bytes are ZMTP frames (header + body each), not length-prefixed bodies. */
  wire: boolean;
  /** The sender's identity, shared by the stream's records (wire records). */
  identity: Uint8Array | undefined;
  /** REQ/REP: envelopeFrames is derived per message, up to its first empty frame (wire records). */
  reqRepEnvelope: boolean;
  /** Retained records that use this entry; it is released at 0. */
  refs: number;
  /** Where it is interned: its key in metaKeys, or its stream in wireMetas. */
  key: string | WireStreamMeta;
  /** Agent records: program, pid and socket. */
  process: string | undefined;
  pid: number | undefined;
  socket: string | undefined;
}

/**
 * A metadata entry, its fields always in this order (undefined when the
 * stream has none): every entry has one hidden class, so the code that reads
 * them in a flood (headers, eviction) stays monomorphic.
 */
export function newMeta(f: Omit<Meta, 'refs'>): Meta {
  return {
    session: f.session,
    source: f.source,
    endpoint: f.endpoint,
    direction: f.direction,
    socketType: f.socketType,
    peerSocketType: f.peerSocketType,
    connection: f.connection,
    envelopeFrames: f.envelopeFrames,
    identityIsFirstFrame: f.identityIsFirstFrame,
    wire: f.wire,
    identity: f.identity,
    reqRepEnvelope: f.reqRepEnvelope,
    refs: 0,
    key: f.key,
    process: f.process,
    pid: f.pid,
    socket: f.socket,
  };
}

/** The metadata entry of a tap or spy stream's packed messages (RecordStore.pushWireBatch). */
export function wireStreamEntry(stream: WireStreamMeta): Meta {
  return newMeta({
    session: stream.session,
    source: stream.source ?? 'tap',
    endpoint: stream.endpoint,
    direction: stream.direction,
    socketType: stream.socketType,
    peerSocketType: stream.peerSocketType,
    connection: stream.connection,
    envelopeFrames: undefined,
    identityIsFirstFrame: false,
    wire: true,
    identity: stream.identity,
    reqRepEnvelope: stream.reqRepEnvelope,
    process: undefined,
    pid: undefined,
    socket: undefined,
    key: stream,
  });
}

/**
 * What every message of one tap stream (one direction of one connection) or
 * one native spy connection has in common. The source hands a new object
 * whenever any of it changes: the store interns these by identity, no
 * per-message comparison of fields.
 */
export interface WireStreamMeta {
  readonly session: string;
  /** Default 'tap'. A spy's wire messages are counted by topic too. */
  readonly source?: SourceKind;
  readonly endpoint: string;
  readonly direction: Direction;
  /** Tap connection number (none for a spy). */
  readonly connection: number | undefined;
  /** The sender's socket type and the receiver's, when their READY was seen. */
  readonly socketType: string | undefined;
  readonly peerSocketType: string | undefined;
  /** The sender's announced identity (the routing id a ROUTER receiver sees). */
  readonly identity: Uint8Array | undefined;
  /** Between REQ/REP-family peers: each message's envelope ends at its first empty frame. */
  readonly reqRepEnvelope: boolean;
}

export interface Chunk {
  buf: Buffer;
  used: number;
  /** Packed records still referencing this chunk. */
  live: number;
  /** A record of it was read: views into it may be held, so it is never recycled. */
  exposed: boolean;
}
