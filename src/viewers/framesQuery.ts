/**
 * The frames viewer's query model, in the extension host: filters the capture's
 * records (frameFilter.ts) and keeps the seqs of the matching ones in an index
 * that is updated incrementally as records are appended and evicted. The
 * webview never sees the whole capture: it asks for the window of rows it shows
 * (small row summaries, recordRows.ts) and for the detail of the selected record.
 *
 * Rows are numbered absolutely: row `base + i` is the i-th entry of the index,
 * where `base` counts the rows that left the head (evicted) since the last reset.
 * A position the view holds stays valid while old rows disappear.
 */
import type { Capture } from '../core/capture/capture';
import { topicKey } from '../core/capture/capture';
import { CaptureRecord, CapturedMessage, payloadBytes, RecordHeader } from '../core/capture/records';
import { asBuffer } from '../core/base/bytes';
import { DecodeResult } from '../core/decoders/decoder';
import { DecoderRules } from '../core/decoders/rules';
import { DEFAULT_FILTER, FrameFilter, RecordDetail, RecordDiff, RowSummary, SeenProcess, SeenSocket } from '../shared/protocol/frames';
import { newFrameSpans } from '../core/capture/recordStore';
import { compileFilter, FilterError, Predicate, timelineFilter } from './frameFilter';
import { compileFrameTextScan, FrameTextScan } from './frameTextScan';
import { detailOf, envelopeOf, evictedRow, summarize, viewValue } from './recordRows';
import { diffFrames, diffValues } from './recordDiff';
import { SeenChoices } from './seenChoices';
import { SeqIndex } from './seqIndex';
import { Timeline } from './timeline';

// the filter's compiler lives in frameFilter.ts; the CLI reads it from here
export { compileFilter, FilterError } from './frameFilter';

/** How far back the detail looks for the previous message on the same topic. */
const DIFF_LOOKBACK = 10_000;

/** What the timeline counts (its session and topic): a rescan for another text or field filter keeps its counts. */
const timelineKeyOf = (f: FrameFilter) => JSON.stringify([f.session, f.topicPrefix]);

export interface UpdateResult {
  /** Rows that match among the newly scanned records. */
  added: number;
  /** Rows that left the head since the previous update (evicted from the capture). */
  removed: number;
  /** Records not scanned yet (the update stopped at `maxRecords` or `upTo`). */
  pending: number;
}

export class FramesQuery {
  private filterSpec: FrameFilter = { ...DEFAULT_FILTER, kinds: [...DEFAULT_FILTER.kinds] };
  private predicate: Predicate | undefined;
  /**
   * The filter's text test over a packed message's bytes (exactly the
   * predicate's text test), and the rest of the filter, which then sees only
   * the messages it passes (undefined: nothing else to test, no record built).
   */
  private textScan: FrameTextScan | undefined;
  private restPredicate: Predicate | undefined;
  private readonly spans = newFrameSpans();
  private readonly index = new SeqIndex();
  // With no filter every retained record matches: the index is the seq range [allFrom, scanned].
  private allFrom = 1;
  private scanned = 0;
  private baseRows = 0;
  private readonly seen = new SeenChoices();
  private decoderRules: DecoderRules | undefined;
  private timelineTest: Predicate = timelineFilter(DEFAULT_FILTER);
  /** The timeline's session when headers are enough to count it (no topic in the filter), else false. */
  private timelineSession: string | undefined | false = DEFAULT_FILTER.topicPrefix ? false : DEFAULT_FILTER.session;
  /** Reused by the scan (Capture.peekHeader). */
  private readonly header: RecordHeader = { kind: 'message', seq: 0, ts: 0, bytes: 0 };
  /** Message and byte rates of the filter's session and topic, kept up to date by the scan. */
  readonly timeline = new Timeline();
  /** The newest seq the timeline counted, and what it counts. */
  private timelineSeq = 0;
  private timelineKey = timelineKeyOf(DEFAULT_FILTER);

  constructor(private capture: Capture) {}

  get decoders(): DecoderRules | undefined {
    return this.decoderRules;
  }

  /**
   * Sets which decoders read which messages (rows, detail, the decoded-field
   * filter) and rescans (now, or through `update()` when `scan` is false).
   * Throws FilterError, keeping the rules, when the filter cannot work with them.
   */
  setDecoders(rules: DecoderRules | undefined, scan = true): void {
    this.decoderRules = rules;
    try {
      this.compile(this.filterSpec);
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      // the decoded-field part cannot work without its decoder: drop it, say why
      this.filterSpec = { ...this.filterSpec, decoded: '' };
      this.compile(this.filterSpec);
      this.reset(scan);
      throw e;
    }
    this.reset(scan);
  }

  /** Compiles `filter` with the decoders in force (throws FilterError, changing nothing, when it is invalid). */
  private compile(filter: FrameFilter): void {
    const predicate = compileFilter(filter, this.decoderRules);
    const textScan = predicate ? compileFrameTextScan(filter) : undefined;
    this.restPredicate = textScan ? compileFilter({ ...filter, text: '' }, this.decoderRules) : undefined;
    this.predicate = predicate;
    this.textScan = textScan;
  }

  private resetTimeline(): void {
    this.timeline.clear();
    this.timelineSeq = 0;
  }

  /** The decode result of a message by the rules in force (undefined when none applies). */
  decode(r: CaptureRecord): DecodeResult | undefined {
    return r.kind === 'message' ? this.decoderRules?.decode(r) : undefined;
  }

  get filter(): FrameFilter {
    return { ...this.filterSpec, kinds: [...this.filterSpec.kinds] };
  }

  /** Rows that left the head since the last reset; row numbers start here. */
  get base(): number {
    return this.baseRows;
  }

  /** Rows that match (as of the last update). */
  get shown(): number {
    return this.predicate ? this.index.length : Math.max(0, this.scanned - this.allFrom + 1);
  }

  /** Socket types seen in scanned messages (ours and peers'). */
  get socketTypes(): string[] {
    return this.seen.socketTypes;
  }

  /** Programs seen in scanned agent records, by pid. */
  get processes(): SeenProcess[] {
    return this.seen.processes;
  }

  /** Sockets seen in scanned agent records, in the order of their ids (`<pid>.<n>`, numerically). */
  get sockets(): SeenSocket[] {
    return this.seen.sockets;
  }

  /** Switches to another capture (an imported file, or back to live) and rescans (now, or through `update()` when `scan` is false). */
  setCapture(capture: Capture, scan = true): void {
    this.capture = capture;
    this.resetTimeline();
    this.reset(scan);
  }

  /**
   * Sets the filter and rescans every retained record (now, or in slices through
   * `update(maxRecords)` when `scan` is false). Throws FilterError (and keeps the
   * old filter) when invalid.
   */
  setFilter(filter: FrameFilter, scan = true): void {
    this.compile(filter);
    this.filterSpec = { ...filter, kinds: [...filter.kinds] };
    const key = timelineKeyOf(filter);
    if (key !== this.timelineKey) {
      this.timelineKey = key;
      this.timelineTest = timelineFilter(filter);
      this.timelineSession = filter.topicPrefix ? false : filter.session;
      this.resetTimeline();
    }
    this.reset(scan);
  }

  /** Forgets the index and rescans (after a clear, an import, a new filter). */
  reset(scan = true): void {
    this.index.clear();
    this.scanned = 0;
    this.baseRows = 0;
    this.seen.clear();
    const stats = this.capture.stats();
    // what left the capture (a clear, evictions) leaves the timeline
    if (!stats.retained || stats.lastSeq < this.timelineSeq) this.resetTimeline();
    else this.timeline.prune(this.oldestTs(stats.firstSeq));
    this.allFrom = stats.firstSeq || stats.lastSeq + 1;
    this.scanned = this.allFrom - 1;
    if (scan) this.update();
  }

  /**
   * Scans records appended since the last update (at most `maxRecords` of them,
   * none after seq `upTo`: a paused view) and drops evicted ones from the head.
   */
  update(maxRecords = Infinity, upTo = Infinity): UpdateResult {
    const { firstSeq, lastSeq, retained } = this.capture.stats();
    const first = retained ? firstSeq : lastSeq + 1;
    const removed = this.dropEvicted(first, retained > 0);
    const last = Math.min(lastSeq, upTo);
    const from = Math.max(this.scanned + 1, first);
    const end = Math.min(last, from + maxRecords - 1);
    const added = !this.predicate && this.timelineSession !== false ? this.scanHeaders(from, end) : this.textScan ? this.scanText(from, end) : this.scanRecords(from, end);
    if (end >= from) {
      this.scanned = end;
      if (end > this.timelineSeq) this.timelineSeq = end;
    }
    return { added, removed, pending: Math.max(0, last - Math.max(this.scanned, first - 1)) };
  }

  /** Drops the rows of records the capture evicted (older than `first`); returns how many. */
  private dropEvicted(first: number, retained: boolean): number {
    let removed: number;
    if (this.predicate) removed = this.index.pruneBelow(first);
    else {
      const from = Math.max(this.allFrom, first);
      removed = Math.max(0, Math.min(from, this.scanned + 1) - this.allFrom);
      this.allFrom = from;
    }
    this.baseRows += removed;
    if (removed && retained) this.timeline.prune(this.oldestTs(first));
    return removed;
  }

  /**
   * The time of record `seq` (the oldest retained), read from its header: building the
   * record would mark its chunk as viewed, and a viewed chunk is never recycled (see
   * RecordStore.at), so each scan of a flood would cost the store a fresh 1 MiB chunk.
   */
  private oldestTs(seq: number): number {
    return this.capture.peekHeader(seq, this.header)?.ts ?? 0;
  }

  /** No filter and a timeline of a session at most: headers are enough, no frames are built. */
  private scanHeaders(from: number, end: number): number {
    const session = this.timelineSession;
    const h = this.header;
    // the timeline gets a run of messages with one ts (the spy appends a read's messages so) at once
    let runTs = 0;
    let runN = 0;
    let runBytes = 0;
    for (let seq = from; seq <= end; seq++) {
      const r = this.capture.peekHeader(seq, h)!;
      this.seen.add(r);
      if (r.kind !== 'message' || seq <= this.timelineSeq || (session && (r.session ?? r.endpoint) !== session)) continue;
      if (r.ts !== runTs) {
        if (runN) this.timeline.add(runTs, runBytes, runN);
        runTs = r.ts;
        runN = runBytes = 0;
      }
      runN++;
      runBytes += r.bytes;
    }
    if (runN) this.timeline.add(runTs, runBytes, runN);
    return Math.max(0, end - from + 1);
  }

  /** Every record built (lent, see Capture.peek: the scan keeps seqs and strings, never bytes) and given to the predicate. */
  private scanRecords(from: number, end: number): number {
    const p = this.predicate;
    let added = 0;
    for (let seq = from; seq <= end; seq++) {
      const r = this.capture.peek(seq)!;
      this.scanRecord(seq, r);
      if (!p) added++;
      else if (p(r)) {
        this.index.push(seq);
        added++;
      }
    }
    return added;
  }

  /** What the scan notes of every record: the drop-downs' choices, the timeline. */
  private scanRecord(seq: number, r: CaptureRecord): void {
    this.seen.add(r);
    if (r.kind === 'message' && seq > this.timelineSeq && this.timelineTest(r)) this.timeline.add(r.ts, payloadBytes(r));
  }

  /**
   * A text filter: a packed message's bytes are searched where they lie
   * (frameTextScan.ts), and only one that passes is built, for the rest of
   * the filter (if any). Records kept as objects go through the predicate.
   */
  private scanText(from: number, end: number): number {
    const textScan = this.textScan!;
    const rest = this.restPredicate;
    const spans = this.spans;
    const capture = this.capture;
    // records the timeline counted already: the ones a scan may pass over without looking
    const counted = Math.min(end, this.timelineSeq);
    let added = 0;
    textScan.begin();
    // the metadata entry of the previous packed message: the same one, nothing new to see
    let lastMeta = -1;
    for (let seq = from; seq <= end; ) {
      const meta = capture.peekPackedBytes(seq, spans);
      if (meta < 0) {
        // as the full scan does (and the next packed one is seen again: seen.add
        // keeps the last program name of a pid, so what came between matters)
        const r = capture.peek(seq)!;
        this.scanRecord(seq, r);
        lastMeta = -1;
        if (this.predicate!(r)) {
          this.index.push(seq);
          added++;
        }
        seq++;
        continue;
      }
      if (meta !== lastMeta || seq > counted) this.scanPackedHeader(seq, meta !== lastMeta);
      lastMeta = meta;
      if (textScan.mayHold(spans.buf, spans.from, spans.to)) {
        capture.peekFrameSpans(seq, spans);
        if (textScan.test(spans) && (!rest || rest(capture.peek(seq)!))) {
          this.index.push(seq);
          added++;
        }
      }
      seq++;
      // the messages of this stream that end before the next place the text may be: passed over
      const before = seq <= counted ? textScan.clearUntil(spans.buf) : -1;
      if (before >= 0) seq = capture.nextToScan(seq, counted, spans.buf, meta, before);
    }
    return added;
  }

  /** A packed message's header for the drop-downs (when its stream is new to the scan) and the timeline (when not counted yet). */
  private scanPackedHeader(seq: number, newMeta: boolean): void {
    const hd = this.capture.peekHeader(seq, this.header)!;
    if (newMeta) this.seen.add(hd);
    if (seq <= this.timelineSeq) return;
    const session = this.timelineSession;
    if (session === false) {
      const r = this.capture.peek(seq)!;
      if (this.timelineTest(r)) this.timeline.add(r.ts, payloadBytes(r));
    } else if (!session || (hd.session ?? hd.endpoint) === session) this.timeline.add(hd.ts, hd.bytes);
  }

  /** Seq of absolute row `row` (undefined when out of range). */
  seqAt(row: number): number | undefined {
    const i = row - this.baseRows;
    if (i < 0 || i >= this.shown) return undefined;
    return this.predicate ? this.index.at(i) : this.allFrom + i;
  }

  /** Row summaries for absolute rows [start, start+count), clamped to what exists. */
  rows(start: number, count: number): { start: number; rows: RowSummary[] } {
    const first = Math.max(start, this.baseRows);
    const end = Math.min(start + count, this.baseRows + this.shown);
    const rows: RowSummary[] = [];
    for (let row = first; row < end; row++) {
      const seq = this.seqAt(row)!;
      const r = this.capture.peek(seq);
      rows.push(r ? summarize(r, this.decoderRules) : evictedRow(seq));
    }
    return { start: first, rows };
  }

  /** The last `count` rows (what a view pinned to the newest shows). */
  tail(count: number): { start: number; rows: RowSummary[] } {
    return this.rows(Math.max(this.baseRows, this.baseRows + this.shown - count), count);
  }

  /** Matching records that are still retained, oldest first. */
  *matching(): IterableIterator<CaptureRecord> {
    for (let i = 0; i < this.shown; i++) {
      const r = this.capture.get(this.predicate ? this.index.at(i) : this.allFrom + i);
      if (r) yield r;
    }
  }

  /** A record's detail: fields, frames and, for a message a decoder reads, its decoded value and the diff with the previous one on its topic. */
  detail(seq: number): RecordDetail | undefined {
    const r = this.capture.get(seq);
    if (!r) return undefined;
    const d = detailOf(r);
    if (r.kind !== 'message') return d;
    const res = this.decode(r);
    if (res?.ok) d.decoded = res.topic !== undefined ? { decoder: res.decoder, value: viewValue(res.value), topic: res.topic } : { decoder: res.decoder, value: viewValue(res.value) };
    else if (res) d.decodeError = `${res.decoder}: ${res.error}`;
    d.diff = this.diffWithPrevious(r, res);
    return d;
  }

  /** The previous retained message of the same session on the same topic (looking back at most DIFF_LOOKBACK records). */
  private diffWithPrevious(r: CapturedMessage, res: DecodeResult | undefined): RecordDiff {
    const topic = (m: CapturedMessage, dr: DecodeResult | undefined) => (dr?.ok && dr.topic !== undefined ? dr.topic : topicKey(m.frames[envelopeOf(m)]));
    const mine = topic(r, res);
    const session = r.session ?? r.endpoint;
    const stop = Math.max(this.capture.stats().firstSeq, r.seq - DIFF_LOOKBACK);
    for (let seq = r.seq - 1; seq >= stop && seq > 0; seq--) {
      // lent, as oldestTs reads: nothing of the candidates is kept (the diff is text), and a built record's chunk is never recycled
      const p = this.capture.peek(seq);
      if (!p || p.kind !== 'message' || (p.session ?? p.endpoint) !== session) continue;
      // a decoder naming topics (Jupyter's msg_type) is asked; else the first body frame is compared
      const pres = res?.ok && res.topic !== undefined ? this.decode(p) : undefined;
      if (topic(p, pres) !== mine) continue;
      const before = pres ?? this.decode(p);
      if (res?.ok && before?.ok) return { previousSeq: seq, on: 'decoded', ...diffValues(before.value, res.value) };
      return { previousSeq: seq, on: 'bytes', ...diffFrames(p.frames, r.frames) };
    }
    return { changes: [], note: `No earlier message on topic "${mine}" from ${session} is retained (looked back ${r.seq - stop} records).` };
  }

  /** One frame of a message as text (UTF-8), hex or base64, whole (not cut). */
  frameAs(seq: number, index: number, as: 'text' | 'hex' | 'base64'): string {
    const r = this.capture.get(seq);
    if (!r) throw new Error(`Record #${seq} is no longer in the capture (evicted or cleared)`);
    if (r.kind !== 'message') throw new Error(`Record #${seq} is a ${r.kind}, not a message`);
    const f = r.frames[index];
    if (!f) throw new Error(`Message #${seq} has no frame ${index}`);
    return asBuffer(f).toString(as === 'text' ? 'utf8' : as);
  }
}
