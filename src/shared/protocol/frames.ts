/**
 * The typed messages exchanged between the frames viewer webview and the
 * extension host. One module for both sides (the webview's tsconfig includes it):
 * no Node or vscode imports here. Every message is a discriminated union on
 * `type`; each side validates what it receives with `parseFromWebview` /
 * `parseFromHost` before using it and switches exhaustively (a `never` check).
 *
 * Bytes travel as base64 strings: webview messages are serialised by VS Code,
 * and strings are the one encoding every host (desktop, web, code-server) keeps.
 */

import { FRAME_FORMATS, SEND_MODES, SEND_SOCKET_TYPES } from '../composer';
import type { ComposerFrame, FrameFormat, SendMode, SendSocketType } from '../composer';
export { FRAME_FORMATS, SEND_MODES, SEND_SOCKET_TYPES };
export type { ComposerFrame, FrameFormat, SendMode, SendSocketType };

export const RECORD_KINDS = ['message', 'event', 'greeting', 'command', 'connection', 'process', 'socket'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];
export const DIRECTIONS = ['in', 'out', 'toTarget', 'fromTarget'] as const;
export type DirectionName = (typeof DIRECTIONS)[number];
export const COPY_FORMATS = ['text', 'hex', 'base64'] as const;
export type CopyFormat = (typeof COPY_FORMATS)[number];

/** What the table shows. Empty strings / empty arrays mean "no restriction". */
export interface FrameFilter {
  /** Free text (or a regular expression when `regex`) searched in every frame. */
  text: string;
  regex: boolean;
  caseSensitive: boolean;
  /** Prefix of the topic (first body frame), as text or `hex:0aff`. */
  topicPrefix: string;
  direction: DirectionName | '';
  /** Session id (spy-1, tap-2, ...) or, for records without one, the endpoint. */
  session: string;
  /** Our or the peer's socket type (SUB, PUB, ROUTER, ...). */
  socketType: string;
  /** Kinds of records shown; messages plus the distinct rows for events, commands, greetings, connections. */
  kinds: RecordKind[];
  /** An expression on decoded fields, e.g. `msg_type == "execute_request"` (docs/decoders.md). */
  decoded: string;
  /** Time range (epoch ms, inclusive; 0 = open), e.g. brushed on the timeline. */
  from: number;
  to: number;
  /** Agent records of one program: its name (`pub_server.py`, every process of that name) or its pid (`12345`). '' or absent: all. */
  process?: string;
  /** Agent records of one socket inside a program: `<pid>.<n>` as in the records' `socket` field. '' or absent: all. */
  socket?: string;
}

/** Which decoder reads which messages: everything, a session, an endpoint or a topic prefix (the most specific wins). */
export interface DecoderRuleSpec {
  /** `json`, `msgpack`, `cbor`, `text`, `auto`, `jupyter[:CONNECTION_FILE]`, `protobuf:FILE.proto:Type`. */
  spec: string;
  session?: string;
  endpoint?: string;
  topicPrefix?: string;
}

/** One difference between a message and the previous one on its topic: a decoded field (`path`) or a frame (`frame 2`). */
export interface DiffChange {
  path: string;
  change: 'added' | 'removed' | 'changed';
  /** Short renderings of the values (JSON, or hex for bytes). */
  before?: string;
  after?: string;
}

export interface RecordDiff {
  /** The previous message on the same topic (same session), when one is retained. */
  previousSeq?: number;
  /** Compared as decoded values, or frame by frame as bytes. */
  on?: 'decoded' | 'bytes';
  changes: DiffChange[];
  /** More changes than were listed. */
  more?: number;
  /** Why there is nothing to compare with. */
  note?: string;
}

/** Message and byte rates over time (for the timeline chart): points `bucketMs` apart from `start`. */
export interface TimelineSeries {
  start: number;
  bucketMs: number;
  /** Messages per second in each bucket. */
  messages: number[];
  /** Bytes per second in each bucket. */
  bytes: number[];
}

export const DEFAULT_FILTER: FrameFilter = {
  text: '',
  regex: false,
  caseSensitive: false,
  topicPrefix: '',
  direction: '',
  session: '',
  socketType: '',
  kinds: [...RECORD_KINDS],
  decoded: '',
  from: 0,
  to: 0,
  process: '',
  socket: '',
};

/** One table row: small and precomputed by the host for the rows the view shows. */
export interface RowSummary {
  seq: number;
  ts: number;
  kind: RecordKind;
  session: string;
  endpoint: string;
  direction?: DirectionName;
  /** Socket types as `SENDER→RECEIVER` when both are known (a tap), else the one known (a spy: SUB). */
  socketType?: string;
  /** First body frame as text, or `0x…` hex when not printable. */
  topic: string;
  frames: number;
  size: number;
  /** The frames (or, for other kinds, what happened) in one short line; the decoded value when a decoder applies. */
  preview: string;
  /** The decoder that read the message; `decodeError` when it failed. */
  decoder?: string;
  decodeError?: boolean;
  /** Agent records: the program and its pid (`pub_server.py · 4242`). */
  process?: string;
  /** Agent records: the socket inside the program (`4242.1`). */
  socket?: string;
}

export type FrameRole = 'envelope' | 'delimiter' | 'body';

export interface FrameDetail {
  index: number;
  /** Length of the frame as captured. */
  length: number;
  /** Original length when the capture truncated the frame. */
  originalLength?: number;
  role: FrameRole;
  /** Base64 of the frame's bytes, at most `DETAIL_BYTES_MAX` of them (see `cut`). */
  data: string;
  cut: boolean;
}

export interface RecordDetail {
  seq: number;
  ts: number;
  kind: RecordKind;
  session: string;
  endpoint: string;
  direction?: DirectionName;
  /** Label/value pairs about the record (socket types, identity, connection, event details...). */
  fields: [string, string][];
  /** Message frames (empty for other kinds). */
  frames: FrameDetail[];
  encrypted?: boolean;
  /** The decoded value (a decoder applies and it read the message). */
  decoded?: { decoder: string; value: unknown; topic?: string };
  /** A decoder applies and failed: why (the frames are shown as they are). */
  decodeError?: string;
  /** Compared with the previous message on the same topic. */
  diff?: RecordDiff;
}

/** The detail pane shows at most this many bytes per frame; copying goes through the host and copies all. */
export const DETAIL_BYTES_MAX = 64 * 1024;

export interface Counters {
  /** Messages the capture received (since the last clear), exact. */
  received: number;
  /** Records of every kind received. */
  records: number;
  retained: number;
  /** Rows matching the filter (those the view can scroll through). */
  shown: number;
  evicted: number;
  dropped: number;
  /** Messages per second over the last full second. */
  rate: number;
  paused: boolean;
  /** Records still to scan after a filter change, an import or a clear (the rows fill in as it proceeds). */
  scanning: number;
  /** `live`, or the name of an imported file the view shows instead. */
  source: string;
  /** Sessions and socket types seen, for the filter's drop-downs. */
  sessions: string[];
  socketTypes: string[];
  /** Programs seen in agent records, for the process drop-down (absent: none seen). */
  processes?: SeenProcess[];
  /** Their sockets, for the socket drop-down. */
  sockets?: SeenSocket[];
  /**
   * Set while spies cannot keep up with their publishers: the capture is then
   * not all that was published, and `dropped` cannot tell what the publisher
   * dropped at its HWM. Absent when every spy keeps up.
   */
  behind?: FallingBehind;
}

/** A program an agent reported, as the filter's process drop-down lists it. */
export interface SeenProcess {
  pid: number;
  name: string;
}

/** A socket an agent reported: `<pid>.<n>` and its type when known. */
export interface SeenSocket {
  id: string;
  pid: number;
  type?: string;
}

/** Spies falling behind: which sessions, since when (epoch ms, the earliest), the bytes known to wait (a lower bound, when known). */
export interface FallingBehind {
  sessions: string[];
  since: number;
  backlogBytes?: number;
}


// ---- webview → host ----

export type FromWebview =
  | { type: 'ready'; filter?: FrameFilter }
  /** The rows the view shows: from row `start` (absolute, see `frames/reset`), `count` rows; `follow` = pinned to the newest. */
  | { type: 'view/window'; start: number; count: number; follow: boolean }
  | { type: 'filter/changed'; filter: FrameFilter }
  | { type: 'row/select'; seq: number }
  | { type: 'capture/setPaused'; paused: boolean }
  | { type: 'capture/clear' }
  | { type: 'frame/copy'; seq: number; index: number; as: CopyFormat }
  | { type: 'export/request'; scope: 'all' | 'filtered' }
  | { type: 'import/request' }
  | { type: 'source/live' }
  /** Use decoder `spec` for `scope` (everything, the session or the topic prefix `match`); an empty spec removes that rule. */
  | { type: 'decoder/set'; spec: string; scope: 'all' | 'session' | 'topic'; match: string }
  /** The timeline chart is shown (the host sends `timeline` batches) or hidden (it sends none). */
  | { type: 'timeline/visible'; visible: boolean }
  | {
      type: 'send/request';
      id: number;
      socketType: SendSocketType;
      mode: SendMode;
      endpoint: string;
      /** The frames to send; ignored when `replaySeq` is given. */
      frames: ComposerFrame[];
      /** Send the body frames of this captured message again. */
      replaySeq?: number;
    };

// ---- host → webview ----

export type FromHost =
  /**
   * Everything changed (filter, clear, import, resume): forget cached rows.
   * Rows are numbered absolutely: the filtered rows are [base, base + counters.shown);
   * `base` grows as old rows are evicted, so a row number the view holds stays valid.
   */
  | {
      type: 'frames/reset';
      counters: Counters;
      filter: FrameFilter;
      /** True when the host set the filter (restored panel, "open for session"): the view shows it. */
      filterFromHost?: boolean;
      filterError?: string;
      base: number;
      start: number;
      rows: RowSummary[];
    }
  /**
   * Live batch (at most ~60 per second) or the answer to `view/window`: counters,
   * the rows of the view's window starting at row `start`, and how many rows the
   * batch added.
   */
  | { type: 'frames/appended'; counters: Counters; base: number; start: number; rows: RowSummary[]; added: number }
  /** Counters only (paused, or a hidden panel's catch-up is not needed). */
  | { type: 'counters'; counters: Counters }
  | { type: 'frame/detail'; seq: number; detail?: RecordDetail; missing?: string }
  | { type: 'send/result'; id: number; ok: boolean; message: string; reply?: FrameDetail[] }
  | { type: 'notice'; level: 'info' | 'error'; text: string }
  /** Rates over time of the messages of the filter's session and topic (while the timeline is shown). */
  | { type: 'timeline'; series: TimelineSeries }
  /** The decoder rules in force, and the decoder forms the picker offers. */
  | { type: 'decoders'; rules: DecoderRuleSpec[]; available: string[] };

// ---- validation ----

export class ProtocolError extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError(`${what} must be an object`);
  return v as Obj;
}
function str(o: Obj, k: string, max = 100_000): string {
  const v = o[k];
  if (typeof v !== 'string') throw new ProtocolError(`'${k}' must be a string`);
  if (v.length > max) throw new ProtocolError(`'${k}' is longer than ${max} characters`);
  return v;
}
function bool(o: Obj, k: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw new ProtocolError(`'${k}' must be true or false`);
  return v;
}
function int(o: Obj, k: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ProtocolError(`'${k}' must be a whole number in [${min}, ${max}]`);
  return v;
}
function num(o: Obj, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ProtocolError(`'${k}' must be a number`);
  return v;
}
function oneOf<T extends string>(o: Obj, k: string, allowed: readonly T[]): T {
  const v = o[k];
  if (!allowed.includes(v as T)) throw new ProtocolError(`'${k}' must be one of ${allowed.join(', ')}`);
  return v as T;
}
function arr(o: Obj, k: string, max: number): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) throw new ProtocolError(`'${k}' must be an array`);
  if (v.length > max) throw new ProtocolError(`'${k}' has more than ${max} items`);
  return v;
}
function strings(o: Obj, k: string): string[] {
  return arr(o, k, 10_000).map((s) => {
    if (typeof s !== 'string') throw new ProtocolError(`'${k}' must hold strings`);
    return s;
  });
}

export function parseFilter(v: unknown): FrameFilter {
  const o = obj(v, 'filter');
  const kinds = arr(o, 'kinds', RECORD_KINDS.length).map((k) => {
    if (!RECORD_KINDS.includes(k as RecordKind)) throw new ProtocolError(`unknown record kind ${JSON.stringify(k)}`);
    return k as RecordKind;
  });
  return {
    text: str(o, 'text', 10_000),
    regex: bool(o, 'regex'),
    caseSensitive: bool(o, 'caseSensitive'),
    topicPrefix: str(o, 'topicPrefix', 10_000),
    direction: oneOf(o, 'direction', ['', ...DIRECTIONS] as const),
    session: str(o, 'session', 1000),
    socketType: str(o, 'socketType', 100),
    kinds: [...new Set(kinds)],
    // absent in filters saved by older versions
    decoded: o.decoded === undefined ? '' : str(o, 'decoded', 10_000),
    from: o.from === undefined ? 0 : num(o, 'from'),
    to: o.to === undefined ? 0 : num(o, 'to'),
    process: o.process === undefined ? '' : str(o, 'process', 1000),
    socket: o.socket === undefined ? '' : str(o, 'socket', 100),
  };
}

function optStr(o: Obj, k: string, max?: number): string | undefined {
  return o[k] === undefined ? undefined : str(o, k, max);
}

function parseRuleSpec(v: unknown): DecoderRuleSpec {
  const o = obj(v, 'rule');
  const r: DecoderRuleSpec = { spec: str(o, 'spec', 10_000) };
  for (const k of ['session', 'endpoint', 'topicPrefix'] as const) {
    const x = optStr(o, k, 10_000);
    if (x !== undefined) r[k] = x;
  }
  return r;
}

/** A JSON value (what decoders produce), checked to be plain data of bounded depth. */
function jsonValue(v: unknown, depth = 0): unknown {
  if (depth > 200) throw new ProtocolError('decoded value nested too deep');
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ProtocolError('decoded numbers must be finite');
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => jsonValue(x, depth + 1));
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Obj)) out[k] = jsonValue(x, depth + 1);
    return out;
  }
  throw new ProtocolError(`decoded values cannot hold a ${typeof v}`);
}

function parseDiff(v: unknown): RecordDiff {
  const o = obj(v, 'diff');
  const d: RecordDiff = {
    changes: arr(o, 'changes', 10_000).map((c) => {
      const co = obj(c, 'change');
      const ch: DiffChange = { path: str(co, 'path', 10_000), change: oneOf(co, 'change', ['added', 'removed', 'changed'] as const) };
      const before = optStr(co, 'before');
      const after = optStr(co, 'after');
      if (before !== undefined) ch.before = before;
      if (after !== undefined) ch.after = after;
      return ch;
    }),
  };
  if (o.previousSeq !== undefined) d.previousSeq = int(o, 'previousSeq', 1);
  if (o.on !== undefined) d.on = oneOf(o, 'on', ['decoded', 'bytes'] as const);
  if (o.more !== undefined) d.more = int(o, 'more');
  if (o.note !== undefined) d.note = str(o, 'note');
  return d;
}

function numbers(o: Obj, k: string): number[] {
  return arr(o, k, 100_000).map((x) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new ProtocolError(`'${k}' must hold numbers`);
    return x;
  });
}

function parseTimeline(v: unknown): TimelineSeries {
  const o = obj(v, 'series');
  const t: TimelineSeries = { start: num(o, 'start'), bucketMs: num(o, 'bucketMs'), messages: numbers(o, 'messages'), bytes: numbers(o, 'bytes') };
  if (t.bucketMs <= 0) throw new ProtocolError("'bucketMs' must be > 0");
  if (t.messages.length !== t.bytes.length) throw new ProtocolError('messages and bytes must have the same length');
  return t;
}

/** Validates a message from the webview; throws ProtocolError naming what is wrong. */
export function parseFromWebview(v: unknown): FromWebview {
  const o = obj(v, 'message');
  const type = o.type;
  switch (type) {
    case 'ready':
      return o.filter === undefined ? { type } : { type, filter: parseFilter(o.filter) };
    case 'view/window':
      return { type, start: int(o, 'start'), count: int(o, 'count', 0, 10_000), follow: bool(o, 'follow') };
    case 'filter/changed':
      return { type, filter: parseFilter(o.filter) };
    case 'row/select':
      return { type, seq: int(o, 'seq', 1) };
    case 'capture/setPaused':
      return { type, paused: bool(o, 'paused') };
    case 'capture/clear':
    case 'import/request':
    case 'source/live':
      return { type };
    case 'decoder/set':
      return { type, spec: str(o, 'spec', 10_000), scope: oneOf(o, 'scope', ['all', 'session', 'topic'] as const), match: str(o, 'match', 10_000) };
    case 'timeline/visible':
      return { type, visible: bool(o, 'visible') };
    case 'frame/copy':
      return { type, seq: int(o, 'seq', 1), index: int(o, 'index', 0, 1_000_000), as: oneOf(o, 'as', COPY_FORMATS) };
    case 'export/request':
      return { type, scope: oneOf(o, 'scope', ['all', 'filtered'] as const) };
    case 'send/request': {
      const frames = arr(o, 'frames', 10_000).map((f, i) => {
        const fo = obj(f, `frames[${i}]`);
        return { format: oneOf(fo, 'format', FRAME_FORMATS), value: str(fo, 'value', 16 * 1024 * 1024) };
      });
      const m: FromWebview = {
        type,
        id: int(o, 'id'),
        socketType: oneOf(o, 'socketType', SEND_SOCKET_TYPES),
        mode: oneOf(o, 'mode', SEND_MODES),
        endpoint: str(o, 'endpoint', 1000),
        frames,
      };
      if (o.replaySeq !== undefined) m.replaySeq = int(o, 'replaySeq', 1);
      return m;
    }
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(type)}`);
  }
}

function parseCounters(v: unknown): Counters {
  const o = obj(v, 'counters');
  return {
    received: int(o, 'received'),
    records: int(o, 'records'),
    retained: int(o, 'retained'),
    shown: int(o, 'shown'),
    evicted: int(o, 'evicted'),
    dropped: int(o, 'dropped'),
    rate: num(o, 'rate'),
    paused: bool(o, 'paused'),
    scanning: int(o, 'scanning'),
    source: str(o, 'source'),
    sessions: strings(o, 'sessions'),
    socketTypes: strings(o, 'socketTypes'),
    ...(o.processes !== undefined ? { processes: arr(o, 'processes', 100_000).map(parseSeenProcess) } : {}),
    ...(o.sockets !== undefined ? { sockets: arr(o, 'sockets', 100_000).map(parseSeenSocket) } : {}),
    ...(o.behind === undefined ? {} : { behind: parseBehind(o.behind) }),
  };
}

function parseSeenProcess(v: unknown): SeenProcess {
  const o = obj(v, 'process');
  return { pid: int(o, 'pid'), name: str(o, 'name', 1000) };
}

function parseSeenSocket(v: unknown): SeenSocket {
  const o = obj(v, 'socket');
  const s: SeenSocket = { id: str(o, 'id', 100), pid: int(o, 'pid') };
  if (o.type !== undefined) s.type = str(o, 'type', 100);
  return s;
}

function parseBehind(v: unknown): FallingBehind {
  const o = obj(v, 'behind');
  return { sessions: strings(o, 'sessions'), since: num(o, 'since'), ...(o.backlogBytes === undefined ? {} : { backlogBytes: num(o, 'backlogBytes') }) };
}

function parseRow(v: unknown): RowSummary {
  const o = obj(v, 'row');
  const r: RowSummary = {
    seq: int(o, 'seq'),
    ts: num(o, 'ts'),
    kind: oneOf(o, 'kind', RECORD_KINDS),
    session: str(o, 'session'),
    endpoint: str(o, 'endpoint'),
    topic: str(o, 'topic'),
    frames: int(o, 'frames'),
    size: int(o, 'size'),
    preview: str(o, 'preview'),
  };
  if (o.direction !== undefined) r.direction = oneOf(o, 'direction', DIRECTIONS);
  if (o.socketType !== undefined) r.socketType = str(o, 'socketType');
  if (o.decoder !== undefined) r.decoder = str(o, 'decoder', 100);
  if (o.decodeError !== undefined) r.decodeError = bool(o, 'decodeError');
  if (o.process !== undefined) r.process = str(o, 'process', 1100);
  if (o.socket !== undefined) r.socket = str(o, 'socket', 100);
  return r;
}

function parseFrameDetail(v: unknown): FrameDetail {
  const o = obj(v, 'frame');
  const f: FrameDetail = {
    index: int(o, 'index'),
    length: int(o, 'length'),
    role: oneOf(o, 'role', ['envelope', 'delimiter', 'body'] as const),
    data: str(o, 'data', 4 * DETAIL_BYTES_MAX),
    cut: bool(o, 'cut'),
  };
  if (o.originalLength !== undefined) f.originalLength = int(o, 'originalLength');
  return f;
}

function parseDetail(v: unknown): RecordDetail {
  const o = obj(v, 'detail');
  const d: RecordDetail = {
    seq: int(o, 'seq'),
    ts: num(o, 'ts'),
    kind: oneOf(o, 'kind', RECORD_KINDS),
    session: str(o, 'session'),
    endpoint: str(o, 'endpoint'),
    fields: arr(o, 'fields', 1000).map((p) => {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || typeof p[1] !== 'string') throw new ProtocolError('fields must be [label, value] pairs');
      return [p[0], p[1]] as [string, string];
    }),
    frames: arr(o, 'frames', 1_000_000).map(parseFrameDetail),
  };
  if (o.direction !== undefined) d.direction = oneOf(o, 'direction', DIRECTIONS);
  if (o.encrypted !== undefined) d.encrypted = bool(o, 'encrypted');
  if (o.decoded !== undefined) {
    const dec = obj(o.decoded, 'decoded');
    d.decoded = { decoder: str(dec, 'decoder', 100), value: jsonValue(dec.value) };
    const topic = optStr(dec, 'topic');
    if (topic !== undefined) d.decoded.topic = topic;
  }
  if (o.decodeError !== undefined) d.decodeError = str(o, 'decodeError');
  if (o.diff !== undefined) d.diff = parseDiff(o.diff);
  return d;
}

/** Validates a message from the host (the webview trusts nothing it did not check). */
export function parseFromHost(v: unknown): FromHost {
  const o = obj(v, 'message');
  const type = o.type;
  const rows = () => arr(o, 'rows', 100_000).map(parseRow);
  switch (type) {
    case 'frames/reset': {
      const m: FromHost = { type, counters: parseCounters(o.counters), filter: parseFilter(o.filter), base: int(o, 'base'), start: int(o, 'start'), rows: rows() };
      if (o.filterError !== undefined) m.filterError = str(o, 'filterError');
      if (o.filterFromHost !== undefined) m.filterFromHost = bool(o, 'filterFromHost');
      return m;
    }
    case 'frames/appended':
      return { type, counters: parseCounters(o.counters), base: int(o, 'base'), start: int(o, 'start'), rows: rows(), added: int(o, 'added') };
    case 'counters':
      return { type, counters: parseCounters(o.counters) };
    case 'frame/detail': {
      const m: FromHost = { type, seq: int(o, 'seq') };
      if (o.detail !== undefined) m.detail = parseDetail(o.detail);
      if (o.missing !== undefined) m.missing = str(o, 'missing');
      return m;
    }
    case 'send/result': {
      const m: FromHost = { type, id: int(o, 'id'), ok: bool(o, 'ok'), message: str(o, 'message') };
      if (o.reply !== undefined) m.reply = arr(o, 'reply', 100_000).map(parseFrameDetail);
      return m;
    }
    case 'notice':
      return { type, level: oneOf(o, 'level', ['info', 'error'] as const), text: str(o, 'text') };
    case 'timeline':
      return { type, series: parseTimeline(o.series) };
    case 'decoders':
      return { type, rules: arr(o, 'rules', 1000).map(parseRuleSpec), available: strings(o, 'available') };
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(type)}`);
  }
}

/** For exhaustive switches: a compile error when a case is missing. */
export function assertNever(x: never): never {
  throw new ProtocolError(`unhandled message ${JSON.stringify(x)}`);
}
