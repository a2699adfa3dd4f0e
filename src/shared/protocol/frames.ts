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
  /** The frames (or, for other kinds, what happened) in one short line. */
  preview: string;
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
  | { type: 'notice'; level: 'info' | 'error'; text: string };

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
  };
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
  };
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
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(type)}`);
  }
}

/** For exhaustive switches: a compile error when a case is missing. */
export function assertNever(x: never): never {
  throw new ProtocolError(`unhandled message ${JSON.stringify(x)}`);
}
