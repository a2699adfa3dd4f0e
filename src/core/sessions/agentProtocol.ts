/**
 * The agents' wire protocol, version 1 (docs/agent-protocol.md), stated once:
 * its frames, every report type with its fields, the limits, and the one
 * validator the collector runs on what an agent sends.
 *
 * Agent input is untrusted. A frame that does not follow the protocol comes
 * back as a reason, never as an exception. The rules the page states:
 * a required field that is missing or of the wrong type makes the report
 * malformed; an optional field of the wrong type is left out; strings are cut
 * to their limits (`LIMITS`); unknown fields are ignored; `ts` (epoch seconds
 * on the wire) comes back in milliseconds, absent when missing or invalid.
 *
 * The Python, Node and native agents encode it (src/core/agents/); the
 * conformance test (test/unit/agentProtocol.test.ts) runs all three against
 * this validator and checks this module and the page list the same types.
 */
import type { CallSite } from '../capture/records';

export const AGENT_PROTOCOL_VERSION = 1;

/** The first byte of a frame's body. */
export const FRAME_KIND = { report: 0x4a /* J */, message: 0x4d /* M */, batch: 0x42 /* B */ } as const;

export const REPORT_TYPES = ['hello', 'process', 'socket', 'error', 'wait', 'event', 'drops', 'exit', 'ring'] as const;
export const SOCKET_OPS = ['open', 'bind', 'connect', 'unbind', 'disconnect', 'subscribe', 'unsubscribe', 'option', 'close'] as const;
export type ReportType = (typeof REPORT_TYPES)[number];
export type SocketOp = (typeof SOCKET_OPS)[number];

/** What the collector accepts (the page's Limits table). */
export const LIMITS = {
  /** Largest frame after hello (the collector's default `maxFrameBytes`). */
  frameBytes: 64 * 1024 * 1024,
  /** Largest first frame, refused on its length before its body is read. */
  helloBytes: 8 * 1024,
  helloTimeoutMs: 5000,
  agents: 256,
  unauthenticated: 64,
  unauthenticatedPerPeer: 32,
  /** Characters kept of `agent`. */
  agentName: 32,
  /** Characters kept of `name` and `runtime`. */
  processName: 200,
  /** Strings kept of `argv`. */
  argv: 1000,
  /** Characters kept of `socketType` and of the `code` of an `error` report. */
  socketType: 32,
  /** Characters kept of `endpoint`, `resolved`, `error`, `address`, `peer` and a site's `file`. */
  text: 1024,
  /** Characters kept of `option`, `event` and the `code` of an event or endpoint. */
  name: 64,
  /** Socket numbers are u32 (the message frame's field). */
  socketNumber: 0xffff_ffff,
  /** Distinct event names counted per socket in the model (the rest are captured, not counted). */
  eventNamesPerSocket: 64,
  /** Connected peers listed per socket in the model. */
  peersPerSocket: 256,
} as const;

/** Every report: when it happened, epoch ms (absent: the collector's now). */
interface Timed {
  ts?: number;
}

export interface Hello {
  type: 'hello';
  token: string;
  /** `python`, `node`, `native`, …; `unknown` when not given. */
  agent: string;
  version: number;
  /** 0 when not given. */
  pid: number;
  /** The native agent's shared ring offered (absent: frames only on the connection). */
  ring?: RingOffer;
}

/** A ring of shared memory the agent writes its frames into (docs/agent-protocol.md, "Shared ring"). */
export interface RingOffer {
  /** Its descriptor number in the agent's process (opened as /proc/<pid>/fd/<fd>). */
  fd: number;
  /** Its data's size. */
  bytes: number;
  /** 32 hex characters, also in the ring's header. */
  nonce: string;
}

export interface ProcessReport extends Timed {
  type: 'process';
  pid?: number;
  ppid?: number;
  argv?: string[];
  cwd?: string;
  name?: string;
  runtime?: string;
}

interface SocketBase extends Timed {
  type: 'socket';
  socket: number;
  site?: CallSite;
}
export type SocketReport = SocketBase &
  (
    | { op: 'open'; socketType?: string; sndhwm?: number; rcvhwm?: number }
    | { op: 'bind' | 'connect' | 'unbind' | 'disconnect'; endpoint: string; resolved?: string; error?: string; code?: string }
    | { op: 'subscribe' | 'unsubscribe'; topic: Buffer }
    | { op: 'option'; option: string; value?: number; bytes?: Buffer }
    | { op: 'close' }
  );

export interface ErrorReport extends Timed {
  type: 'error';
  socket: number;
  op: 'send' | 'recv';
  code: string;
  count: number;
  site?: CallSite;
}

export interface WaitReport extends Timed {
  type: 'wait';
  socket: number;
  op: 'send';
  count: number;
}

export interface EventReport extends Timed {
  type: 'event';
  socket: number;
  event: string;
  address?: string;
  error?: string;
  interval?: number;
  code?: string;
  peer?: string;
  attempts?: number;
  /** `connect:retried`: when the run began, epoch ms. */
  since?: number;
}

export interface DropsReport extends Timed {
  type: 'drops';
  dropped: number;
}

export interface ExitReport extends Timed {
  type: 'exit';
}

/** From here on the frames come through the shared ring offered in the hello. */
export interface RingReport extends Timed {
  type: 'ring';
}

/** A report after hello. */
export type AgentReport = ProcessReport | SocketReport | ErrorReport | WaitReport | EventReport | DropsReport | ExitReport | RingReport;

/** One message (an `M` frame): frames are views of the frame's body. */
export interface AgentMessage {
  direction: 'out' | 'in';
  socket: number;
  /** Epoch ms; absent when the agent's time is not valid. */
  ts?: number;
  frames: Uint8Array[];
  /** Frame index → original length, for the frames the agent cut. */
  truncated?: Record<number, number>;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

const bad = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });
const good = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

// -- field readers: undefined when absent or of the wrong type ----------------

type Json = Record<string, unknown>;
const text = (v: unknown, max: number): string | undefined => (typeof v === 'string' ? v.slice(0, max) : undefined);
const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const whole = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);
const positive = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
/** A count: at least 1 (a missing or invalid one stands for one). */
const count = (v: unknown): number => Math.floor(positive(v) ?? 1);
const socketNumber = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= LIMITS.socketNumber ? v : undefined);
const base64 = (v: unknown): Buffer | undefined => (typeof v === 'string' ? Buffer.from(v, 'base64') : undefined);
/** An agent's time (seconds since the epoch, as its clock said) in ms; undefined when it is not a valid time. */
export const epochMs = (v: unknown): number | undefined => {
  const s = positive(v);
  return s === undefined ? undefined : s * 1000;
};
const SOCKET_REASON = `'socket' must be a whole number from 0 to ${LIMITS.socketNumber}`;

/** A `site` ({file, line}: where the program made the call); undefined when absent or malformed (the report is kept). */
function callSite(v: unknown): CallSite | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { file, line } = v as Json;
  if (typeof file !== 'string' || !file || typeof line !== 'number' || !Number.isInteger(line) || line < 1) return undefined;
  return { file: file.slice(0, LIMITS.text), line };
}

/** Copies the fields of `from` that are not undefined (the records keep no undefined keys). */
function defined<T extends object, U extends object>(into: T, from: U): T & { [K in keyof U]?: Exclude<U[K], undefined> } {
  for (const [k, v] of Object.entries(from)) if (v !== undefined) (into as Json)[k] = v;
  return into as T & { [K in keyof U]?: Exclude<U[K], undefined> };
}

// -- frames -------------------------------------------------------------------

/** The JSON object of a `J` frame. */
function jsonBody(body: Uint8Array): Checked<Json> {
  if (body[0] !== FRAME_KIND.report) return bad(`a frame must start with J, M or B (got byte ${body[0]})`);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8', 1));
  } catch {
    return bad('the report is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('the report is not a JSON object');
  return good(v as Json);
}

/** The first frame of a connection. The token is the collector's to check. */
export function readHello(body: Uint8Array): Checked<Hello> {
  const j = jsonBody(body);
  if (!j.ok) return j;
  const { type, token, agent, version, pid } = j.value;
  if (type !== 'hello') return bad('the first frame must be a hello');
  if (typeof token !== 'string') return bad("'token' must be a string");
  // a hello without a version speaks version 1; another version may mean what this collector would misread
  const v = version === undefined ? AGENT_PROTOCOL_VERSION : whole(version);
  if (v !== AGENT_PROTOCOL_VERSION) return bad(`the agent speaks protocol version ${JSON.stringify(version)}; this collector reads version ${AGENT_PROTOCOL_VERSION}`);
  return good(defined({ type, token, agent: text(agent, LIMITS.agentName) ?? 'unknown', version: v, pid: whole(pid) ?? 0 }, { ring: ringOffer(j.value.ring) }));
}

/** The hello's optional `ring`: left out unless every field is right. */
function ringOffer(v: unknown): RingOffer | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { fd, bytes, nonce } = v as Json;
  const f = whole(fd);
  const b = whole(bytes);
  if (f === undefined || f < 0 || b === undefined || b <= 0 || typeof nonce !== 'string' || !/^[0-9a-f]{32}$/.test(nonce)) return undefined;
  return { fd: f, bytes: b, nonce };
}

/** A `J` frame after hello: a report, or why it cannot be read. */
export function readReport(body: Uint8Array): Checked<AgentReport> {
  const j = jsonBody(body);
  return j.ok ? checkReport(j.value) : j;
}

/** An object an agent sent (a `J` frame's JSON), checked against the protocol. */
export function checkReport(j: Json): Checked<AgentReport> {
  const ts = epochMs(j.ts);
  const r = checkByType(j);
  if (r.ok && ts !== undefined) r.value.ts = ts;
  return r;
}

function checkByType(j: Json): Checked<AgentReport> {
  switch (j.type) {
    case 'process':
      return good(
        defined({ type: 'process' as const }, {
          pid: whole(j.pid),
          ppid: whole(j.ppid),
          argv: Array.isArray(j.argv) ? j.argv.filter((a): a is string => typeof a === 'string').slice(0, LIMITS.argv) : undefined,
          cwd: text(j.cwd, Infinity),
          name: text(j.name, LIMITS.processName) || undefined,
          runtime: text(j.runtime, LIMITS.processName),
        }),
      );
    case 'socket':
      return checkSocket(j);
    case 'error':
    case 'wait':
      return checkFailure(j);
    case 'event':
      return checkEvent(j);
    case 'drops': {
      const dropped = finite(j.dropped);
      return dropped === undefined || dropped < 0 ? bad("'dropped' must be a number ≥ 0") : good({ type: 'drops', dropped });
    }
    case 'exit':
      return good({ type: 'exit' });
    case 'ring':
      return good({ type: 'ring' });
    case 'hello':
      return bad('a second hello');
    default:
      return bad(`unknown report type ${JSON.stringify(j.type)?.slice(0, 80)}`);
  }
}

function checkSocket(j: Json): Checked<SocketReport> {
  const socket = socketNumber(j.socket);
  if (socket === undefined) return bad(SOCKET_REASON);
  const base: SocketBase = defined({ type: 'socket' as const, socket }, { site: callSite(j.site) });
  const op = j.op;
  switch (op) {
    case 'open':
      return good(defined({ ...base, op }, { socketType: text(j.socketType, LIMITS.socketType), sndhwm: finite(j.sndhwm), rcvhwm: finite(j.rcvhwm) }));
    case 'bind':
    case 'connect':
    case 'unbind':
    case 'disconnect': {
      const endpoint = text(j.endpoint, LIMITS.text);
      if (endpoint === undefined) return bad(`'endpoint' must be a string (socket ${op})`);
      const error = text(j.error, LIMITS.text);
      return good(defined({ ...base, op, endpoint }, { resolved: text(j.resolved, LIMITS.text), error, code: error === undefined ? undefined : text(j.code, LIMITS.name) }));
    }
    case 'subscribe':
    case 'unsubscribe': {
      const topic = base64(j.topic);
      return topic ? good({ ...base, op, topic }) : bad(`'topic' must be a base64 string (socket ${op})`);
    }
    case 'option': {
      const option = text(j.option, LIMITS.name);
      if (option === undefined) return bad("'option' must be a string (socket option)");
      const value = finite(j.value);
      return good(defined({ ...base, op, option }, { value, bytes: value === undefined ? base64(j.bytes) : undefined }));
    }
    case 'close':
      return good({ ...base, op });
    default:
      return bad(`unknown socket op ${JSON.stringify(op)?.slice(0, 80)}`);
  }
}

/** `error` (failed sends/receives by errno) and `wait` (sends held at the high-water mark). */
function checkFailure(j: Json): Checked<ErrorReport | WaitReport> {
  const socket = socketNumber(j.socket);
  if (socket === undefined) return bad(SOCKET_REASON);
  if (j.type === 'wait') return j.op === 'send' ? good({ type: 'wait', socket, op: 'send', count: count(j.count) }) : bad("'op' of a wait must be \"send\"");
  if (j.op !== 'send' && j.op !== 'recv') return bad("'op' of an error must be \"send\" or \"recv\"");
  const code = text(j.code, LIMITS.socketType);
  if (code === undefined) return bad("'code' of an error must be a string");
  return good(defined({ type: 'error' as const, socket, op: j.op, code, count: count(j.count) }, { site: callSite(j.site) }));
}

function checkEvent(j: Json): Checked<EventReport> {
  const socket = socketNumber(j.socket);
  if (socket === undefined) return bad(SOCKET_REASON);
  const event = text(j.event, LIMITS.name);
  if (event === undefined) return bad("'event' must be a string");
  const attempts = whole(j.attempts);
  return good(
    defined({ type: 'event' as const, socket, event }, {
      address: text(j.address, LIMITS.text),
      error: text(j.error, LIMITS.text),
      interval: finite(j.interval),
      code: text(j.code, LIMITS.name),
      peer: text(j.peer, LIMITS.text),
      attempts: attempts !== undefined && attempts > 0 ? attempts : undefined,
      since: epochMs(j.since),
    }),
  );
}

/** Bytes before the first frame of an `M` body: kind, direction, socket, time, frame count. */
const MESSAGE_HEADER = 18;

/** An `M` frame: one message sent or received by one socket. A malformed one closes the connection (its framing cannot be trusted). */
export function readMessage(b: Buffer): Checked<AgentMessage> {
  if (b.length < MESSAGE_HEADER) return bad('a message frame shorter than its header');
  const direction = b[1] === 0 ? 'out' : b[1] === 1 ? 'in' : undefined;
  if (!direction) return bad(`a message's direction must be 0 or 1 (got ${b[1]})`);
  const socket = b.readUInt32BE(2);
  const tsSec = b.readDoubleBE(6);
  const n = b.readUInt32BE(14);
  if (n > (b.length - MESSAGE_HEADER) / 8) return bad(`a message of ${n} frames in ${b.length} bytes`);
  const frames: Uint8Array[] = new Array(n);
  let truncated: Record<number, number> | undefined;
  let off = MESSAGE_HEADER;
  for (let i = 0; i < n; i++) {
    if (off + 8 > b.length) return bad(`frame ${i} of a message runs past its end`);
    const orig = b.readUInt32BE(off);
    const kept = b.readUInt32BE(off + 4);
    off += 8;
    if (kept > orig || off + kept > b.length) return bad(`frame ${i} of a message: kept ${kept} of ${orig} bytes does not fit`);
    frames[i] = b.subarray(off, off + kept);
    if (kept < orig) (truncated ??= {})[i] = orig;
    off += kept;
  }
  if (off !== b.length) return bad(`a message frame with ${b.length - off} bytes after its last frame`);
  const m: AgentMessage = { direction, socket, frames };
  const ts = epochMs(tsSec);
  if (ts !== undefined) m.ts = ts;
  if (truncated) m.truncated = truncated;
  return good(m);
}
