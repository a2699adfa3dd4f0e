/**
 * The capture: the one place that owns captured records. A bounded window (by
 * record count and by bytes held, record overhead included) that counts everything it evicts, keeps
 * counters and rates per session, endpoint and topic, and tells listeners at most
 * once per tick that records were appended (never once per message).
 */
import { Disposable, Emitter, Event } from '../base/lifecycle';
import { CaptureRecord, payloadBytes, RecordHeader } from './records';
import { type FrameSpans, RecordStore, type WireStreamMeta } from './recordStore';
import type { WireBatch } from '../zmtp/decoder';
import { Counter, OTHER_TOPICS, TopicCounter } from './topicCounter';

export interface CaptureLimits {
  /** Most records retained; older ones are evicted (and counted). */
  maxRecords: number;
  /**
   * Most bytes retained: payload plus what each record and frame costs besides
   * (frame lengths or ZMTP headers, the record's slot or object; see recordStore.ts),
   * so a window of empty frames is bounded too.
   */
  maxBytes: number;
}

export const DEFAULT_LIMITS: CaptureLimits = { maxRecords: 100_000, maxBytes: 256 * 1024 * 1024 };

/** Frames one since()/peekSince() batch rebuilds, about 6 MiB of frame views (see since). */
const READ_FRAMES_BUDGET = 65_536;

/** Distinct topics tracked per session; further topics are counted under OTHER_TOPICS. */
const MAX_TOPICS_PER_SESSION = 1000;
/** Topic display names are cut to this many bytes. */
const TOPIC_KEY_BYTES = 64;
export { OTHER_TOPICS };
export type { Counter, WireBatch, WireStreamMeta };

export interface SessionCounters extends Counter {
  /** Records of other kinds (events, commands, greetings, connections). */
  others: number;
  /** Messages the capture evicted from this session's records to stay within its limits. */
  evicted: number;
  /** Messages the network or a source reported lost (e.g. a tap that could not decode). */
  dropped: number;
  topics: Map<string, Counter>;
  endpoints: Map<string, Counter>;
  /** Messages per second over the last full second. */
  rate: number;
}

export interface CaptureStats {
  /** Records currently held. */
  retained: number;
  /** Bytes held, as counted against maxBytes (payload and record overhead). */
  retainedBytes: number;
  /** Every record ever appended (since the last clear). */
  total: number;
  totalMessages: number;
  /** Records evicted to stay within the limits. */
  evicted: number;
  /** Their bytes, counted as retainedBytes is. */
  evictedBytes: number;
  /** Messages reported lost by sources. */
  dropped: number;
  /** Sequence number of the oldest retained record (0 when empty). */
  firstSeq: number;
  /** Sequence number of the newest record (0 when nothing appended yet). */
  lastSeq: number;
  /** Total messages per second over the last full second. */
  rate: number;
}

export interface AppendedEvent {
  /** First and last seq appended since the previous event. */
  fromSeq: number;
  toSeq: number;
}

/** Converts a topic frame to a display key: text when printable, else hex. */
export function topicKey(frame: Uint8Array | undefined): string {
  if (!frame || frame.byteLength === 0) return '';
  const cut = frame.byteLength > TOPIC_KEY_BYTES ? frame.subarray(0, TOPIC_KEY_BYTES) : frame;
  let printable = true;
  for (let i = 0; i < cut.length; i++) {
    const b = cut[i];
    if (b < 0x20 || b > 0x7e) {
      printable = false;
      break;
    }
  }
  const buf = Buffer.from(cut.buffer, cut.byteOffset, cut.byteLength);
  const s = printable ? buf.toString('latin1') : '0x' + buf.toString('hex');
  return frame.byteLength > TOPIC_KEY_BYTES ? s + '…' : s;
}

class RateMeter {
  private second = 0;
  private countThisSecond = 0;
  private countLastSecond = 0;

  hit(nowMs: number, n = 1): void {
    const s = Math.floor(nowMs / 1000);
    if (s !== this.second) {
      this.countLastSecond = s === this.second + 1 ? this.countThisSecond : 0;
      this.second = s;
      this.countThisSecond = 0;
    }
    this.countThisSecond += n;
  }

  /** Messages in the last full second (0 when that second had none). */
  rate(nowMs: number): number {
    const s = Math.floor(nowMs / 1000);
    if (s === this.second) return this.countLastSecond;
    if (s === this.second + 1) return this.countThisSecond;
    return 0;
  }
}

/** Everything the capture keeps about one session, found with one lookup per append. */
interface SessionEntry {
  id: string;
  counters: SessionCounters;
  meter: RateMeter;
  topics: TopicCounter;
  lastEndpoint?: string;
  lastEndpointCounter?: Counter;
}

export class Capture implements Disposable {
  private limits: CaptureLimits;
  // Packed ring of the retained records (see recordStore.ts for why).
  private readonly store = new RecordStore(() => this.limits.maxRecords + 1);
  private bytes = 0;
  private nextSeq = 1;
  private totalRecords = 0;
  private totalMessages = 0;
  private evictedRecords = 0;
  private evictedBytes = 0;
  private droppedMessages = 0;
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly totalRate = new RateMeter();
  /** The entry of the previous append: most appends come from the same session. */
  private last?: SessionEntry;

  private pendingFrom = 0;
  private pendingTo = 0;
  private flushScheduled = false;
  private readonly onDidAppendEmitter = new Emitter<AppendedEvent>();
  private readonly onDidClearEmitter = new Emitter<void>();
  /** Fired at most once per tick with the range of records appended since the last firing. */
  readonly onDidAppend: Event<AppendedEvent> = this.onDidAppendEmitter.event;
  readonly onDidClear: Event<void> = this.onDidClearEmitter.event;

  constructor(limits: Partial<CaptureLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    validateLimits(this.limits);
  }

  get currentLimits(): CaptureLimits {
    return { ...this.limits };
  }

  /** Changes the limits; evicts (and counts) at once if the window shrank. */
  setLimits(limits: Partial<CaptureLimits>): void {
    const next = { ...this.limits, ...limits };
    validateLimits(next);
    this.limits = next;
    this.evictToLimits();
  }

  /** Takes ownership of `record`, assigns its seq (and ts when 0) and returns it. */
  append<R extends CaptureRecord>(record: R): R {
    record.seq = this.nextSeq++;
    if (!record.ts) record.ts = Date.now();
    const size = payloadBytes(record);
    this.bytes += this.store.push(record, size);
    this.totalRecords++;
    this.count(record, size);
    this.evictToLimits();
    this.scheduleAppended(record.seq);
    return record;
  }

  /**
   * The tap's fast path: appends messages given as their ZMTP wire bytes, one
   * batch of one stream from one chunk (message i is `bytes[batch.start[i],
   * batch.end[i])`, see ZmtpDecoderHandler.wireMessages), without building
   * records: read back, each is the record the tap would have appended. Counters
   * are updated once per batch. Returns the seq of the last one.
   */
  appendWire(stream: WireStreamMeta, ts: number, bytes: Uint8Array, batch: WireBatch): number {
    const n = batch.count;
    const max = this.limits.maxRecords;
    // at most a window at a time: first evict the oldest records that the count limit would
    // evict as these come in, then the byte limit's: the same records as one at a time
    for (let i = 0; i < n; ) {
      const m = Math.min(n - i, max);
      this.evictOldest(this.store.size + m - max);
      this.bytes += this.store.pushWireBatch(this.nextSeq, stream, ts, bytes, batch, i, i + m);
      this.nextSeq += m;
      i += m;
      this.evictToLimits();
    }
    let payloadSum = 0;
    for (let i = 0; i < n; i++) payloadSum += batch.payload[i];
    const entry = this.sessionEntry(stream.session);
    // spies see PUB traffic: counted by topic, like append() does
    if (stream.source !== undefined && stream.source !== 'tap') {
      for (let i = 0; i < n; i++) entry.topics.countWire(bytes, batch.start[i], batch.frames[i], batch.payload[i], ts);
    }
    this.totalRecords += n;
    this.countMessages(entry, stream.endpoint, ts, n, payloadSum);
    this.scheduleAppended(this.nextSeq - 1);
    return this.nextSeq - 1;
  }

  /** A source reports `n` messages it knows were lost before reaching the capture. */
  reportDropped(session: string, n: number): void {
    if (n <= 0) return;
    this.droppedMessages += n;
    this.sessionEntry(session).counters.dropped += n;
    this.scheduleAppended(this.nextSeq - 1);
  }

  stats(now = Date.now()): CaptureStats {
    return {
      retained: this.store.size,
      retainedBytes: this.bytes,
      total: this.totalRecords,
      totalMessages: this.totalMessages,
      evicted: this.evictedRecords,
      evictedBytes: this.evictedBytes,
      dropped: this.droppedMessages,
      firstSeq: this.store.oldestSeq,
      lastSeq: this.nextSeq - 1,
      rate: this.totalRate.rate(now),
    };
  }

  /**
   * What the record store holds besides records (for tests and the bench): metadata entries,
   * chunks, chunk buffers allocated so far, chunks taken over from a cleared or disposed capture;
   * the ring's slots, and rings taken over likewise.
   */
  storeStats(): { metaEntries: number; chunks: number; spareChunks: number; allocatedChunks: number; reusedChunks: number; ringSlots: number; reusedRings: number } {
    const c = this.store.chunkCount;
    return { metaEntries: this.store.metaEntries, chunks: c.live, spareChunks: c.spare, allocatedChunks: c.allocated, reusedChunks: c.reused, ringSlots: c.ringSlots, reusedRings: c.reusedRings };
  }

  /** Counters of one session (undefined when it produced nothing yet). */
  session(id: string, now = Date.now()): Readonly<SessionCounters> | undefined {
    const e = this.sessions.get(id);
    if (!e) return undefined;
    e.counters.rate = e.meter.rate(now);
    return e.counters;
  }

  sessionIds(): string[] {
    return [...this.sessions.keys()];
  }

  /**
   * The retained record with sequence number `seq`, if still retained. Packed
   * records are rebuilt on each call: equal, not identical, objects; their frames
   * are views into the capture's memory that never change, however long they are
   * held (see recordStore.ts).
   */
  get(seq: number): CaptureRecord | undefined {
    // seqs are dense within the window, so the index is direct
    return this.store.size ? this.store.at(seq - this.store.oldestSeq) : undefined;
  }

  /**
   * Retained records with seq > afterSeq, oldest first: at most `max`, and fewer
   * once they hold READ_FRAMES_BUDGET frames (at least one record), so read until
   * an empty batch. Each frame read is an object: a batch of 1,024 messages of
   * 10,000 tiny frames each rebuilt ten million of them (a tap peaked at 1 GiB).
   */
  since(afterSeq: number, max = Infinity): CaptureRecord[] {
    return this.read(afterSeq, max, false);
  }

  /**
   * Like get(), for a reader that only looks: the record's frames are views of
   * memory the capture reuses once it grows again, so they are valid until this
   * turn of the event loop ends. Use them before yielding and copy what is kept
   * (copyBytes). It lets the capture recycle that memory instead of allocating
   * afresh as fast as it is read (see recordStore.ts).
   */
  peek(seq: number): CaptureRecord | undefined {
    return this.store.size ? this.store.at(seq - this.store.oldestSeq, true) : undefined;
  }

  /**
   * The fields of record `seq` without its bytes, written into `out` (reused by
   * a scan: nothing is allocated). Valid until `out` is written again.
   */
  peekHeader(seq: number, out: RecordHeader): RecordHeader | undefined {
    return this.store.size ? this.store.headerAt(seq - this.store.oldestSeq, out) : undefined;
  }

  /**
   * Where the frames of record `seq` lie in the capture's memory, written into
   * `out`, when it is a packed message: returns its metadata entry (≥ 0; two
   * records with the same one differ only in ts, bytes and frames, until this
   * turn of the event loop ends), else -1 (read it with peek()). Lent as peek()
   * lends: valid until this turn of the event loop ends.
   */
  peekFrameSpans(seq: number, out: FrameSpans): number {
    return this.store.size ? this.store.frameSpansAt(seq - this.store.oldestSeq, out) : -1;
  }

  /** Where the bytes of packed message `seq` lie (RecordStore.packedBytesAt), lent as peekFrameSpans() lends; -1: not packed. */
  peekPackedBytes(seq: number, out: FrameSpans): number {
    return this.store.size ? this.store.packedBytesAt(seq - this.store.oldestSeq, out) : -1;
  }

  /** The first seq in [seq, endSeq] a scan for bytes must look at (RecordStore.nextToScan), or endSeq + 1. */
  nextToScan(seq: number, endSeq: number, buf: Buffer, meta: number, before: number): number {
    const first = this.store.oldestSeq;
    return this.store.size ? first + this.store.nextToScan(seq - first, endSeq - first, buf, meta, before) : endSeq + 1;
  }

  /** since(), lent as peek() lends. */
  peekSince(afterSeq: number, max = Infinity): CaptureRecord[] {
    return this.read(afterSeq, max, true);
  }

  private read(afterSeq: number, max: number, lent: boolean): CaptureRecord[] {
    const out: CaptureRecord[] = [];
    const n = this.store.size;
    if (!n) return out;
    let frames = 0;
    for (let i = Math.max(0, afterSeq + 1 - this.store.oldestSeq); i < n && out.length < max && frames < READ_FRAMES_BUDGET; i++) {
      const r = this.store.at(i, lent)!;
      if (r.kind === 'message') frames += r.frames.length;
      out.push(r);
    }
    return out;
  }

  /** Iterates retained records, oldest first. */
  *records(): IterableIterator<CaptureRecord> {
    const n = this.store.size;
    for (let i = 0; i < n; i++) yield this.store.at(i)!;
  }

  /** Forgets every record and counter. */
  clear(): void {
    this.store.clear();
    this.bytes = 0;
    this.totalRecords = 0;
    this.totalMessages = 0;
    this.evictedRecords = 0;
    this.evictedBytes = 0;
    this.droppedMessages = 0;
    this.sessions.clear();
    this.last = undefined;
    this.pendingFrom = 0;
    this.onDidClearEmitter.fire();
  }

  dispose(): void {
    this.onDidAppendEmitter.dispose();
    this.onDidClearEmitter.dispose();
    this.store.clear();
  }

  private evictToLimits(): void {
    while (this.store.size > 0 && (this.store.size > this.limits.maxRecords || this.bytes > this.limits.maxBytes)) this.evictOldest();
  }

  /** Evicts the `n` oldest records (none when n ≤ 0), a run of one stream's messages at a time. */
  private evictOldest(n = 1): void {
    while (n > 0) {
      const gone = this.store.shiftRun(n);
      this.bytes -= gone.retainedBytes;
      this.evictedRecords += gone.count;
      this.evictedBytes += gone.retainedBytes;
      if (gone.kind === 'message') this.sessionEntry(gone.session).counters.evicted += gone.count;
      n -= gone.count;
    }
  }

  private sessionEntry(id: string): SessionEntry {
    const last = this.last;
    if (last && last.id === id) return last;
    let e = this.sessions.get(id);
    if (!e) {
      const topics = new TopicCounter(MAX_TOPICS_PER_SESSION, (t, cut) => topicKey(t) + (cut ? '…' : ''));
      const counters: SessionCounters = { messages: 0, bytes: 0, lastTs: 0, others: 0, evicted: 0, dropped: 0, topics: topics.byName, endpoints: new Map(), rate: 0 };
      e = { id, counters, meter: new RateMeter(), topics };
      this.sessions.set(id, e);
    }
    this.last = e;
    return e;
  }

  private count(r: CaptureRecord, size: number): void {
    const e = this.sessionEntry(r.session ?? r.endpoint);
    if (r.kind !== 'message') {
      e.counters.lastTs = r.ts;
      e.counters.others++;
      return;
    }
    this.countMessages(e, r.endpoint, r.ts, 1, size);
    if (r.source !== 'tap') {
      // spies and monitors see PUB traffic: count by topic
      e.topics.count(r.frames, r.envelopeFrames ?? 0, size, r.ts);
    }
  }

  /** Counts `n` messages of `size` bytes in all, at `now`, from one session and endpoint. */
  private countMessages(e: SessionEntry, endpoint: string, now: number, n: number, size: number): void {
    const c = e.counters;
    c.lastTs = now;
    this.totalMessages += n;
    c.messages += n;
    c.bytes += size;
    this.totalRate.hit(now, n);
    e.meter.hit(now, n);
    // the same endpoint as the session's previous message, most of the time
    let ec = e.lastEndpoint === endpoint ? e.lastEndpointCounter : undefined;
    if (!ec) {
      ec = c.endpoints.get(endpoint);
      if (!ec) c.endpoints.set(endpoint, (ec = { messages: 0, bytes: 0, lastTs: 0 }));
      e.lastEndpoint = endpoint;
      e.lastEndpointCounter = ec;
    }
    ec.messages += n;
    ec.bytes += size;
    ec.lastTs = now;
  }

  private scheduleAppended(seq: number): void {
    if (this.onDidAppendEmitter.listenerCount === 0) return;
    if (!this.pendingFrom) this.pendingFrom = seq;
    this.pendingTo = seq;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const e = { fromSeq: this.pendingFrom, toSeq: this.pendingTo };
      this.pendingFrom = 0;
      if (e.fromSeq) this.onDidAppendEmitter.fire(e);
    });
  }
}

function validateLimits(l: CaptureLimits): void {
  if (!(Number.isInteger(l.maxRecords) && l.maxRecords >= 1)) throw new RangeError(`capture limit maxRecords must be a whole number ≥ 1 (got ${l.maxRecords})`);
  if (!(Number.isFinite(l.maxBytes) && l.maxBytes >= 1)) throw new RangeError(`capture limit maxBytes must be ≥ 1 (got ${l.maxBytes})`);
}
