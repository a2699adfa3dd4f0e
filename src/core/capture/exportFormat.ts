/**
 * The capture's export format: JSON Lines, one record per line, lossless (every
 * byte sequence base64). It is also what `zmq-debug ... --json` prints, so it is a
 * public contract: add optional fields and new kinds, never change existing ones.
 * Documented in docs/capture-format.md.
 */
import { CallSite, CapturedMessage, CaptureRecord, CommandRecord, Direction, ProcessRecord, SocketRecord, SourceKind } from './records';

export const FORMAT_VERSION = 1;

/** Written last by an export: what the capture knew it did not keep. */
export interface SummaryRecord {
  kind: 'summary';
  ts: number;
  format: typeof FORMAT_VERSION;
  /** Records in the export. */
  records: number;
  /** Records the capture evicted (bounded window) before the export. */
  evicted: number;
  evictedBytes: number;
  /** Messages sources reported lost. */
  dropped: number;
}

type Json = Record<string, unknown>;

export const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** Converts a record to its JSON object (key order stable: kind, ts, seq, session, source, endpoint, ...). */
export function recordToJson(r: CaptureRecord): Json {
  const o: Json = { kind: r.kind, ts: r.ts };
  if (r.seq) o.seq = r.seq;
  if (r.session !== undefined) o.session = r.session;
  o.source = r.source;
  o.endpoint = r.endpoint;
  if (r.process !== undefined) o.process = r.process;
  if (r.pid !== undefined) o.pid = r.pid;
  if (r.socket !== undefined) o.socket = r.socket;
  switch (r.kind) {
    case 'message':
      o.direction = r.direction;
      o.frames = r.frames.map(b64);
      if (r.connection !== undefined) o.connection = r.connection;
      if (r.socketType !== undefined) o.socketType = r.socketType;
      if (r.peerSocketType !== undefined) o.peerSocketType = r.peerSocketType;
      if (r.identity !== undefined) o.identity = b64(r.identity);
      if (r.envelopeFrames !== undefined) o.envelopeFrames = r.envelopeFrames;
      if (r.truncated !== undefined) o.truncated = { ...r.truncated };
      if (r.encrypted) o.encrypted = true;
      break;
    case 'event':
      o.type = r.type;
      if (r.address !== undefined) o.address = r.address;
      if (r.error !== undefined) o.error = r.error;
      if (r.code !== undefined) o.code = r.code;
      if (r.interval !== undefined) o.interval = r.interval;
      if (r.attempts !== undefined) o.attempts = r.attempts;
      if (r.since !== undefined) o.since = r.since;
      if (r.backlog !== undefined) o.backlog = r.backlog;
      if (r.count !== undefined) o.count = r.count;
      if (r.peer !== undefined) o.peer = r.peer;
      if (r.site !== undefined) o.site = { file: r.site.file, line: r.site.line };
      break;
    case 'greeting':
      o.direction = r.direction;
      o.connection = r.connection;
      o.version = r.version;
      o.mechanism = r.mechanism;
      o.asServer = r.asServer;
      break;
    case 'command':
      o.name = r.name;
      o.direction = r.direction;
      o.connection = r.connection;
      if (r.properties) o.properties = Object.fromEntries(Object.entries(r.properties).map(([k, v]) => [k, b64(v)]));
      if (r.topic !== undefined) o.topic = b64(r.topic);
      if (r.detail !== undefined) o.detail = r.detail;
      break;
    case 'connection':
      o.connection = r.connection;
      o.state = r.state;
      if (r.peer !== undefined) o.peer = r.peer;
      if (r.reason !== undefined) o.reason = r.reason;
      break;
    case 'process':
      o.state = r.state;
      if (r.argv !== undefined) o.argv = [...r.argv];
      if (r.cwd !== undefined) o.cwd = r.cwd;
      if (r.ppid !== undefined) o.ppid = r.ppid;
      if (r.runtime !== undefined) o.runtime = r.runtime;
      if (r.dropped !== undefined) o.dropped = r.dropped;
      break;
    case 'socket':
      o.op = r.op;
      if (r.socketType !== undefined) o.socketType = r.socketType;
      if (r.requested !== undefined) o.requested = r.requested;
      if (r.topic !== undefined) o.topic = b64(r.topic);
      if (r.option !== undefined) o.option = r.option;
      if (r.value !== undefined) o.value = r.value;
      if (r.bytes !== undefined) o.bytes = b64(r.bytes);
      if (r.sndhwm !== undefined) o.sndhwm = r.sndhwm;
      if (r.rcvhwm !== undefined) o.rcvhwm = r.rcvhwm;
      if (r.error !== undefined) o.error = r.error;
      if (r.code !== undefined) o.code = r.code;
      if (r.site !== undefined) o.site = { file: r.site.file, line: r.site.line };
      break;
  }
  return o;
}

export function recordToLine(r: CaptureRecord): string {
  return r.kind === 'message' ? messageToLine(r) : JSON.stringify(recordToJson(r));
}

export const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Frames up to this size are base64-encoded here; above it Buffer's encoder is cheaper than the loop. */
export const SMALL_B64 = 96;

/** Standard base64 with padding, the same text as Buffer's `toString('base64')`. */
function b64Fast(b: Uint8Array): string {
  const n = b.length;
  if (n > SMALL_B64) return b64(b);
  let s = '';
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    s += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + B64[v & 63];
  }
  if (i + 1 === n) {
    const v = b[i] << 16;
    s += B64[v >> 18] + B64[(v >> 12) & 63] + '==';
  } else if (i + 2 === n) {
    const v = (b[i] << 16) | (b[i + 1] << 8);
    s += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + '=';
  }
  return s;
}

/** A JSON value as JSON.stringify writes it; a finite number without the call. */
export const jv = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? '' + v : JSON.stringify(v));

/** The last strings quoted (a session's records repeat the same few): their JSON text. */
const lastQuoted: [string, string, string, string, string, string] = ['', '""', '', '""', '', '""'];
function quoted(v: string, slot: 0 | 2 | 4): string {
  if (lastQuoted[slot] === v) return lastQuoted[slot + 1];
  const q = JSON.stringify(v);
  lastQuoted[slot] = v;
  lastQuoted[slot + 1] = q;
  return q;
}
const quotedAny = (v: unknown, slot: 0 | 2 | 4): string => (typeof v === 'string' ? quoted(v, slot) : JSON.stringify(v));

/**
 * A message record's line, the very text of `JSON.stringify(recordToJson(r))`
 * (same keys, same order, same escaping; test/unit/exportFormat.test.ts checks
 * it against the generic path), built without the intermediate object: the CLI
 * prints hundreds of thousands of them a second.
 */
export function messageToLine(r: CapturedMessage): string {
  let s = '{"kind":"message","ts":' + jv(r.ts);
  if (r.seq) s += ',"seq":' + jv(r.seq);
  if (r.session !== undefined) s += ',"session":' + quotedAny(r.session, 0);
  s += ',"source":' + quotedAny(r.source, 2) + ',"endpoint":' + quotedAny(r.endpoint, 4);
  if (r.process !== undefined) s += ',"process":' + JSON.stringify(r.process);
  if (r.pid !== undefined) s += ',"pid":' + jv(r.pid);
  if (r.socket !== undefined) s += ',"socket":' + JSON.stringify(r.socket);
  s += ',"direction":' + JSON.stringify(r.direction) + ',"frames":[';
  const frames = r.frames;
  for (let i = 0; i < frames.length; i++) s += (i ? ',"' : '"') + b64Fast(frames[i]) + '"';
  s += ']';
  if (r.connection !== undefined) s += ',"connection":' + jv(r.connection);
  if (r.socketType !== undefined) s += ',"socketType":' + JSON.stringify(r.socketType);
  if (r.peerSocketType !== undefined) s += ',"peerSocketType":' + JSON.stringify(r.peerSocketType);
  if (r.identity !== undefined) s += ',"identity":"' + b64Fast(r.identity) + '"';
  if (r.envelopeFrames !== undefined) s += ',"envelopeFrames":' + jv(r.envelopeFrames);
  if (r.truncated !== undefined) s += ',"truncated":' + JSON.stringify({ ...r.truncated });
  if (r.encrypted) s += ',"encrypted":true';
  return s + '}';
}

export class ImportError extends Error {}

const SOURCES: SourceKind[] = ['spy', 'monitor', 'tap', 'agent'];
const SOCKET_OPS = ['open', 'bind', 'connect', 'unbind', 'disconnect', 'subscribe', 'unsubscribe', 'option', 'close'] as const;
const DIRECTIONS: Direction[] = ['in', 'out', 'toTarget', 'fromTarget'];

/** Parses one JSON object of the format; throws ImportError naming the bad field. */
export function recordFromJson(o: unknown): CaptureRecord | SummaryRecord {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ImportError('expected a JSON object');
  const j = o as Json;
  const kind = j.kind;
  if (kind === 'summary') {
    return {
      kind: 'summary',
      ts: num(j, 'ts'),
      format: FORMAT_VERSION,
      records: num(j, 'records'),
      evicted: num(j, 'evicted'),
      evictedBytes: num(j, 'evictedBytes'),
      dropped: num(j, 'dropped'),
    };
  }
  const read = typeof kind === 'string' && Object.hasOwn(RECORD_READERS, kind) ? RECORD_READERS[kind as CaptureRecord['kind']] : undefined;
  if (!read) throw new ImportError(`unknown record kind ${JSON.stringify(kind)}`);
  const base: RecordBase = {
    ts: num(j, 'ts'),
    // the file's seq is kept; a capture that imports the record assigns its own
    seq: optNum(j, 'seq') ?? 0,
    session: optStr(j, 'session'),
    source: oneOf(j, 'source', SOURCES),
    endpoint: str(j, 'endpoint'),
  };
  if (base.session === undefined) delete base.session;
  copyOptional(j, base, { process: optStr, pid: optNum, socket: optStr });
  return read(j, base);
}

/** The fields every kind of record has, read before its own. */
type RecordBase = Pick<CaptureRecord, 'ts' | 'seq' | 'session' | 'source' | 'endpoint' | 'process' | 'pid' | 'socket'>;

/** One reader per record kind of the public format: its own fields, on top of the base. */
const RECORD_READERS: Record<CaptureRecord['kind'], (j: Json, base: RecordBase) => CaptureRecord> = {
  message: messageFromJson,
  event(j, base) {
    const r: CaptureRecord = { kind: 'event', ...base, type: str(j, 'type') };
    copyOptional(j, r, { address: optStr, error: optStr, code: optStr, interval: optNum, attempts: optNum, since: optNum, backlog: optNum, count: optNum, peer: optStr, site: optSite });
    return r;
  },
  greeting(j, base) {
    if (typeof j.asServer !== 'boolean') throw new ImportError("'asServer' must be true or false");
    return {
      kind: 'greeting',
      ...base,
      direction: oneOf(j, 'direction', DIRECTIONS),
      connection: num(j, 'connection'),
      version: str(j, 'version'),
      mechanism: str(j, 'mechanism'),
      asServer: j.asServer,
    };
  },
  command(j, base) {
    const r: CommandRecord = { kind: 'command', ...base, name: str(j, 'name'), direction: oneOf(j, 'direction', DIRECTIONS), connection: num(j, 'connection') };
    if (j.properties !== undefined) {
      if (typeof j.properties !== 'object' || j.properties === null) throw new ImportError("'properties' must be an object of base64 values");
      r.properties = Object.fromEntries(Object.entries(j.properties).map(([k, v]) => [k, fromB64(v, `properties.${k}`)]));
    }
    if (j.topic !== undefined) r.topic = fromB64(j.topic, 'topic');
    copyOptional(j, r, { detail: optStr });
    return r;
  },
  connection(j, base) {
    const r: CaptureRecord = { kind: 'connection', ...base, connection: num(j, 'connection'), state: oneOf(j, 'state', ['open', 'closed', 'undecodable'] as const) };
    copyOptional(j, r, { peer: optStr, reason: optStr });
    return r;
  },
  process(j, base) {
    const r: ProcessRecord = { kind: 'process', ...base, state: oneOf(j, 'state', ['started', 'exited'] as const) };
    if (j.argv !== undefined) {
      if (!Array.isArray(j.argv) || !j.argv.every((a) => typeof a === 'string')) throw new ImportError("'argv' must be an array of strings");
      r.argv = [...(j.argv as string[])];
    }
    copyOptional(j, r, { cwd: optStr, ppid: optNum, runtime: optStr, dropped: optNum });
    return r;
  },
  socket(j, base) {
    const r: SocketRecord = { kind: 'socket', ...base, op: oneOf(j, 'op', SOCKET_OPS) };
    copyOptional(j, r, { socketType: optStr, requested: optStr, option: optStr, error: optStr, code: optStr, value: optNum, sndhwm: optNum, rcvhwm: optNum });
    if (j.topic !== undefined) r.topic = fromB64(j.topic, 'topic');
    if (j.bytes !== undefined) r.bytes = fromB64(j.bytes, 'bytes');
    copyOptional(j, r, { site: optSite });
    return r;
  },
};

function messageFromJson(j: Json, base: RecordBase): CaptureRecord {
  const frames = j.frames;
  if (!Array.isArray(frames)) throw new ImportError("'frames' must be an array of base64 strings");
  if (frames.length > MAX_IMPORT_FRAMES) throw new ImportError(`${frames.length} frames in one message: more than ${MAX_IMPORT_FRAMES} (the tool hands longer messages out in parts)`);
  const r: CaptureRecord = {
    kind: 'message',
    ...base,
    direction: oneOf(j, 'direction', DIRECTIONS),
    frames: frames.map((f, i) => fromB64(f, `frames[${i}]`)),
  };
  copyOptional(j, r, { connection: optNum, socketType: optStr, peerSocketType: optStr });
  if (j.identity !== undefined) r.identity = fromB64(j.identity, 'identity');
  copyOptional(j, r, { envelopeFrames: optNum });
  if (j.truncated !== undefined) {
    if (typeof j.truncated !== 'object' || j.truncated === null) throw new ImportError("'truncated' must be an object of frame index → original length");
    r.truncated = {};
    for (const [k, v] of Object.entries(j.truncated)) {
      if (!/^\d+$/.test(k) || typeof v !== 'number') throw new ImportError("'truncated' must map frame indexes to lengths");
      r.truncated[Number(k)] = v;
    }
  }
  if (j.encrypted === true) r.encrypted = true;
  return r;
}

export interface ImportResult {
  records: CaptureRecord[];
  summary?: SummaryRecord;
  /** Lines that could not be read, with 1-based line numbers (the first MAX_LISTED_IMPORT_ERRORS); nothing else is skipped. */
  errors: { line: number; message: string }[];
  /** Bad lines beyond those listed in `errors`: counted, not listed (a file of garbage must not cost a message per line). */
  moreErrors?: number;
}

/**
 * Import limits (docs/hostile-input.md). A line longer than this is refused
 * with its length, unread: the longest record this tool writes (a 64 MiB agent
 * message, base64) fits well within it.
 */
export const MAX_IMPORT_LINE_CHARS = 128 * 1024 * 1024;
/** Frames a message record may have (a tap or spy hands a message out in parts of 10,000 frames). */
export const MAX_IMPORT_FRAMES = 100_000;
/** Bad lines listed with their message; the rest are counted in `moreErrors`. */
export const MAX_LISTED_IMPORT_ERRORS = 1000;

/** Why a line longer than MAX_IMPORT_LINE_CHARS was passed over. */
export function lineTooLong(chars: number): string {
  return `the line is ${formatSize(chars)} long, more than any record holds (${formatSize(MAX_IMPORT_LINE_CHARS)}): not read`;
}

/** Every line that could not be read: listed and counted. */
export function badLineCount(r: ImportResult): number {
  return r.errors.length + (r.moreErrors ?? 0);
}

/** Parses a JSON Lines export. Bad lines are reported with their number, never silently skipped; what is valid is kept. */
export function parseJsonLines(text: string): ImportResult {
  const result: ImportResult = { records: [], errors: [] };
  // line by line, without an array of every line first
  for (let i = 0, start = 0; start <= text.length; i++) {
    let end = text.indexOf('\n', start);
    const last = end < 0;
    if (last) end = text.length;
    const lineStart = start;
    start = end + 1;
    if (end - lineStart > MAX_IMPORT_LINE_CHARS) {
      addImportError(result, i + 1, lineTooLong(end - lineStart));
      continue;
    }
    try {
      const r = parseExportLine(text.slice(lineStart, end), last && i > 0);
      if (r?.kind === 'summary') result.summary = r;
      else if (r) result.records.push(r);
    } catch (e) {
      addImportError(result, i + 1, e instanceof ImportError ? e.message : shortened(String(e)));
    }
  }
  return result;
}

/**
 * One line of an export: its record, the summary, or undefined for a blank line;
 * throws an ImportError that says what is wrong. `cutOff`: the file's last line
 * without its newline, so a line that is not JSON was cut off inside a record.
 */
export function parseExportLine(raw: string, cutOff = false): CaptureRecord | SummaryRecord | undefined {
  const line = raw.trim();
  if (!line) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (e) {
    throw new ImportError(`${cutOff ? 'the file ends inside this record (cut off?): ' : ''}not JSON (${shortened((e as Error).message)})`);
  }
  return recordFromJson(parsed);
}

/** Lists a bad line (the first MAX_LISTED_IMPORT_ERRORS), counts the rest. */
export function addImportError(result: Pick<ImportResult, 'errors' | 'moreErrors'>, line: number, message: string): void {
  if (result.errors.length < MAX_LISTED_IMPORT_ERRORS) result.errors.push({ line, message });
  else result.moreErrors = (result.moreErrors ?? 0) + 1;
}

function formatSize(chars: number): string {
  return chars >= 1024 * 1024 ? `${(chars / (1024 * 1024)).toFixed(1)} MiB` : `${chars} B`;
}

/** Error texts quote the input: at most 200 characters of it. */
function shortened(message: string): string {
  return message.length > 200 ? message.slice(0, 200) + '…' : message;
}

/** Serialises records (and a closing summary) as JSON Lines. */
export function toJsonLines(records: Iterable<CaptureRecord>, totals?: { evicted: number; evictedBytes: number; dropped: number }): string {
  const out: string[] = [];
  for (const r of records) out.push(recordToLine(r));
  if (totals) {
    const summary: SummaryRecord = { kind: 'summary', ts: Date.now(), format: FORMAT_VERSION, records: out.length, ...totals };
    out.push(JSON.stringify(summary));
  }
  return out.join('\n') + (out.length ? '\n' : '');
}

function num(j: Json, k: string): number {
  const v = j[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ImportError(`'${k}' must be a number`);
  return v;
}
function optNum(j: Json, k: string): number | undefined {
  return j[k] === undefined ? undefined : num(j, k);
}
function str(j: Json, k: string): string {
  const v = j[k];
  if (typeof v !== 'string') throw new ImportError(`'${k}' must be a string`);
  return v;
}
function optStr(j: Json, k: string): string | undefined {
  return j[k] === undefined ? undefined : str(j, k);
}
/**
 * Copies the optional fields `readers` names from `j` to `r`, each checked by its
 * reader, in the readers' order (an exported record keeps its field order).
 */
function copyOptional(j: Json, r: object, readers: Record<string, (j: Json, k: string) => unknown>): void {
  for (const [k, read] of Object.entries(readers)) {
    const v = read(j, k);
    if (v !== undefined) (r as Record<string, unknown>)[k] = v;
  }
}
/** An agent record's call site: `{"file": "/abs/out_of_turn.py", "line": 13}`. */
function optSite(j: Json, k = 'site'): CallSite | undefined {
  const v = j[k];
  if (v === undefined) return undefined;
  const o = v as Json;
  if (typeof v !== 'object' || v === null || typeof o.file !== 'string' || !Number.isInteger(o.line) || (o.line as number) < 1) {
    throw new ImportError("'site' must be an object {file: string, line: whole number ≥ 1}");
  }
  return { file: o.file, line: o.line as number };
}
function oneOf<T extends string>(j: Json, k: string, allowed: readonly T[]): T {
  const v = j[k];
  if (!allowed.includes(v as T)) throw new ImportError(`'${k}' must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  return v as T;
}
/** Empty frames share one buffer: a line of a million "" must not cost a million Buffers. */
const NO_BYTES = Buffer.alloc(0);

function fromB64(v: unknown, what: string): Buffer {
  if (v === '') return NO_BYTES;
  if (typeof v !== 'string' || v.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new ImportError(`'${what}' is not base64`);
  return Buffer.from(v, 'base64');
}
