/**
 * The capture: the one place that owns captured records. A bounded window (by
 * record count and by payload bytes) that counts everything it evicts, keeps
 * counters and rates per session, endpoint and topic, and tells listeners at most
 * once per tick that records were appended (never once per message).
 */
import { Disposable, Emitter, Event } from './lifecycle';
import { CaptureRecord, payloadBytes } from './records';

export interface CaptureLimits {
  /** Most records retained; older ones are evicted (and counted). */
  maxRecords: number;
  /** Most payload bytes retained. */
  maxBytes: number;
}

export const DEFAULT_LIMITS: CaptureLimits = { maxRecords: 100_000, maxBytes: 256 * 1024 * 1024 };

/** Distinct topics tracked per session; further topics are counted under OTHER_TOPICS. */
const MAX_TOPICS_PER_SESSION = 1000;
export const OTHER_TOPICS = '(other topics)';
/** Topic keys are the first frame, cut to this many bytes. */
const TOPIC_KEY_BYTES = 64;

export interface Counter {
  messages: number;
  bytes: number;
  lastTs: number;
}

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
  retainedBytes: number;
  /** Every record ever appended (since the last clear). */
  total: number;
  totalMessages: number;
  /** Records evicted to stay within the limits. */
  evicted: number;
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
  const s = printable ? String.fromCharCode(...cut) : '0x' + Buffer.from(cut.buffer, cut.byteOffset, cut.byteLength).toString('hex');
  return frame.byteLength > TOPIC_KEY_BYTES ? s + '…' : s;
}

class RateMeter {
  private second = 0;
  private countThisSecond = 0;
  private countLastSecond = 0;

  hit(nowMs: number): void {
    const s = Math.floor(nowMs / 1000);
    if (s !== this.second) {
      this.countLastSecond = s === this.second + 1 ? this.countThisSecond : 0;
      this.second = s;
      this.countThisSecond = 0;
    }
    this.countThisSecond++;
  }

  /** Messages in the last full second (0 when that second had none). */
  rate(nowMs: number): number {
    const s = Math.floor(nowMs / 1000);
    if (s === this.second) return this.countLastSecond;
    if (s === this.second + 1) return this.countThisSecond;
    return 0;
  }
}

export class Capture implements Disposable {
  private limits: CaptureLimits;
  // A ring of records: `ring[(head + i) % ring.length]` for i in [0, size).
  private ring: (CaptureRecord | undefined)[] = [];
  private head = 0;
  private size = 0;
  private bytes = 0;
  private nextSeq = 1;
  private totalRecords = 0;
  private totalMessages = 0;
  private evictedRecords = 0;
  private evictedBytes = 0;
  private droppedMessages = 0;
  private readonly sessions = new Map<string, SessionCounters>();
  private readonly sessionRates = new Map<string, RateMeter>();
  private readonly totalRate = new RateMeter();

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
    this.push(record);
    this.bytes += size;
    this.totalRecords++;
    this.count(record, size);
    this.evictToLimits();
    this.scheduleAppended(record.seq);
    return record;
  }

  /** A source reports `n` messages it knows were lost before reaching the capture. */
  reportDropped(session: string, n: number): void {
    if (n <= 0) return;
    this.droppedMessages += n;
    this.sessionCounters(session).dropped += n;
    this.scheduleAppended(this.nextSeq - 1);
  }

  stats(now = Date.now()): CaptureStats {
    return {
      retained: this.size,
      retainedBytes: this.bytes,
      total: this.totalRecords,
      totalMessages: this.totalMessages,
      evicted: this.evictedRecords,
      evictedBytes: this.evictedBytes,
      dropped: this.droppedMessages,
      firstSeq: this.size ? this.at(0)!.seq : 0,
      lastSeq: this.nextSeq - 1,
      rate: this.totalRate.rate(now),
    };
  }

  /** Counters of one session (undefined when it produced nothing yet). */
  session(id: string, now = Date.now()): Readonly<SessionCounters> | undefined {
    const c = this.sessions.get(id);
    if (c) c.rate = this.sessionRates.get(id)?.rate(now) ?? 0;
    return c;
  }

  sessionIds(): string[] {
    return [...this.sessions.keys()];
  }

  /** The retained record with sequence number `seq`, if still retained. */
  get(seq: number): CaptureRecord | undefined {
    if (!this.size) return undefined;
    const first = this.at(0)!.seq;
    const i = seq - first;
    // seqs are dense within the window, so the index is direct
    if (i < 0 || i >= this.size) return undefined;
    return this.at(i);
  }

  /** Retained records with seq > afterSeq, oldest first (at most `max`). */
  since(afterSeq: number, max = Infinity): CaptureRecord[] {
    const out: CaptureRecord[] = [];
    if (!this.size) return out;
    const first = this.at(0)!.seq;
    let i = Math.max(0, afterSeq + 1 - first);
    for (; i < this.size && out.length < max; i++) out.push(this.at(i)!);
    return out;
  }

  /** Iterates retained records, oldest first. */
  *records(): IterableIterator<CaptureRecord> {
    for (let i = 0; i < this.size; i++) yield this.at(i)!;
  }

  /** Forgets every record and counter. */
  clear(): void {
    this.ring = [];
    this.head = 0;
    this.size = 0;
    this.bytes = 0;
    this.totalRecords = 0;
    this.totalMessages = 0;
    this.evictedRecords = 0;
    this.evictedBytes = 0;
    this.droppedMessages = 0;
    this.sessions.clear();
    this.sessionRates.clear();
    this.pendingFrom = 0;
    this.onDidClearEmitter.fire();
  }

  dispose(): void {
    this.onDidAppendEmitter.dispose();
    this.onDidClearEmitter.dispose();
    this.ring = [];
    this.size = 0;
  }

  private at(i: number): CaptureRecord | undefined {
    return this.ring[(this.head + i) % this.ring.length];
  }

  private push(record: CaptureRecord): void {
    if (this.size === this.ring.length) {
      // grow (up to the record limit) by re-linearising; amortised O(1)
      const cap = Math.min(Math.max(16, this.ring.length * 2), Math.max(this.limits.maxRecords + 1, 16));
      if (cap > this.ring.length) {
        const next = new Array<CaptureRecord | undefined>(cap);
        for (let i = 0; i < this.size; i++) next[i] = this.at(i);
        this.ring = next;
        this.head = 0;
      } else {
        // full at the record limit: the oldest goes (counted by evictOldest)
        this.evictOldest();
      }
    }
    this.ring[(this.head + this.size) % this.ring.length] = record;
    this.size++;
  }

  private evictToLimits(): void {
    while (this.size > 0 && (this.size > this.limits.maxRecords || this.bytes > this.limits.maxBytes)) this.evictOldest();
  }

  private evictOldest(): void {
    const r = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.size--;
    const size = payloadBytes(r);
    this.bytes -= size;
    this.evictedRecords++;
    this.evictedBytes += size;
    if (r.kind === 'message') this.sessionCounters(r.session ?? r.endpoint).evicted++;
  }

  private sessionCounters(id: string): SessionCounters {
    let c = this.sessions.get(id);
    if (!c) {
      c = { messages: 0, bytes: 0, lastTs: 0, others: 0, evicted: 0, dropped: 0, topics: new Map(), endpoints: new Map(), rate: 0 };
      this.sessions.set(id, c);
      this.sessionRates.set(id, new RateMeter());
    }
    return c;
  }

  private count(r: CaptureRecord, size: number): void {
    const id = r.session ?? r.endpoint;
    const c = this.sessionCounters(id);
    c.lastTs = r.ts;
    if (r.kind !== 'message') {
      c.others++;
      return;
    }
    this.totalMessages++;
    c.messages++;
    c.bytes += size;
    const now = r.ts;
    this.totalRate.hit(now);
    this.sessionRates.get(id)!.hit(now);
    bump(c.endpoints, r.endpoint, size, now);
    if (r.source !== 'tap') {
      // spies and monitors see PUB traffic: the topic is the first body frame
      const key = topicKey(r.frames[r.envelopeFrames ?? 0]);
      bump(c.topics, c.topics.has(key) || c.topics.size < MAX_TOPICS_PER_SESSION ? key : OTHER_TOPICS, size, now);
    }
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

function bump(map: Map<string, Counter>, key: string, size: number, ts: number): void {
  const c = map.get(key);
  if (c) {
    c.messages++;
    c.bytes += size;
    c.lastTs = ts;
  } else map.set(key, { messages: 1, bytes: size, lastTs: ts });
}

function validateLimits(l: CaptureLimits): void {
  if (!(Number.isInteger(l.maxRecords) && l.maxRecords >= 1)) throw new RangeError(`capture limit maxRecords must be a whole number ≥ 1 (got ${l.maxRecords})`);
  if (!(Number.isFinite(l.maxBytes) && l.maxBytes >= 1)) throw new RangeError(`capture limit maxBytes must be ≥ 1 (got ${l.maxBytes})`);
}
