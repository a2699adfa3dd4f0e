/**
 * Compact storage for the capture's window of records.
 *
 * Why: a capture holds up to millions of messages. Kept as JS objects (record +
 * frames array + one Buffer per frame) each costs several hundred bytes of heap
 * and keeps the garbage collector busy copying survivors, which slows ingest.
 * Here ordinary messages are packed: their frame bytes are copied into large
 * shared chunks, their few scalar fields into typed-array columns, and the
 * strings they share (session, endpoint, direction, socket types...) into one
 * interned "meta" entry. Records are rebuilt on read, with frames as zero-copy
 * views into the chunks. Rare records (events, commands, messages with extra
 * fields) are kept as the objects they are. Tap messages come in as their ZMTP
 * wire bytes (pushWire) and are kept so: one copy of the span, no record object
 * at all until read.
 *
 * The store is a FIFO ring: push at the tail, shift at the head.
 *
 * Records read out are safe to hold (the rule, issue 15): bytes handed out are
 * never overwritten. A chunk's bytes are only ever appended to, never rewritten;
 * a chunk leaves the store when its last record is evicted, and it is recycled
 * for new records only if no record of it was ever read (`exposed`). A chunk that
 * was read is dropped instead, and the garbage collector frees it once the last
 * view into it (a snapshot being exported, a frame libzmq is still sending, a
 * record the viewer shows) is gone. So callers never copy: a snapshot, a replay
 * in flight or a record printed later shows the bytes that travelled. The cost:
 * a held record keeps its chunk (≤ 1 MiB, or its own chunk for a big message)
 * alive until it is dropped: an export of the whole window holds up to one more
 * window's worth of chunks while it runs, never more.
 *
 * Readers that only look (the CLI printing, the topology counting, the viewer
 * scanning and summarizing rows) read records `lent` instead: the chunk is not
 * marked, so it stays recyclable, and the views are valid until the store next
 * grows, which cannot happen before the reader yields to the event loop. A
 * window read as fast as it fills (the CLI, a live viewer, the map) would
 * otherwise allocate a fresh chunk per chunk filled, and V8 answers that
 * external memory with full garbage collections (`npm run bench`:
 * capture_evicting_append_read_ns_*, spy_cpu_ns_per_msg_*).
 *
 * Metadata entries (one per stream: a tap connection's direction, a READY
 * change...) count the records that use them and are released with the last one,
 * so a capture of many short-lived connections stays bounded by its window.
 */
import { CapturedMessage, CaptureRecord, payloadBytes, RecordHeader, reqRepEnvelopeFrames, writeHeaderFields } from './records';
import type { WireBatch } from '../zmtp/decoder';
import { wireFrameSpans, wireFrameViews } from '../zmtp/frameHeader';
import { giveReleasedChunk, giveReleasedRing, takeReleasedChunk, takeReleasedRing } from './releasedChunks';
import { type Chunk, type Meta, newMeta, objectRecordBytes, wireStreamEntry, PACKED_RECORD_BYTES, RING_FIRST_SLOTS, RING_SLOT_BYTES, type WireStreamMeta } from './recordStoreLayout';

export { OBJECT_FRAME_BYTES, OBJECT_RECORD_BYTES, objectRecordBytes, PACKED_RECORD_BYTES, type WireStreamMeta } from './recordStoreLayout';

const CHUNK_BYTES = 1 << 20;
/** PACKED_RECORD_BYTES as this module's own binding: run through tsx (bench/, tests), an imported constant is a getter. */
const RECORD_COST = PACKED_RECORD_BYTES;

/** A message larger than this gets a chunk of its own. */
const BIG_MESSAGE = CHUNK_BYTES >> 2;
const SPARE_CHUNKS = 4;

/** A chunk whose memory may hold other records: a shared one (not a big message's own) that no record was read from to hold. */
function reusable(chunk: Chunk): boolean {
  return !chunk.exposed && chunk.buf.length === CHUNK_BYTES;
}

/**
 * Where a packed message's frames lie in the store's memory (RecordStore.frameSpansAt):
 * frame k is `buf[start[k], end[k])`. Reused from record to record by a scan;
 * valid as a lent record is (until the store next grows).
 */
export interface FrameSpans {
  buf: Buffer;
  /** The whole record: `buf[from, to)` (its frames with their length prefixes or ZMTP headers). */
  from: number;
  to: number;
  count: number;
  start: Uint32Array;
  end: Uint32Array;
}

export function newFrameSpans(): FrameSpans {
  return { buf: Buffer.alloc(0), from: 0, to: 0, count: 0, start: new Uint32Array(16), end: new Uint32Array(16) };
}

/** What the capture needs to know about a record leaving the window. */
export interface Shifted {
  kind: CaptureRecord['kind'];
  session: string;
  payloadBytes: number;
  /** What it was counted against the byte limit (see push). */
  retainedBytes: number;
  /** Records removed (shiftRun: a run of one stream's messages, summed). */
  count: number;
}

export class RecordStore {
  private capacity = 0;
  private head = 0;
  private count = 0;
  private firstSeq = 0;
  /**
   * The records kept as objects, by ring slot (their metaIndex is -1). A map,
   * not a column: they are rare, and a holey array of the ring's size cost more
   * to allocate and copy at each growth than every other column together (a
   * fresh tap capture grows its ring while it relays its first 100,000 messages).
   */
  private objects = new Map<number, CaptureRecord>();
  // columns, indexed by ring slot (views of one buffer per ring size, see grow)
  private ts = new Float64Array(0);
  private metaIndex = new Int32Array(0); // -1: the record is in `objects`
  private chunkIndex = new Int32Array(0);
  private offset = new Uint32Array(0);
  private frameCount = new Uint32Array(0);
  private payloadSize = new Uint32Array(0);
  /** Bytes counted against the byte limit (push's return value). */
  private retainedSize = new Float64Array(0);

  private metas: (Meta | undefined)[] = [];
  /** Indexes of released metas, reused first. */
  private freeMetas: number[] = [];
  private metaKeys = new Map<string, number>();
  private lastMeta = -1;
  private wireMetas = new Map<WireStreamMeta, number>();
  private lastWireStream: WireStreamMeta | undefined;
  private lastWireMeta = -1;
  private chunks = new Map<number, Chunk>();
  private nextChunkId = 0;
  private current: { id: number; chunk: Chunk } | undefined;
  /** Released chunks kept for reuse (a window that evicts releases one per chunk filled). */
  private spare: Buffer[] = [];
  private allocatedChunks = 0;
  /** The chunk frameSpansAt read last (ids are never reused; dropped with the chunks). */
  private spansChunkId = -1;
  private spansChunk: Buffer | undefined;
  /** What shift() returns (valid until its next call). */
  private readonly shifted: Shifted = { kind: 'message', session: '', payloadBytes: 0, retainedBytes: 0, count: 0 };
  /** The chunk shift() released from last (the same rule). */
  private shiftChunkId = -1;
  private shiftChunk: Chunk | undefined;
  /** The chunk at() read last (the same rule). */
  private atChunkId = -1;
  private atChunk: Chunk | undefined;
  private reusedChunks = 0;
  private reusedRings = 0;

  constructor(private readonly maxCapacity: () => number) {}

  get size(): number {
    return this.count;
  }

  /** Metadata entries held (for tests and the bench: bounded by the records retained). */
  get metaEntries(): number {
    return this.metas.length - this.freeMetas.length;
  }

  /** Chunks held by the store, spare ones kept for reuse, chunk buffers allocated so far; the ring's slots, rings taken over. */
  get chunkCount(): { live: number; spare: number; allocated: number; reused: number; ringSlots: number; reusedRings: number } {
    return { live: this.chunks.size, spare: this.spare.length, allocated: this.allocatedChunks, reused: this.reusedChunks, ringSlots: this.capacity, reusedRings: this.reusedRings };
  }

  get oldestSeq(): number {
    return this.count ? this.firstSeq : 0;
  }

  /**
   * Appends a record whose seq must be the previous one's plus one; `payload` is
   * its payloadBytes(). Returns the bytes it holds, counted against the byte
   * limit: payload, frame lengths and the record's own cost.
   */
  push(r: CaptureRecord, payload: number): number {
    const slot = this.claimSlot(r.seq);
    const meta = r.kind === 'message' ? this.packableMeta(r) : -1;
    if (meta < 0) {
      this.objects.set(slot, r);
      this.metaIndex[slot] = -1;
      return (this.retainedSize[slot] = objectRecordBytes(r, payload));
    }
    const frames = (r as CapturedMessage).frames;
    const stored = payload + 4 * frames.length;
    const buf = this.reserve(slot, meta, r.ts, frames.length, payload, stored);
    let off = this.offset[slot];
    for (let i = 0; i < frames.length; i++) {
      buf.writeUInt32LE(frames[i].byteLength, off);
      off += 4;
    }
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      buf.set(f, off);
      off += f.byteLength;
    }
    return (this.retainedSize[slot] = stored + RECORD_COST);
  }

  /**
   * Appends messages `from` to `to - 1` of a wire batch (see Capture.appendWire),
   * with seqs from `seq` on: message i is the ZMTP wire bytes `bytes[batch.start[i],
   * batch.end[i])`, `batch.frames[i]` frames carrying `batch.payload[i]` body bytes.
   * A run of messages that lie back to back in `bytes` and fit in one chunk is
   * copied with one copy (a read brings hundreds to thousands of them), then each
   * gets its column slots: the same chunks and offsets as copying them one by one.
   * Returns the bytes they hold (each its span, headers included, and its cost).
   */
  pushWireBatch(seq: number, stream: WireStreamMeta, ts: number, bytes: Uint8Array, batch: WireBatch, from: number, to: number): number {
    const n = to - from;
    if (n <= 0) return 0;
    let meta = this.lastWireMeta;
    if (stream !== this.lastWireStream) {
      meta = this.wireMetaIndex(stream);
      this.lastWireStream = stream;
      this.lastWireMeta = meta;
    }
    this.metas[meta]!.refs += n;
    if (this.count + n > this.capacity) this.grow(this.count + n);
    const cap = this.capacity;
    let slot = this.head + this.count;
    if (slot >= cap) slot -= cap;
    if (this.count === 0) this.firstSeq = seq;
    this.count += n;
    const { start, end, frames, payload } = batch;
    let held = 0;
    for (let i = from; i < to; ) {
      const runStart = start[i];
      let runEnd = end[i];
      const { id, chunk } = this.chunkFor(runEnd - runStart);
      const base = chunk.used;
      let j = i + 1;
      // the run goes on while the next message follows at once and fits (a big message has a chunk of its own)
      if (runEnd - runStart <= BIG_MESSAGE) {
        const fits = runStart + chunk.buf.length - base; // bytes[runStart, fits) fit in the chunk
        while (j < to && start[j] === runEnd && end[j] <= fits && end[j] - start[j] <= BIG_MESSAGE) runEnd = end[j++];
      }
      const len = runEnd - runStart;
      const buf = chunk.buf;
      // a loop beats TypedArray#set for a few bytes (a run of one small message)
      if (len <= 64) for (let k = 0; k < len; k++) buf[base + k] = bytes[runStart + k];
      else buf.set(bytes.subarray(runStart, runEnd), base);
      chunk.used = base + len;
      chunk.live += j - i;
      // free slots hold no object (shift and grow leave them empty): only the columns are written
      for (; i < j; i++) {
        const size = end[i] - start[i];
        this.metaIndex[slot] = meta;
        this.ts[slot] = ts;
        this.payloadSize[slot] = payload[i];
        this.frameCount[slot] = frames[i];
        this.chunkIndex[slot] = id;
        this.offset[slot] = base + start[i] - runStart;
        held += this.retainedSize[slot] = size + RECORD_COST;
        if (++slot === cap) slot = 0;
      }
    }
    return held;
  }

  /** The ring slot for the next record (`seq`), growing the ring when full. */
  private claimSlot(seq: number): number {
    if (this.count === this.capacity) this.grow();
    const slot = (this.head + this.count) % this.capacity;
    if (this.count === 0) this.firstSeq = seq;
    this.count++;
    return slot;
  }

  /** Fills a packed message's columns and reserves `bytes` for it in a chunk: they go to the returned buffer at offset[slot]. */
  private reserve(slot: number, meta: number, ts: number, frames: number, payload: number, bytes: number): Buffer {
    this.metas[meta]!.refs++;
    this.metaIndex[slot] = meta;
    this.ts[slot] = ts;
    this.payloadSize[slot] = payload;
    this.frameCount[slot] = frames;
    const { id, chunk } = this.chunkFor(bytes);
    this.chunkIndex[slot] = id;
    this.offset[slot] = chunk.used;
    chunk.used += bytes;
    chunk.live++;
    return chunk.buf;
  }

  /** Removes the oldest record; what it returns is valid until the next call. */
  shift(): Shifted {
    return this.shiftRun(1);
  }

  /**
   * Removes the oldest record and up to `max - 1` after it while they are packed
   * messages of the same metadata entry (a window evicts them by the thousand
   * as a tap's reads come in): one result for the run, `count` records, their
   * payload and retained bytes summed. Valid until the next call.
   */
  shiftRun(max: number): Shifted {
    const cap = this.capacity;
    let slot = this.head;
    const obj = this.objectAt(slot);
    const out = this.shifted;
    let n = 1;
    if (obj) {
      this.objects.delete(slot);
      out.kind = obj.kind;
      out.session = obj.session ?? obj.endpoint;
      out.payloadBytes = payloadBytes(obj);
      out.retainedBytes = this.retainedSize[slot];
      if (++slot === cap) slot = 0;
    } else {
      const mi = this.metaIndex[slot];
      const m = this.metas[mi]!;
      const current = this.current?.id;
      const last = Math.min(max, this.count);
      let payload = 0;
      let retained = 0;
      // an object's slot has meta -1: the run ends at the first record of another entry or kind
      for (n = 0; n < last && this.metaIndex[slot] === mi; n++) {
        payload += this.payloadSize[slot];
        retained += this.retainedSize[slot];
        const id = this.chunkIndex[slot];
        // the oldest records lie in one chunk after another: one map lookup per chunk
        let chunk = this.shiftChunk;
        if (id !== this.shiftChunkId || !chunk) {
          chunk = this.shiftChunk = this.chunks.get(id)!;
          this.shiftChunkId = id;
        }
        if (--chunk.live === 0 && current !== id) this.release(id, chunk);
        if (++slot === cap) slot = 0;
      }
      out.kind = 'message';
      out.session = m.session ?? m.endpoint;
      out.payloadBytes = payload;
      out.retainedBytes = retained;
      if ((m.refs -= n) === 0) this.releaseMeta(mi, m);
    }
    out.count = n;
    this.head = slot;
    this.count -= n;
    this.firstSeq += n;
    return out;
  }

  /** The header of the record at position i, written into `out` (no frames are built). */
  headerAt(i: number, out: RecordHeader): RecordHeader | undefined {
    if (i < 0 || i >= this.count) return undefined;
    const slot = (this.head + i) % this.capacity;
    const obj = this.objectAt(slot);
    out.seq = this.firstSeq + i;
    // an object (many shapes: some kinds have these fields, others not), or a packed message's meta
    // entry, read apart: entries have one shape (newMeta), so a flood's scan reads them monomorphically
    if (obj) {
      out.kind = obj.kind;
      out.ts = obj.ts;
      out.bytes = payloadBytes(obj);
      writeHeaderFields(out, obj);
      return out;
    }
    const m = this.metas[this.metaIndex[slot]]!;
    out.kind = 'message';
    out.ts = this.ts[slot];
    out.bytes = this.payloadSize[slot];
    out.session = m.session;
    out.endpoint = m.endpoint;
    out.socketType = m.socketType;
    out.peerSocketType = m.peerSocketType;
    out.pid = m.pid;
    out.process = m.process;
    out.socket = m.socket;
    return out;
  }

  /**
   * The record at position i (0 = oldest), rebuilt when packed. `lent`: its
   * frames may be reused once the store grows again (see the header).
   */
  at(i: number, lent = false): CaptureRecord | undefined {
    if (i < 0 || i >= this.count) return undefined;
    const slot = (this.head + i) % this.capacity;
    const obj = this.objectAt(slot);
    if (obj) return obj;
    const m = this.metas[this.metaIndex[slot]]!;
    // a reader goes through a chunk's records one after another: one map lookup per chunk
    const id = this.chunkIndex[slot];
    let chunk = this.atChunk;
    if (id !== this.atChunkId || !chunk) {
      chunk = this.atChunk = this.chunks.get(id)!;
      this.atChunkId = id;
    }
    // its frames are views of the chunk: never recycle it (see the header)
    if (!lent) chunk.exposed = true;
    const n = this.frameCount[slot];
    let frames: Uint8Array[];
    if (m.wire) frames = wireFrameViews(chunk.buf, this.offset[slot], n);
    else {
      let off = this.offset[slot];
      let data = off + 4 * n;
      frames = new Array(n);
      for (let k = 0; k < n; k++) {
        const len = chunk.buf.readUInt32LE(off);
        off += 4;
        frames[k] = chunk.buf.subarray(data, data + len);
        data += len;
      }
    }
    const r: CapturedMessage = {
      kind: 'message',
      seq: this.firstSeq + i,
      ts: this.ts[slot],
      source: m.source,
      endpoint: m.endpoint,
      direction: m.direction,
      frames,
    };
    if (m.session !== undefined) r.session = m.session;
    if (m.process !== undefined) r.process = m.process;
    if (m.pid !== undefined) r.pid = m.pid;
    if (m.socket !== undefined) r.socket = m.socket;
    if (m.socketType !== undefined) r.socketType = m.socketType;
    if (m.peerSocketType !== undefined) r.peerSocketType = m.peerSocketType;
    if (m.connection !== undefined) r.connection = m.connection;
    if (m.envelopeFrames !== undefined) r.envelopeFrames = m.envelopeFrames;
    else if (m.reqRepEnvelope) {
      const envelope = reqRepEnvelopeFrames(frames);
      if (envelope) r.envelopeFrames = envelope;
    }
    if (m.identityIsFirstFrame) r.identity = frames[0];
    else if (m.identity !== undefined) r.identity = m.identity;
    return r;
  }

  /**
   * Where the bytes of the record at position i lie (`out.buf[out.from, out.to)`)
   * when it is a packed message, without finding its frames (frameSpansAt does);
   * returns its metadata entry, or -1 for a record kept as an object. A scan for
   * bytes (the viewer's text filter) passes over a message without them at this cost.
   */
  packedBytesAt(i: number, out: FrameSpans): number {
    if (i < 0 || i >= this.count) return -1;
    const slot = (this.head + i) % this.capacity;
    if (this.metaIndex[slot] < 0) return -1;
    const id = this.chunkIndex[slot];
    // a scan reads a chunk's records one after another: one map lookup per chunk
    if (id !== this.spansChunkId || !this.spansChunk) {
      this.spansChunkId = id;
      this.spansChunk = this.chunks.get(id)!.buf;
    }
    out.buf = this.spansChunk;
    out.from = this.offset[slot];
    // push and pushWire count what they stored plus the record's fixed cost
    out.to = out.from + this.retainedSize[slot] - RECORD_COST;
    return this.metaIndex[slot];
  }

  /**
   * For a scan looking for bytes in packed messages: the first position in
   * [i, end] it must look at, or end + 1. It passes over packed messages of
   * the chunk `buf` (the one packedBytesAt read last) with metadata entry
   * `meta` whose bytes end at or before byte `before`: the scan knows they
   * cannot hold what it looks for, and has seen their stream. One tight loop:
   * most messages cost a few array reads, not a call each.
   */
  nextToScan(i: number, end: number, buf: Buffer, meta: number, before: number): number {
    if (buf !== this.spansChunk || i < 0 || meta < 0) return i;
    const chunk = this.spansChunkId;
    const last = Math.min(end, this.count - 1);
    let slot = (this.head + i) % this.capacity;
    for (; i <= last; i++) {
      // (an object's slot has meta -1)
      if (this.metaIndex[slot] !== meta || this.chunkIndex[slot] !== chunk) return i;
      if (this.offset[slot] + this.retainedSize[slot] - RECORD_COST > before) return i;
      if (++slot === this.capacity) slot = 0;
    }
    return i;
  }

  /**
   * Where the frames of the record at position i lie, written into `out`, when
   * it is a packed message; returns its metadata entry (records with the same
   * one share every field but ts and bytes, until the store next changes), or
   * -1 for a record kept as an object (read it with at()). A scan that only
   * looks at bytes builds no record and no view; like a lent record, the chunk
   * is not marked read.
   */
  frameSpansAt(i: number, out: FrameSpans): number {
    const meta = this.packedBytesAt(i, out);
    if (meta < 0) return -1;
    const slot = (this.head + i) % this.capacity;
    const buf = out.buf;
    const n = this.frameCount[slot];
    if (out.start.length < n) {
      const size = Math.max(n, out.start.length * 2);
      out.start = new Uint32Array(size);
      out.end = new Uint32Array(size);
    }
    out.count = n;
    let off = out.from;
    if (this.metas[meta]!.wire) wireFrameSpans(buf, off, n, out.start, out.end);
    else {
      // n length prefixes (UInt32LE), then the n bodies (see push)
      let data = off + 4 * n;
      for (let k = 0; k < n; k++, off += 4) {
        out.start[k] = data;
        out.end[k] = data += (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16)) + buf[off + 3] * 0x1000000;
      }
    }
    return meta;
  }

  clear(): void {
    giveReleasedRing(this.ts.buffer as ArrayBuffer);
    this.capacity = 0;
    this.head = 0;
    this.count = 0;
    this.objects = new Map();
    this.ts = new Float64Array(0);
    this.metaIndex = new Int32Array(0);
    this.chunkIndex = new Int32Array(0);
    this.offset = new Uint32Array(0);
    this.frameCount = new Uint32Array(0);
    this.payloadSize = new Uint32Array(0);
    this.retainedSize = new Float64Array(0);
    this.metas = [];
    this.freeMetas = [];
    this.metaKeys.clear();
    this.lastMeta = -1;
    this.wireMetas.clear();
    this.lastWireStream = undefined;
    this.lastWireMeta = -1;
    for (const chunk of this.chunks.values()) if (reusable(chunk)) giveReleasedChunk(chunk.buf);
    for (const buf of this.spare) giveReleasedChunk(buf);
    this.chunks.clear();
    this.spansChunk = undefined;
    this.atChunk = undefined;
    this.shiftChunk = undefined;
    this.current = undefined;
    this.spare = [];
  }

  /** The meta index for a message that can be packed, or -1 when it must stay an object. */
  private packableMeta(m: CapturedMessage): number {
    if (m.truncated !== undefined || m.encrypted) return -1;
    const identityIsFirstFrame = m.identity !== undefined;
    if (identityIsFirstFrame && m.identity !== m.frames[0]) return -1;
    const last = this.lastMeta >= 0 ? this.metas[this.lastMeta]! : undefined;
    // fast path: the same stream as the previous message
    if (
      last &&
      last.session === m.session &&
      last.endpoint === m.endpoint &&
      last.direction === m.direction &&
      last.source === m.source &&
      last.socketType === m.socketType &&
      last.peerSocketType === m.peerSocketType &&
      last.connection === m.connection &&
      last.envelopeFrames === m.envelopeFrames &&
      last.identityIsFirstFrame === identityIsFirstFrame &&
      last.socket === m.socket &&
      last.pid === m.pid &&
      last.process === m.process
    ) {
      return this.lastMeta;
    }
    const fields = {
      session: m.session,
      source: m.source,
      endpoint: m.endpoint,
      direction: m.direction,
      socketType: m.socketType,
      peerSocketType: m.peerSocketType,
      connection: m.connection,
      envelopeFrames: m.envelopeFrames,
      identityIsFirstFrame,
      process: m.process,
      pid: m.pid,
      socket: m.socket,
    };
    // JSON leaves out the fields that are undefined
    const key = JSON.stringify(fields);
    let idx = this.metaKeys.get(key);
    if (idx === undefined) {
      idx = this.addMeta(newMeta({ ...fields, wire: false, identity: undefined, reqRepEnvelope: false, key }));
      this.metaKeys.set(key, idx);
    }
    this.lastMeta = idx;
    return idx;
  }

  private wireMetaIndex(stream: WireStreamMeta): number {
    let idx = this.wireMetas.get(stream);
    if (idx === undefined) {
      idx = this.addMeta(wireStreamEntry(stream));
      this.wireMetas.set(stream, idx);
    }
    return idx;
  }

  private addMeta(meta: Meta): number {
    const free = this.freeMetas.pop();
    if (free === undefined) return this.metas.push(meta) - 1;
    this.metas[free] = meta;
    return free;
  }

  /** The last record using `meta` left: forget it (and the caches that point at it). */
  private releaseMeta(idx: number, meta: Meta): void {
    if (typeof meta.key === 'string') this.metaKeys.delete(meta.key);
    else this.wireMetas.delete(meta.key);
    this.metas[idx] = undefined;
    this.freeMetas.push(idx);
    if (this.lastMeta === idx) this.lastMeta = -1;
    if (this.lastWireMeta === idx) {
      this.lastWireMeta = -1;
      this.lastWireStream = undefined;
    }
  }

  private chunkFor(bytes: number): { id: number; chunk: Chunk } {
    if (bytes > BIG_MESSAGE) {
      const id = this.nextChunkId++;
      const chunk: Chunk = { buf: Buffer.allocUnsafeSlow(bytes), used: 0, live: 0, exposed: false };
      this.allocatedChunks++;
      this.chunks.set(id, chunk);
      return { id, chunk };
    }
    const cur = this.current;
    if (cur && cur.chunk.used + bytes <= cur.chunk.buf.length) return cur;
    // retire the current chunk: drop it now if nothing references it any more
    if (cur && cur.chunk.live === 0) this.release(cur.id, cur.chunk);
    const id = this.nextChunkId++;
    // reuse a released chunk: fresh memory costs a page fault every 4 KiB
    let buf = this.spare.pop();
    if (!buf && (buf = takeReleasedChunk())) this.reusedChunks++;
    if (!buf) {
      buf = Buffer.allocUnsafeSlow(CHUNK_BYTES);
      this.allocatedChunks++;
    }
    const chunk: Chunk = { buf, used: 0, live: 0, exposed: false };
    this.chunks.set(id, chunk);
    this.current = { id, chunk };
    return this.current;
  }

  private release(id: number, chunk: Chunk): void {
    this.chunks.delete(id);
    if (id === this.spansChunkId) this.spansChunk = undefined;
    if (id === this.atChunkId) this.atChunk = undefined;
    if (id === this.shiftChunkId) this.shiftChunk = undefined;
    // a chunk that was read may still be viewed by a held record: leave it to the GC
    if (reusable(chunk) && this.spare.length < SPARE_CHUNKS) this.spare.push(chunk.buf);
  }

  /** The record kept as an object in `slot`, if it is one (packed messages: undefined). */
  private objectAt(slot: number): CaptureRecord | undefined {
    return this.metaIndex[slot] < 0 ? this.objects.get(slot) : undefined;
  }

  /**
   * Grows the ring to at least `need` slots: at first to the window's size (up
   * to RING_FIRST_SLOTS), then doubling, up to the window's unless more are
   * held. Its memory is not zeroed (every slot is written before it is read):
   * its pages are first touched as the ring fills, not at each growth.
   */
  private grow(need = 0): void {
    const max = this.maxCapacity();
    const cap = Math.max(16, need, this.capacity === 0 ? Math.min(max, RING_FIRST_SLOTS) : Math.min(this.capacity * 2, Math.max(max, this.capacity + 1)));
    // the ring in order, oldest first: [head, head + first) then [0, count - first); whole-range copies
    const head = this.head;
    const first = Math.min(this.count, this.capacity - head);
    const rest = this.count - first;
    // one allocation for the seven columns (two of 8 bytes a slot first, for alignment, then five of 4)
    let buffer = takeReleasedRing(cap * RING_SLOT_BYTES);
    if (buffer) this.reusedRings++;
    else buffer = Buffer.allocUnsafeSlow(cap * RING_SLOT_BYTES).buffer;
    let at = 0;
    const moved = <A extends Float64Array | Int32Array | Uint32Array>(from: A, make: new (b: ArrayBuffer, offset: number, length: number) => A): A => {
      const to = new make(buffer, at, cap);
      at += cap * to.BYTES_PER_ELEMENT;
      to.set(from.subarray(head, head + first), 0);
      to.set(from.subarray(0, rest), first);
      return to;
    };
    this.ts = moved(this.ts, Float64Array);
    this.retainedSize = moved(this.retainedSize, Float64Array);
    this.metaIndex = moved(this.metaIndex, Int32Array);
    this.chunkIndex = moved(this.chunkIndex, Int32Array);
    this.offset = moved(this.offset, Uint32Array);
    this.frameCount = moved(this.frameCount, Uint32Array);
    this.payloadSize = moved(this.payloadSize, Uint32Array);
    if (head !== 0 && this.objects.size > 0) {
      const old = this.capacity;
      const objects = new Map<number, CaptureRecord>();
      for (const [slot, r] of this.objects) objects.set(slot >= head ? slot - head : slot + old - head, r);
      this.objects = objects;
    }
    this.capacity = cap;
    this.head = 0;
  }
}
