/**
 * The frames viewer's query model, in the extension host: filters the capture's
 * records (text or regex over every frame, topic prefix, direction, session,
 * socket type, kind) and keeps the seqs of the matching ones in an index that is
 * updated incrementally as records are appended and evicted. The webview never
 * sees the whole capture: it asks for the window of rows it shows (small row
 * summaries made here) and for the detail of the selected record.
 *
 * Rows are numbered absolutely: row `base + i` is the i-th entry of the index,
 * where `base` counts the rows that left the head (evicted) since the last reset.
 * A position the view holds stays valid while old rows disappear.
 */
import { Buffer } from 'node:buffer';
import type { Capture } from '../core/capture/capture';
import { topicKey } from '../core/capture/capture';
import { agentRecordText, formatFrame } from '../core/capture/recordText';
import { CaptureRecord, CapturedMessage, payloadBytes, RecordHeader } from '../core/capture/records';
import { parseTopic } from '../core/zmq/topics';
import { asBuffer } from '../core/base/bytes';
import { DecodeResult, Decoder } from '../core/decoders/decoder';
import { compileFieldQuery } from '../core/decoders/fieldQuery';
import { framesMayHold } from '../core/decoders/prefilter';
import { DecoderRules } from '../core/decoders/rules';
import { DEFAULT_FILTER, DETAIL_BYTES_MAX, FrameDetail, FrameFilter, RecordDetail, RecordDiff, RecordKind, RowSummary, SeenProcess, SeenSocket } from '../shared/protocol/frames';
import { newFrameSpans } from '../core/capture/recordStore';
import { compileFrameTextScan, FrameTextScan } from './frameTextScan';
import { diffFrames, diffValues } from './recordDiff';
import { Timeline } from './timeline';

export class FilterError extends Error {}

type Predicate = (r: CaptureRecord) => boolean;

const PREVIEW_MAX = 200;
/** Most programs and sockets the filter's drop-downs list. */
const SEEN_MAX = 1000;

/** Number of leading envelope frames of a message (0 when unknown). */
function envelopeOf(m: CapturedMessage): number {
  const n = m.envelopeFrames ?? 0;
  return n > 0 && n <= m.frames.length ? n : 0;
}

/** Human text of a non-message record, searched by the text filter and shown as its preview. */
export function describeRecord(r: CaptureRecord): string {
  switch (r.kind) {
    case 'message':
      return r.frames.map((f) => formatFrame(f, 60)).join(' | ');
    case 'event':
      return `${r.type}${r.address ? ` ${r.address}` : ''}${r.interval !== undefined ? ` (retry in ${r.interval} ms)` : ''}${r.error ? `: ${r.error}` : ''}`;
    case 'greeting':
      return `greeting ZMTP ${r.version} ${r.mechanism}${r.asServer ? ' as-server' : ''} #${r.connection}`;
    case 'command': {
      const props = r.properties ? ' ' + Object.entries(r.properties).map(([k, v]) => `${k}=${formatFrame(v, 40)}`).join(' ') : '';
      const topic = r.topic !== undefined ? ` topic=${formatFrame(r.topic, 40)}` : '';
      return `${r.name}${props}${topic}${r.detail ? ` (${r.detail})` : ''} #${r.connection}`;
    }
    case 'connection':
      return `connection #${r.connection} ${r.state}${r.peer ? ` from ${r.peer}` : ''}${r.reason ? `: ${r.reason}` : ''}`;
    case 'process':
    case 'socket':
      return agentRecordText(r);
  }
}

function isAllFilter(f: FrameFilter): boolean {
  return !f.text && !f.topicPrefix && !f.direction && !f.session && !f.socketType && f.kinds.length === DEFAULT_FILTER.kinds.length && !f.decoded?.trim() && !f.from && !f.to && !f.process && !f.socket;
}

/** The topic-prefix test of a filter (messages: first body frame; commands: SUBSCRIBE topic). */
function topicTest(topicPrefix: string): Predicate {
  let prefix: Buffer;
  try {
    prefix = asBuffer(parseTopic(topicPrefix));
  } catch (e) {
    throw new FilterError((e as Error).message);
  }
  const starts = (b: Uint8Array | undefined) => b !== undefined && b.byteLength >= prefix.length && asBuffer(b).subarray(0, prefix.length).equals(prefix);
  return (r) => (r.kind === 'message' ? starts(r.frames[envelopeOf(r)]) : r.kind === 'command' && starts(r.topic));
}

/**
 * The filter on decoded fields. Before decoding, a cheap check where the
 * decoder allows it (Decoder.verbatim): a message can only hold `field ==
 * "text"` when one of its frames holds the bytes of "text" (or a backslash, a
 * JSON escape). The answer is the same as decoding every message; only faster.
 */
function decodedPredicate(expr: string, decoders: DecoderRules | undefined): Predicate {
  let q: ReturnType<typeof compileFieldQuery>;
  try {
    q = compileFieldQuery(expr);
  } catch (e) {
    throw new FilterError(`Decoded-field filter: ${(e as Error).message}`);
  }
  if (!decoders || decoders.size === 0) throw new FilterError('Decoded-field filter: choose a decoder first (the decoder picker, or the zmqDebugger.decoders setting)');
  const clauses = q.requiredStrings.map((c) => c.map((n) => ({ path: n.path, bytes: Buffer.from(n.value, 'utf8') })));
  // per decoder, once: the clauses whose strings it keeps verbatim
  const checkable = new Map<Decoder, Buffer[][]>();
  const holdsOf = new Map<Decoder, (f: Uint8Array) => boolean>();
  const checksFor = (d: Decoder): Buffer[][] => {
    let c = checkable.get(d);
    if (!c) checkable.set(d, (c = d.verbatim ? clauses.filter((cl) => cl.every((n) => d.verbatim!(n.path))).map((cl) => cl.map((n) => n.bytes)) : []));
    return c;
  };
  return (r) => {
    if (r.kind !== 'message') return false;
    const d = decoders.decoderFor(r);
    if (!d) return false;
    const checks = checksFor(d);
    const holds = d.holdsValues ? (holdsOf.get(d) ?? holdsOf.set(d, d.holdsValues.bind(d)).get(d)) : undefined;
    for (let c = 0; c < checks.length; c++) if (!framesMayHold(r.frames, checks[c], holds)) return false;
    const res = d.decode(r);
    return res.ok && q.test(res);
  };
}

/** Compiles a filter into a predicate; throws FilterError for a bad regex, hex topic or decoded-field expression. */
export function compileFilter(f: FrameFilter, decoders?: DecoderRules): Predicate | undefined {
  if (isAllFilter(f)) return undefined;
  const tests: Predicate[] = [];
  if (f.from || f.to) {
    const [from, to] = [f.from || -Infinity, f.to || Infinity];
    tests.push((r) => r.ts >= from && r.ts <= to);
  }
  if (f.kinds.length !== DEFAULT_FILTER.kinds.length) {
    const kinds = new Set<RecordKind>(f.kinds);
    tests.push((r) => kinds.has(r.kind));
  }
  if (f.direction) {
    const d = f.direction;
    tests.push((r) => 'direction' in r && r.direction === d);
  }
  if (f.session) {
    const s = f.session;
    tests.push((r) => (r.session ?? r.endpoint) === s);
  }
  if (f.socketType) {
    const t = f.socketType.toUpperCase();
    tests.push((r) => r.kind === 'message' && (r.peerSocketType === t || r.socketType === t));
  }
  if (f.process) {
    // a pid, or a program name (every process of that name)
    const p = f.process.trim();
    const pid = /^\d+$/.test(p) ? Number(p) : undefined;
    tests.push(pid !== undefined ? (r) => r.pid === pid : (r) => r.process === p);
  }
  if (f.socket) {
    const id = f.socket.trim();
    tests.push((r) => r.socket === id);
  }
  if (f.topicPrefix) tests.push(topicTest(f.topicPrefix));
  if (f.text) tests.push(textPredicate(f));
  // last: the most expensive
  if (f.decoded?.trim()) tests.push(decodedPredicate(f.decoded, decoders));
  return tests.length === 1 ? tests[0] : (r) => tests.every((t) => t(r));
}

/** What the timeline counts: messages of the filter's session and topic prefix (not its text, fields or time range). */
function timelineFilter(f: FrameFilter): Predicate {
  const session = f.session;
  let topic: Predicate | undefined;
  try {
    topic = f.topicPrefix ? topicTest(f.topicPrefix) : undefined;
  } catch {
    topic = undefined;
  }
  return (r) => r.kind === 'message' && (!session || (r.session ?? r.endpoint) === session) && (!topic || topic(r));
}

function textPredicate(f: FrameFilter): Predicate {
  if (!f.regex && f.caseSensitive) {
    // plain bytes search: no decoding at all
    const needle = Buffer.from(f.text, 'utf8');
    return (r) => (r.kind === 'message' ? r.frames.some((fr) => asBuffer(fr).indexOf(needle) >= 0) : describeRecord(r).includes(f.text));
  }
  let re: RegExp;
  try {
    re = new RegExp(f.regex ? f.text : f.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), f.caseSensitive ? '' : 'i');
  } catch (e) {
    throw new FilterError(`Invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  return (r) => {
    if (r.kind !== 'message') return re.test(describeRecord(r));
    for (const fr of r.frames) if (re.test(asBuffer(fr).toString('utf8'))) return true;
    return false;
  };
}

/** A growable, sorted list of seqs with cheap removal at the head. */
class SeqIndex {
  private data = new Float64Array(1024);
  private head = 0;
  private tail = 0;

  get length(): number {
    return this.tail - this.head;
  }
  at(i: number): number {
    return this.data[this.head + i];
  }
  push(seq: number): void {
    if (this.tail === this.data.length) {
      const len = this.length;
      if (this.head > 0 && len * 2 <= this.data.length) this.data.copyWithin(0, this.head, this.tail);
      else {
        const next = new Float64Array(this.data.length * 2);
        next.set(this.data.subarray(this.head, this.tail));
        this.data = next;
      }
      this.head = 0;
      this.tail = len;
    }
    this.data[this.tail++] = seq;
  }
  /** Drops entries < seq; returns how many. */
  pruneBelow(seq: number): number {
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.data[mid] < seq) lo = mid + 1;
      else hi = mid;
    }
    const n = lo - this.head;
    this.head = lo;
    return n;
  }
  clear(): void {
    this.head = this.tail = 0;
    if (this.data.length > 1 << 16) this.data = new Float64Array(1024);
  }
}

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
  /** The filter's text test over a packed message's bytes, run before the predicate (which then sees only the messages it passes). */
  private textScan: FrameTextScan | undefined;
  private readonly spans = newFrameSpans();
  private readonly index = new SeqIndex();
  // With no filter every retained record matches: the index is the seq range [allFrom, scanned].
  private allFrom = 1;
  private scanned = 0;
  private baseRows = 0;
  private readonly socketTypeSet = new Set<string>();
  /** The socket types of the last message seen() added (both in socketTypeSet). */
  private readonly seenTypes: (string | undefined)[] = [undefined, undefined];
  /** Programs and sockets seen in agent records (bounded: the drop-downs list at most SEEN_MAX of each). */
  private readonly processSeen = new Map<number, string>();
  private readonly socketSeen = new Map<string, SeenSocket>();
  private decoderRules: DecoderRules | undefined;
  private timelineTest: Predicate = timelineFilter(DEFAULT_FILTER);
  /** The timeline's session when headers are enough to count it (no topic in the filter), else false. */
  private timelineSession: string | undefined | false = DEFAULT_FILTER.topicPrefix ? false : DEFAULT_FILTER.session;
  /** Reused by the scan (Capture.peekHeader). */
  private readonly header: RecordHeader = { kind: 'message', seq: 0, ts: 0, bytes: 0 };
  /** Message and byte rates of the filter's session and topic, kept up to date by the scan. */
  readonly timeline = new Timeline();
  /** The newest seq the timeline counted, and what it counts (a rescan for another text or field filter keeps it). */
  private timelineSeq = 0;
  private timelineKey = '';

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
      this.predicate = compileFilter(this.filterSpec, rules);
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      // the decoded-field part cannot work without its decoder: drop it, say why
      this.filterSpec = { ...this.filterSpec, decoded: '' };
      this.predicate = compileFilter(this.filterSpec, rules);
      this.reset(scan);
      throw e;
    }
    this.reset(scan);
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
    return [...this.socketTypeSet].sort();
  }

  /** Programs seen in scanned agent records, by pid. */
  get processes(): SeenProcess[] {
    return [...this.processSeen].map(([pid, name]) => ({ pid, name })).sort((a, b) => a.name.localeCompare(b.name) || a.pid - b.pid);
  }

  /** Sockets seen in scanned agent records, in the order of their ids (`<pid>.<n>`, numerically). */
  get sockets(): SeenSocket[] {
    const key = (id: string) => id.split('.').map(Number);
    return [...this.socketSeen.values()].sort((a, b) => {
      const [x, y] = [key(a.id), key(b.id)];
      return x[0] - y[0] || x[1] - y[1];
    });
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
    const predicate = compileFilter(filter, this.decoderRules);
    this.filterSpec = { ...filter, kinds: [...filter.kinds] };
    this.predicate = predicate;
    this.textScan = predicate ? compileFrameTextScan(filter) : undefined;
    const key = JSON.stringify([filter.session, filter.topicPrefix]);
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
    this.socketTypeSet.clear();
    this.seenTypes[0] = this.seenTypes[1] = undefined;
    this.processSeen.clear();
    this.socketSeen.clear();
    const stats = this.capture.stats();
    // what left the capture (a clear, evictions) leaves the timeline
    if (!stats.retained || stats.lastSeq < this.timelineSeq) this.resetTimeline();
    else this.timeline.prune(this.capture.get(stats.firstSeq)?.ts ?? 0);
    this.allFrom = stats.firstSeq || stats.lastSeq + 1;
    this.scanned = this.allFrom - 1;
    if (scan) this.update();
  }

  /** What the filter's drop-downs list: programs, sockets and socket types seen (a record or its header). */
  private seen(r: CaptureRecord | RecordHeader): void {
    if (r.kind === 'message') {
      // most messages come from the stream of the one before: nothing new
      if (r.pid === undefined && r.socketType === this.seenTypes[0] && r.peerSocketType === this.seenTypes[1]) return;
      if (r.peerSocketType) this.socketTypeSet.add(r.peerSocketType);
      if (r.socketType) this.socketTypeSet.add(r.socketType);
      this.seenTypes[0] = r.socketType;
      this.seenTypes[1] = r.peerSocketType;
    }
    if (r.pid === undefined) return;
    const pid = r.pid;
    if (r.process && this.processSeen.get(pid) !== r.process && (this.processSeen.has(pid) || this.processSeen.size < SEEN_MAX)) this.processSeen.set(pid, r.process);
    if (r.socket) {
      let s = this.socketSeen.get(r.socket);
      if (!s && this.socketSeen.size < SEEN_MAX) this.socketSeen.set(r.socket, (s = { id: r.socket, pid }));
      if (s && !s.type && (r.kind === 'message' || r.kind === 'socket') && r.socketType && r.socketType !== '?') s.type = r.socketType;
    }
  }

  /**
   * Scans records appended since the last update (at most `maxRecords` of them,
   * none after seq `upTo`: a paused view) and drops evicted ones from the head.
   */
  update(maxRecords = Infinity, upTo = Infinity): UpdateResult {
    const { firstSeq, lastSeq, retained } = this.capture.stats();
    const first = retained ? firstSeq : lastSeq + 1;
    // drop what the capture evicted
    let removed: number;
    if (this.predicate) removed = this.index.pruneBelow(first);
    else {
      const from = Math.max(this.allFrom, first);
      removed = Math.max(0, Math.min(from, this.scanned + 1) - this.allFrom);
      this.allFrom = from;
    }
    this.baseRows += removed;
    if (removed && retained) this.timeline.prune(this.capture.get(first)?.ts ?? 0);
    let added = 0;
    const last = Math.min(lastSeq, upTo);
    const from = Math.max(this.scanned + 1, first);
    const end = Math.min(last, from + maxRecords - 1);
    const p = this.predicate;
    if (!p && this.timelineSession !== false) {
      // no filter and a timeline of a session at most: headers are enough, no frames are built
      const session = this.timelineSession;
      const h = this.header;
      for (let seq = from; seq <= end; seq++) {
        const r = this.capture.peekHeader(seq, h)!;
        this.seen(r);
        if (r.kind === 'message' && seq > this.timelineSeq && (!session || (r.session ?? r.endpoint) === session)) this.timeline.add(r.ts, r.bytes);
        added++;
      }
    } else if (p && this.textScan) {
      // a text filter: a packed message's frames are tested where they lie, and
      // only one that passes is built and given to the whole predicate
      const textScan = this.textScan;
      const spans = this.spans;
      const h = this.header;
      const session = this.timelineSession;
      textScan.begin();
      // the metadata entry of the previous packed message: the same one, nothing new to see
      let lastMeta = -1;
      for (let seq = from; seq <= end; seq++) {
        const meta = this.capture.peekFrameSpans(seq, spans);
        if (meta < 0) {
          // a record kept as an object: as the full scan does (and the next packed one is seen again:
          // seen() keeps the last program name of a pid, so what came between matters)
          const r = this.capture.peek(seq)!;
          this.seen(r);
          lastMeta = -1;
          if (r.kind === 'message' && seq > this.timelineSeq && this.timelineTest(r)) this.timeline.add(r.ts, payloadBytes(r));
          if (p(r)) {
            this.index.push(seq);
            added++;
          }
          continue;
        }
        const counted = seq > this.timelineSeq;
        if (meta !== lastMeta || counted) {
          const hd = this.capture.peekHeader(seq, h)!;
          if (meta !== lastMeta) this.seen(hd);
          lastMeta = meta;
          if (counted) {
            if (session === false) {
              const r = this.capture.peek(seq)!;
              if (this.timelineTest(r)) this.timeline.add(r.ts, payloadBytes(r));
            } else if (!session || (hd.session ?? hd.endpoint) === session) this.timeline.add(hd.ts, hd.bytes);
          }
        }
        if (textScan.test(spans) && p(this.capture.peek(seq)!)) {
          this.index.push(seq);
          added++;
        }
      }
    } else for (let seq = from; seq <= end; seq++) {
      // lent (see Capture.peek): the scan keeps seqs and strings, never bytes
      const r = this.capture.peek(seq)!;
      this.seen(r);
      if (r.kind === 'message' && seq > this.timelineSeq && this.timelineTest(r)) this.timeline.add(r.ts, payloadBytes(r));
      if (!p) added++;
      else if (p(r)) {
        this.index.push(seq);
        added++;
      }
    }
    if (end >= from) {
      this.scanned = end;
      if (end > this.timelineSeq) this.timelineSeq = end;
    }
    return { added, removed, pending: Math.max(0, last - Math.max(this.scanned, first - 1)) };
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
      const p = this.capture.get(seq);
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

const DIFF_LOOKBACK = 10_000;

/** A decoded value as the detail pane gets it: long strings and arrays cut (the tree shows what was cut). */
export function viewValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return v.length > 10_000 ? v.slice(0, 10_000) + `… (${v.length} characters)` : v;
  if (depth > 40) return '…';
  if (Array.isArray(v)) {
    const out = v.slice(0, 1000).map((x) => viewValue(x, depth + 1));
    if (v.length > 1000) out.push(`… ${v.length - 1000} more items`);
    return out;
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (n++ === 1000) {
        out['…'] = `${Object.keys(v as object).length - 1000} more fields`;
        break;
      }
      out[k] = viewValue(x, depth + 1);
    }
    return out;
  }
  return v;
}

function evictedRow(seq: number): RowSummary {
  return { seq, ts: 0, kind: 'message', session: '', endpoint: '', topic: '', frames: 0, size: 0, preview: '(evicted from the capture)' };
}

/** The table row of a record; with decoders, a decoded message shows its decoded topic and value. */
export function summarize(r: CaptureRecord, decoders?: DecoderRules): RowSummary {
  const row: RowSummary = {
    seq: r.seq,
    ts: r.ts,
    kind: r.kind,
    session: r.session ?? r.source,
    endpoint: r.endpoint,
    topic: '',
    frames: 0,
    size: payloadBytes(r),
    preview: '',
  };
  if ('direction' in r) row.direction = r.direction;
  if (r.process !== undefined) row.process = r.pid !== undefined ? `${r.process} · ${r.pid}` : r.process;
  if (r.socket !== undefined) row.socket = r.socket;
  if (r.kind === 'message') {
    const env = envelopeOf(r);
    const type = [r.socketType, r.peerSocketType].filter(Boolean).join('→');
    if (type) row.socketType = type;
    row.topic = topicKey(r.frames[env]);
    row.frames = r.frames.length;
    let preview = r.encrypted ? '[encrypted] ' : '';
    if (env) preview += `[${env - 1} id${env > 2 ? 's' : ''}] `;
    for (let i = env; i < r.frames.length && preview.length < PREVIEW_MAX; i++) {
      preview += (i > env ? ' | ' : '') + formatFrame(r.frames[i], 60);
    }
    row.preview = preview.length > PREVIEW_MAX ? preview.slice(0, PREVIEW_MAX) + '…' : preview;
    const res = decoders?.decode(r);
    if (res?.ok) {
      row.decoder = res.decoder;
      if (res.topic !== undefined) row.topic = res.topic;
      const text = JSON.stringify(res.value) ?? '';
      row.preview = text.length > PREVIEW_MAX ? text.slice(0, PREVIEW_MAX) + '…' : text;
    } else if (res) {
      row.decoder = res.decoder;
      row.decodeError = true;
    }
  } else {
    if (r.kind === 'command' && r.topic) row.topic = topicKey(r.topic);
    const text = describeRecord(r);
    row.preview = text.length > PREVIEW_MAX ? text.slice(0, PREVIEW_MAX) + '…' : text;
  }
  return row;
}

/** Frames as the detail pane shows them (bytes base64, cut to DETAIL_BYTES_MAX). */
export function frameDetails(frames: Uint8Array[], envelopeFrames = 0, truncated?: Record<number, number>): FrameDetail[] {
  const env = envelopeFrames > 0 && envelopeFrames <= frames.length ? envelopeFrames : 0;
  return frames.map((f, index) => {
    const b = asBuffer(f);
    const d: FrameDetail = {
      index,
      length: b.length,
      role: index < env ? (index === env - 1 && b.length === 0 ? 'delimiter' : 'envelope') : 'body',
      data: b.subarray(0, DETAIL_BYTES_MAX).toString('base64'),
      cut: b.length > DETAIL_BYTES_MAX,
    };
    if (truncated?.[index] !== undefined) d.originalLength = truncated[index];
    return d;
  });
}

function detailOf(r: CaptureRecord): RecordDetail {
  const fields: [string, string][] = [['source', r.source]];
  const d: RecordDetail = { seq: r.seq, ts: r.ts, kind: r.kind, session: r.session ?? r.source, endpoint: r.endpoint, fields, frames: [] };
  if ('direction' in r) d.direction = r.direction;
  if ('connection' in r && r.connection !== undefined) fields.push(['connection', `#${r.connection}`]);
  if (r.process !== undefined) fields.push(['process', r.pid !== undefined ? `${r.process} (pid ${r.pid})` : r.process]);
  if (r.socket !== undefined) fields.push(['socket', r.socket]);
  switch (r.kind) {
    case 'message':
      if (r.socketType) fields.push(['socket', r.socketType]);
      if (r.peerSocketType) fields.push(['peer socket', r.peerSocketType]);
      if (r.identity) fields.push(['identity', formatFrame(r.identity, 80)]);
      if (r.envelopeFrames) fields.push(['envelope frames', String(r.envelopeFrames)]);
      if (r.encrypted) d.encrypted = true;
      d.frames = frameDetails(r.frames, r.envelopeFrames, r.truncated);
      break;
    case 'event':
      fields.push(['event', r.type]);
      if (r.address) fields.push(['address', r.address]);
      if (r.error) fields.push(['error', r.error]);
      if (r.code) fields.push(['code', r.code]);
      if (r.interval !== undefined) fields.push(['retry interval', `${r.interval} ms`]);
      if (r.peer) fields.push(['peer', r.peer]);
      if (r.attempts !== undefined) fields.push(['attempts', String(r.attempts)]);
      break;
    case 'greeting':
      fields.push(['ZMTP', r.version], ['mechanism', r.mechanism], ['as-server', String(r.asServer)]);
      break;
    case 'command':
      fields.push(['command', r.name]);
      if (r.properties) for (const [k, v] of Object.entries(r.properties)) fields.push([k, formatFrame(v, 200)]);
      if (r.topic !== undefined) fields.push(['topic', formatFrame(r.topic, 200)]);
      if (r.detail) fields.push(['detail', r.detail]);
      break;
    case 'connection':
      fields.push(['state', r.state]);
      if (r.peer) fields.push(['peer', r.peer]);
      if (r.reason) fields.push(['reason', r.reason]);
      break;
    case 'process':
      fields.push(['state', r.state]);
      if (r.argv) fields.push(['command line', r.argv.join(' ')]);
      if (r.cwd) fields.push(['cwd', r.cwd]);
      if (r.runtime) fields.push(['runtime', r.runtime]);
      if (r.dropped) fields.push(['dropped by the agent', String(r.dropped)]);
      break;
    case 'socket':
      fields.push(['operation', r.op]);
      if (r.socketType) fields.push(['socket type', r.socketType]);
      if (r.requested) fields.push(['requested', r.requested]);
      if (r.topic !== undefined) fields.push(['topic', formatFrame(r.topic, 200)]);
      if (r.option) fields.push(['option', r.option]);
      if (r.value !== undefined) fields.push(['value', String(r.value)]);
      if (r.bytes !== undefined) fields.push(['value', formatFrame(r.bytes, 200)]);
      if (r.error) fields.push(['error', r.error]);
      if (r.code) fields.push(['code', r.code]);
      break;
  }
  return d;
}
