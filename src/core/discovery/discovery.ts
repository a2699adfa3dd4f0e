/**
 * Finds ZeroMQ endpoints in source code without running it: bind/connect calls
 * whose endpoint is a literal, or is built from literals nearby (`"tcp://*:%s" %
 * port` with `port = "5556"` a few lines up or as a default argument, f-strings,
 * `.format`, template literals, `+` concatenation, printf-style helpers).
 *
 * A tolerant scanner, not a parser: comments are blanked first (and Python's
 * triple-quoted strings, which are docstrings or prose), so endpoints that are
 * only *described* in comments or docs are never reported; only calls count.
 * Anything it cannot resolve to a valid endpoint is skipped rather than guessed.
 */
import { knownSocketType } from '../zmq/socketTypes';
import { connectAddressFor, parseEndpoint } from '../zmq/endpoint';

export type DiscoveryLanguage = 'python' | 'javascript' | 'typescript' | 'c' | 'cpp' | 'go' | 'java' | 'csharp';

export interface DiscoveredEndpoint {
  /** Normalised endpoint as written in the code, e.g. `tcp://*:5556`, `tcp://localhost:5556`. */
  endpoint: string;
  /**
   * Where a debugger connects to observe it (`tcp://*:5556` and `tcp://localhost:5556`
   * both give `tcp://127.0.0.1:5556`); groups the binder and its connectors.
   * Undefined for inproc://, which another process cannot reach.
   */
  address?: string;
  /** 0-based line and column of the call (the method or function name). */
  line: number;
  column: number;
  /** 0-based position just after the call's closing parenthesis. */
  endLine: number;
  endColumn: number;
  role: 'bind' | 'connect';
  /** Socket type when the code shows it: PUB, SUB, REQ, REP, PUSH, PULL, ROUTER, DEALER, PAIR, XPUB, XSUB, STREAM. */
  socketType?: string;
  /** The expression the call is made on (`socket`, `self.frontend`), when there is one. */
  variable?: string;
  /** True when the socket republishes a monitored queue's traffic (pyzmq `bind_mon`, 3rd socket of `monitored_queue`). */
  monitor?: boolean;
}

const EXTENSIONS: Record<string, DiscoveryLanguage> = {
  py: 'python', pyw: 'python',
  js: 'javascript', mjs: 'javascript', cjs: 'javascript', jsx: 'javascript',
  ts: 'typescript', mts: 'typescript', cts: 'typescript', tsx: 'typescript',
  c: 'c', h: 'c',
  cc: 'cpp', cpp: 'cpp', cxx: 'cpp', hpp: 'cpp', hh: 'cpp', hxx: 'cpp',
  go: 'go', java: 'java', cs: 'csharp',
};

const LANGUAGE_IDS: Record<string, DiscoveryLanguage> = {
  python: 'python', javascript: 'javascript', javascriptreact: 'javascript', typescript: 'typescript',
  typescriptreact: 'typescript', c: 'c', cpp: 'cpp', go: 'go', java: 'java', csharp: 'csharp',
};

/** The language for a VS Code language id, a file name/path or a bare extension; undefined when not scanned. */
export function discoveryLanguage(languageIdOrPath: string): DiscoveryLanguage | undefined {
  const s = languageIdOrPath.trim();
  if (LANGUAGE_IDS[s]) return LANGUAGE_IDS[s];
  const dot = s.lastIndexOf('.');
  const ext = (dot >= 0 ? s.slice(dot + 1) : s).toLowerCase();
  return EXTENSIONS[ext];
}

/** VS Code language ids the scanner understands (for CodeLens/hover selectors). */
export const DISCOVERY_LANGUAGE_IDS = Object.keys(LANGUAGE_IDS);

/** The socket types the scanner names in code (the classic ones; the draft types are too rare to risk false hits on words like "Server"). */
const CODE_SOCKET_TYPES = new Set(['PUB', 'SUB', 'XPUB', 'XSUB', 'REQ', 'REP', 'DEALER', 'ROUTER', 'PUSH', 'PULL', 'PAIR', 'STREAM']);
/** NetMQ sockets given an endpoint in their constructor bind unless it starts with '>'; these are the ones that do by default. */
const NETMQ_BINDS_BY_DEFAULT = new Set(['PUB', 'XPUB', 'REP', 'ROUTER']);

function normaliseSocketType(name: string | undefined): string | undefined {
  const t = knownSocketType(name);
  return t && CODE_SOCKET_TYPES.has(t) ? t : undefined;
}

/**
 * Where a debugger connects to observe `endpoint`: bind forms and `localhost`
 * become 127.0.0.1, so a binder and its connectors share one address. Undefined
 * for invalid endpoints and inproc://.
 */
export function observableAddress(endpoint: string): string | undefined {
  try {
    return connectAddressFor(endpoint).replace(/^tcp:\/\/localhost:/, 'tcp://127.0.0.1:');
  } catch {
    return undefined;
  }
}

export type ObserveAction = 'spy' | 'monitor' | 'tap';

/**
 * How to observe what a bind/connect line carries: a spy for PUB/XPUB (and for
 * SUB/XSUB, whose peer is a publisher), the monitor spy for a monitored queue's
 * monitor PUB (or a SUB connected to one, when `monitorAddresses` lists its
 * address), a tap for every other pattern and when the type is unknown.
 * Undefined when it cannot be observed from another process (inproc://).
 */
export function observeActionFor(hit: Pick<DiscoveredEndpoint, 'endpoint' | 'address' | 'socketType' | 'monitor'>, monitorAddresses: ReadonlySet<string> = new Set()): ObserveAction | undefined {
  const address = hit.address ?? observableAddress(hit.endpoint);
  if (!address) return undefined;
  if (hit.monitor || (monitorAddresses.has(address) && (hit.socketType === 'SUB' || hit.socketType === 'XSUB' || hit.socketType === 'PUB'))) return 'monitor';
  switch (hit.socketType) {
    case 'PUB':
    case 'XPUB':
    case 'SUB':
    case 'XSUB':
      return 'spy';
    default:
      // a tap relays TCP only
      return address.startsWith('tcp://') ? 'tap' : undefined;
  }
}

/** Finds bind/connect calls carrying a resolvable endpoint. Results are in source order. */
export function findEndpointsInText(text: string, languageIdOrPath: string): DiscoveredEndpoint[] {
  const language = discoveryLanguage(languageIdOrPath);
  if (!language) return [];
  const scan = new Scanner(text, language);
  return scan.run();
}

// ───────────────────────────── masking ─────────────────────────────

/**
 * Returns `text` with comments (and Python triple-quoted strings) replaced by
 * spaces, newlines kept, so offsets and lines stay those of the original.
 */
export function maskComments(text: string, language: DiscoveryLanguage): string {
  const ranges: [number, number][] = [];
  const py = language === 'python';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if ((py && c === '#') || (!py && c === '/' && text[i + 1] === '/')) {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      ranges.push([i, stop]);
      i = stop;
    } else if (!py && c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      ranges.push([i, stop]);
      i = stop;
    } else if (py && (c === '"' || c === "'") && text.startsWith(c.repeat(3), i)) {
      const end = text.indexOf(c.repeat(3), i + 3);
      const stop = end < 0 ? n : end + 3;
      // a prefix like r/f/b belongs to the blanked string too
      let from = i;
      while (from > 0 && /[rRbBuUfF]/.test(text[from - 1]) && !/[\w]/.test(text[from - 2] ?? ' ')) from--;
      ranges.push([from, stop]);
      i = stop;
    } else if (c === '"' || c === "'" || (c === '`' && (language === 'javascript' || language === 'typescript' || language === 'go'))) {
      i = skipString(text, i, language);
    } else {
      i++;
    }
  }
  return blankRanges(text, ranges);
}

/** `text` with every character of the ranges except line breaks replaced by a space (same length, same lines). */
function blankRanges(text: string, ranges: [number, number][]): string {
  if (!ranges.length) return text;
  const parts: string[] = [];
  let at = 0;
  for (const [from, to] of ranges) {
    if (from < at) continue;
    parts.push(text.slice(at, from), text.slice(from, to).replace(/[^\n\r]/g, ' '));
    at = to;
  }
  parts.push(text.slice(at));
  return parts.join('');
}

/** `code` (comments already masked) with the contents of string literals blanked: where to look for calls and assignments. */
function maskStrings(code: string, language: DiscoveryLanguage): string {
  const ranges: [number, number][] = [];
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '"' || c === "'" || (c === '`' && (language === 'javascript' || language === 'typescript' || language === 'go'))) {
      const end = skipString(code, i, language);
      if (end - 1 > i + 1) ranges.push([i + 1, end - 1]);
      i = end - 1;
    }
  }
  return blankRanges(code, ranges);
}

/** Index just after the string literal that starts at `start` (the opening quote). */
function skipString(text: string, start: number, language: DiscoveryLanguage): number {
  const q = text[start];
  const verbatim = language === 'csharp' && (text[start - 1] === '@' || (text[start - 1] === '$' && text[start - 2] === '@'));
  const raw = q === '`' && language === 'go';
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && !verbatim && !raw) {
      i += 2;
      continue;
    }
    if (c === q) {
      if (verbatim && text[i + 1] === q) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    // an unterminated ordinary string ends at the line end
    if (c === '\n' && q !== '`' && !verbatim) return i;
    i++;
  }
  return i;
}

// ───────────────────────────── values ─────────────────────────────

type Value =
  | { kind: 'str'; v: string }
  | { kind: 'num'; v: number }
  | { kind: 'seq'; items: (Value | undefined)[] };

const str = (v: string): Value => ({ kind: 'str', v });
const toText = (v: Value | undefined): string | undefined =>
  v === undefined ? undefined : v.kind === 'str' ? v.v : v.kind === 'num' ? String(v.v) : undefined;

/** printf-style formatting (Python %, C/Go/Java printf family, Node util.format). */
function printf(format: string, args: (Value | undefined)[]): string | undefined {
  let k = 0;
  let failed = false;
  const result = format.replace(/%([-+ 0#]*)(\d*)(?:\.\d+)?(?:hh|h|ll|l|z)?([sdiurvxXqfgc%])/g, (_m, _flags, _w, conv: string) => {
    if (conv === '%') return '%';
    const v = args[k++];
    const t = toText(v);
    if (t === undefined) {
      failed = true;
      return '';
    }
    if (conv === 'x') return Number.isFinite(Number(t)) ? Number(t).toString(16) : t;
    if (conv === 'X') return Number.isFinite(Number(t)) ? Number(t).toString(16).toUpperCase() : t;
    return t;
  });
  return failed ? undefined : result;
}

/** `{}` / `{0}` / `{name}` formatting (Python str.format, .NET string.Format). */
function braceFormat(format: string, args: (Value | undefined)[], named: Map<string, Value | undefined>): string | undefined {
  let auto = 0;
  let failed = false;
  const result = format.replace(/\{\{|\}\}|\{([^{}:!]*)(?:[!:][^{}]*)?\}/g, (m, field: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    const key = (field ?? '').trim();
    let v: Value | undefined;
    if (key === '') v = args[auto++];
    else if (/^\d+$/.test(key)) v = args[Number(key)];
    else v = named.get(key);
    const t = toText(v);
    if (t === undefined) failed = true;
    return t ?? '';
  });
  return failed ? undefined : result;
}

// ───────────────────────────── tokens ─────────────────────────────

type Token =
  | { t: 'str'; pos: number; end: number; value: string; interp?: 'py' | 'js' | 'cs' }
  | { t: 'num'; pos: number; end: number; value: number }
  | { t: 'id'; pos: number; end: number; value: string }
  | { t: 'op'; pos: number; end: number; value: string }
  | { t: 'end'; pos: number; end: number };

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"', '`': '`' };

/**
 * Reads one token at `i` in the masked code. Newlines end a statement (kind
 * 'op' '\n') unless inside brackets; the parser decides.
 */
function readToken(code: string, i: number, language: DiscoveryLanguage): Token {
  while (i < code.length && (code[i] === ' ' || code[i] === '\t' || code[i] === '\r' || (code[i] === '\\' && code[i + 1] === '\n'))) {
    i += code[i] === '\\' ? 2 : 1;
  }
  if (i >= code.length) return { t: 'end', pos: i, end: i };
  const c = code[i];
  // string literal, possibly with a prefix (Python r/b/u/f, C# @/$, C++ u8/L)
  const prefix = /^(?:[rRbBuUfF]{1,2}|\$@|@\$|[@$]|u8|L|u|U)(?=["'`])/.exec(code.slice(i, i + 4));
  const q = prefix ? code[i + prefix[0].length] : c;
  if (q === '"' || q === "'" || (q === '`' && (language === 'javascript' || language === 'typescript' || language === 'go'))) {
    const p = prefix?.[0] ?? '';
    if (p && !validPrefix(p, language)) return { t: 'id', pos: i, end: i + p.length, value: p };
    const start = i + p.length;
    if (q === "'" && (language === 'c' || language === 'cpp' || language === 'java' || language === 'csharp' || language === 'go')) {
      // a char literal: never an endpoint
      const end = skipString(code, start, language);
      return { t: 'op', pos: i, end, value: 'char' };
    }
    const end = skipString(code, start, language);
    const body = code.slice(start + 1, end - 1);
    const raw = /[rR]/.test(p) || (q === '`' && language === 'go') || p.includes('@');
    let interp: 'py' | 'js' | 'cs' | undefined;
    if (/[fF]/.test(p)) interp = 'py';
    else if (q === '`' && language !== 'go') interp = 'js';
    else if (p.includes('$')) interp = 'cs';
    const value = raw ? (p.includes('@') ? body.replace(/""/g, '"') : body) : unescape(body);
    return { t: 'str', pos: i, end, value, interp };
  }
  if (/[0-9]/.test(c)) {
    const m = /^(?:0[xX][0-9a-fA-F_]+|\d[\d_]*(?:\.\d+)?)[uUlLfF]*/.exec(code.slice(i, i + 32))!;
    return { t: 'num', pos: i, end: i + m[0].length, value: Number(m[0].replace(/[_uUlLfF]/g, '')) };
  }
  if (/[A-Za-z_$]/.test(c)) {
    // dotted / scoped names: zmq.PUB, self.port, std::to_string, this.port
    const m = /^[A-Za-z_$][\w$]*(?:\s*(?:\.|::|->)\s*[A-Za-z_$][\w$]*)*/.exec(code.slice(i, i + 200))!;
    return { t: 'id', pos: i, end: i + m[0].length, value: m[0].replace(/\s+/g, '').replace(/::|->/g, '.') };
  }
  const two = code.slice(i, i + 2);
  if (two === '??' || two === '||' || two === '&&' || two === ':=' || two === '==' || two === '!=') return { t: 'op', pos: i, end: i + 2, value: two };
  return { t: 'op', pos: i, end: i + 1, value: c };
}

function validPrefix(p: string, language: DiscoveryLanguage): boolean {
  if (language === 'python') return /^[rRbBuUfF]{1,2}$/.test(p);
  if (language === 'csharp') return /^(?:\$@|@\$|[@$])$/.test(p);
  if (language === 'c' || language === 'cpp') return /^(?:u8|L|u|U)$/.test(p);
  return false;
}

function unescape(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_m, e: string) => (e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (ESCAPES[e] ?? e)));
}

// ───────────────────────────── scanner ─────────────────────────────

/** How many lines above a use the scanner looks for the literal a name holds. */
const LOOK_BACK_LINES = 80;
const MAX_RESOLVE_DEPTH = 4;

/**
 * Method names that bind or connect (pyzmq device methods carry _in/_out/_mon),
 * the C functions, and NetMQ socket constructors. The receiver is read backwards
 * from the match (RECEIVER_RE), which keeps the search linear on long lines.
 */
const CALL_RE =
  /\b(?:(bind|connect|Bind|Connect|bindSync|connectSync|bind_(?:in|out|mon)|connect_(?:in|out|mon))|(zmq_bind|zmq_connect|zsock_bind|zsock_connect)|new\s+(?:NetMQ\.Sockets\.)?(Publisher|Subscriber|XPublisher|XSubscriber|Request|Response|Dealer|Router|Push|Pull|Pair|Stream)Socket)\s*\(/g;
const RECEIVER_RE = /([A-Za-z_$][\w$]*(?:\s*(?:\.|->|::)\s*[A-Za-z_$][\w$]*)*(?:\(\))?)\s*(?:\.|->)\s*$/;

class Scanner {
  private readonly code: string;
  /** The code with string contents blanked: calls and assignments are searched here, values read from `code`. */
  private readonly structure: string;
  private readonly lineStarts: number[] = [0];
  private readonly codeLines: string[];

  constructor(
    readonly text: string,
    readonly language: DiscoveryLanguage,
  ) {
    this.code = maskComments(text, language);
    this.codeLines = this.code.split('\n');
    this.structure = maskStrings(this.code, language);
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.lineStarts.push(i + 1);
  }

  run(): DiscoveredEndpoint[] {
    const found: DiscoveredEndpoint[] = [];
    CALL_RE.lastIndex = 0;
    for (let m = CALL_RE.exec(this.structure); m; m = CALL_RE.exec(this.structure)) {
      try {
        const hit = this.callAt(m);
        if (hit) found.push(hit);
      } catch {
        // a construct the scanner does not understand: skip it, never fail the file
      }
    }
    return found;
  }

  private callAt(m: RegExpExecArray): DiscoveredEndpoint | undefined {
    const open = m.index + m[0].length - 1; // the '('
    const args = this.splitArgs(open);
    if (!args) return undefined;
    const [method, cFunction, netmqClass] = [m[1], m[2], m[3]];
    let role: 'bind' | 'connect';
    const nameStart = m.index;
    let variable: string | undefined;
    let chained: string | undefined;
    let value: Value | undefined;
    if (cFunction) {
      role = cFunction.endsWith('bind') ? 'bind' : 'connect';
      variable = args.parts[0] ? this.code.slice(args.parts[0][0], args.parts[0][1]).trim() : undefined;
      const rest = args.parts.slice(1).map(([a, b]) => this.evaluate(a, b, open, 0));
      // czmq's zsock_bind/zsock_connect take a printf format and its arguments
      const formatted = cFunction.startsWith('zsock') && rest.length > 1 && rest[0]?.kind === 'str' ? printf(rest[0].v, rest.slice(1)) : toText(rest[0]);
      value = formatted === undefined ? undefined : str(formatted);
    } else if (netmqClass) {
      role = 'connect'; // decided by the prefix below
      value = args.parts[0] ? this.evaluate(args.parts[0][0], args.parts[0][1], open, 0) : undefined;
    } else {
      role = method.toLowerCase().startsWith('bind') ? 'bind' : 'connect';
      const before = this.structure.slice(Math.max(0, m.index - 200), m.index);
      variable = RECEIVER_RE.exec(before)?.[1].replace(/\s+/g, '');
      // a socket created in the same expression: ctx.socket(zmq.PUB).bind(...)
      if (!variable) chained = this.chainedReceiver(m.index);
      // a bare function named bind/connect is not a socket method
      if (!variable && !chained) return undefined;
      value = args.parts[0] ? this.evaluate(args.parts[0][0], args.parts[0][1], open, 0) : undefined;
    }
    let text = toText(value);
    if (text === undefined) return undefined;
    text = text.trim();

    let socketType: string | undefined;
    let monitor: boolean | undefined;
    if (netmqClass) {
      socketType = normaliseSocketType(netmqClass);
      // NetMQ: "@tcp://..." binds, ">tcp://..." connects, no prefix: the socket's default
      const first = text.split(',')[0].trim();
      if (first.startsWith('@')) role = 'bind';
      else if (first.startsWith('>')) role = 'connect';
      else role = socketType && NETMQ_BINDS_BY_DEFAULT.has(socketType) ? 'bind' : 'connect';
      text = first.replace(/^[@>]/, '');
      variable = this.assignedName(m.index);
    } else if (/^[@>]tcp:|^[@>]ipc:|^[@>]inproc:/.test(text)) {
      // NetMQ/CZMQ style prefix inside a bind/connect string
      text = text.slice(1);
    }

    let endpoint: string;
    try {
      endpoint = parseEndpoint(text).text;
    } catch {
      return undefined;
    }
    const address = observableAddress(endpoint); // undefined for inproc

    if (chained) socketType = socketTypeIn(chained)?.type;
    if (!netmqClass && variable) {
      const device = method ? /_(in|out|mon)$/.exec(method)?.[1] : undefined;
      if (device) {
        socketType = this.deviceSocketType(variable, device, m.index);
        if (device === 'mon') monitor = true;
      } else {
        socketType = this.socketTypeOf(variable, m.index);
        if (socketType === 'PUB' && this.isMonitoredQueueMonitor(variable)) monitor = true;
      }
    }
    const start = this.position(nameStart);
    const end = this.position(args.close + 1);
    const result: DiscoveredEndpoint = {
      endpoint,
      address,
      line: start.line,
      column: start.column,
      endLine: end.line,
      endColumn: end.column,
      role,
      socketType,
      variable,
    };
    if (monitor) result.monitor = true;
    if (!result.socketType) delete result.socketType;
    if (!result.variable) delete result.variable;
    if (!result.address) delete result.address;
    return result;
  }

  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, column: offset - this.lineStarts[lo] };
  }

  /** The argument ranges of the call whose '(' is at `open`, split at top-level commas. */
  private splitArgs(open: number): { parts: [number, number][]; close: number } | undefined {
    const parts: [number, number][] = [];
    let depth = 0;
    let start = open + 1;
    const limit = Math.min(this.code.length, open + 2000);
    for (let i = open + 1; i < limit; i++) {
      const c = this.code[i];
      if (c === '"' || c === "'" || c === '`') {
        i = skipString(this.code, i, this.language) - 1;
        continue;
      }
      if (c === '(' || c === '[' || c === '{') depth++;
      else if (c === ')' || c === ']' || c === '}') {
        if (depth === 0) {
          if (c !== ')') return undefined;
          if (this.code.slice(start, i).trim()) parts.push([start, i]);
          return { parts, close: i };
        }
        depth--;
      } else if (c === ',' && depth === 0) {
        parts.push([start, i]);
        start = i + 1;
      }
    }
    return undefined;
  }

  // ── expression evaluation ──

  /** Evaluates the expression in code[from, to) to a literal value, or undefined when it depends on anything unknown. */
  private evaluate(from: number, to: number, useAt: number, depth: number): Value | undefined {
    // call arguments sit inside parentheses: newlines are whitespace there (depth 1)
    const parser = new ExprParser(this.code, from, to, this.language, (name, at) => this.resolve(name, at, depth + 1), useAt, 1);
    const v = parser.parseExpression();
    return parser.atEnd() ? v : undefined;
  }

  /**
   * Evaluates the expression that starts at `from` and runs to the end of its
   * statement (newline, ';' or ',' at depth 0): the right-hand side of an assignment.
   */
  private evaluateStatement(from: number, useAt: number, depth: number): Value | undefined {
    const parser = new ExprParser(this.code, from, this.code.length, this.language, (name, at) => this.resolve(name, at, depth + 1), useAt);
    const v = parser.parseExpression();
    return parser.atStatementEnd() ? v : undefined;
  }

  /**
   * The literal value `name` holds at `useAt`: the nearest assignment above
   * (including a default argument like `def f(port="5556")`) whose right-hand
   * side resolves; failing that, the value every resolvable assignment in the
   * file agrees on (module constants defined far away or below).
   */
  private resolve(name: string, useAt: number, depth: number): Value | undefined {
    if (depth > MAX_RESOLVE_DEPTH) return undefined;
    const names = [name];
    const bare = /^(?:self|this|cls|Self)\.(\w+)$/.exec(name);
    if (bare) names.push(bare[1]);
    // `shadows`: a binding that hides farther ones even when its value is unknown (a loop variable)
    const candidates: { at: number; value: () => Value | undefined; shadows?: boolean }[] = [];
    for (const n of names) {
      const esc = n.replace(/[.$]/g, (c) => `\\${c}`);
      // loop variables: `for port in ports:` / `for (const port of ports)`: known only when the list has one item
      const loop = new RegExp(`\\bfor\\s*(?:\\(\\s*(?:const|let|var)\\s+)?${esc}\\s+(?:in|of)\\s+`, 'g');
      for (let m = loop.exec(this.structure); m; m = loop.exec(this.structure)) {
        const from = m.index + m[0].length;
        const at = m.index;
        const eol = this.structure.indexOf('\n', from);
        const header = this.structure.slice(from, eol < 0 ? undefined : eol);
        const end = header.search(/:\s*$|\)\s*\{?\s*$/);
        const stop = end < 0 ? from : from + end;
        candidates.push({
          at,
          shadows: true,
          value: () => {
            const list = stop > from ? this.evaluate(from, stop, at, depth) : undefined;
            return list?.kind === 'seq' && list.items.length === 1 ? list.items[0] : undefined;
          },
        });
      }
      // name [ [] ] [: Type] (= | :=) rhs — also `Type name = rhs`, `const name = rhs`, `def f(name=rhs)`
      const assign = new RegExp(`(?<![\\w$.])${esc}\\s*(?:\\[\\s*\\d*\\s*\\])?\\s*(?::\\s*[\\w.<>\\[\\]| ]+?\\s*)?(?::=|=)(?![=>])`, 'g');
      for (let m = assign.exec(this.structure); m; m = assign.exec(this.structure)) {
        const rhs = m.index + m[0].length;
        candidates.push({ at: m.index, value: () => this.evaluateStatement(rhs, m!.index, depth) });
      }
      if (this.language !== 'c' && this.language !== 'cpp') continue;
      // C preprocessor constants and sprintf'ed buffers
      const define = new RegExp(`#[ \\t]*define[ \\t]+${esc}[ \\t]+`, 'g');
      for (let m = define.exec(this.structure); m; m = define.exec(this.structure)) {
        const rhs = m.index + m[0].length;
        candidates.push({ at: m.index, value: () => this.evaluateStatement(rhs, m!.index, depth) });
      }
      // C: sprintf(name, fmt, ...) / snprintf(name, size, fmt, ...)
      const sprintf = new RegExp(`\\b(s|sn)printf\\s*\\(\\s*${esc}\\s*,`, 'g');
      for (let m = sprintf.exec(this.structure); m; m = sprintf.exec(this.structure)) {
        const open = m.index + m[0].indexOf('(');
        const at = m.index;
        const sn = m[1] === 'sn';
        candidates.push({
          at,
          value: () => {
            const args = this.splitArgs(open);
            if (!args) return undefined;
            const rest = args.parts.slice(sn ? 2 : 1).map(([a, b]) => this.evaluate(a, b, at, depth));
            const fmt = toText(rest[0]);
            if (fmt === undefined) return undefined;
            const out = printf(fmt, rest.slice(1));
            return out === undefined ? undefined : str(out);
          },
        });
      }
    }
    const useLine = this.position(useAt).line;
    const before = candidates.filter((c) => c.at < useAt).sort((a, b) => b.at - a.at);
    for (const c of before) {
      if (useLine - this.position(c.at).line > LOOK_BACK_LINES) break;
      const v = c.value();
      if (v !== undefined) return v;
      if (c.shadows) return undefined;
    }
    if (candidates.some((c) => c.shadows)) return undefined;
    const values = candidates.map((c) => c.value()).filter((v): v is Value => v !== undefined);
    const texts = new Set(values.map((v) => JSON.stringify(v)));
    return texts.size === 1 ? values[0] : undefined;
  }

  // ── socket types ──

  /** The socket type of `variable` from the nearest line above that creates it. */
  private socketTypeOf(variable: string, useAt: number): string | undefined {
    const esc = (x: string) => x.replace(/[.$()]/g, (c) => `\\${c}`);
    // self.x / this.x may be declared as a bare field (`private x = new zmq.Push()`); other dotted names must match whole
    const bare = /^(?:self|this)\.([\w$]+)$/.exec(variable)?.[1];
    const name = bare ? `(?:${esc(variable)}|${esc(bare)})` : esc(variable);
    // the variable as the target of an assignment (`x = `, `x, err := `, `x := `), a C++ constructor
    // (`socket_t x(ctx, ...)`), or a Python `with ... as x`
    const target = new RegExp(`(?<![\\w$.])${name}\\s*(?:,[^=]*)?(?::=|=(?!=)|[({])`);
    const withAs = new RegExp(`\\bas\\s+${name}\\b`);
    const useLine = this.position(useAt).line;
    const lines = this.codeLines;
    for (let l = useLine; l >= 0 && useLine - l <= LOOK_BACK_LINES * 2; l--) {
      const line = lines[l];
      const type = socketTypeIn(line);
      if (!type) continue;
      const nm = target.exec(line);
      if ((nm && nm.index < type.index) || withAs.test(line)) return type.type;
    }
    return undefined;
  }


  /** pyzmq devices: `d = ProcessDevice(zmq.QUEUE, zmq.XREP, zmq.XREQ)`, `MonitoredQueue(zmq.XREP, zmq.XREQ, zmq.PUB, ...)`. */
  private deviceSocketType(variable: string, side: string, useAt: number): string | undefined {
    const esc = variable.replace(/[.$]/g, (c) => `\\${c}`);
    const re = new RegExp(`(?<![\\w$.])${esc}\\s*=\\s*(?:[\\w.]+\\.)?(\\w*MonitoredQueue|\\w*Device)\\s*\\(([^)]*)`, 'g');
    let best: RegExpExecArray | undefined;
    for (let m = re.exec(this.structure); m && m.index < useAt; m = re.exec(this.structure)) best = m;
    if (!best) return undefined;
    const types = [...best[2].matchAll(/zmq\.([A-Z]+)/g)].map((t) => t[1]);
    const monitored = /MonitoredQueue$/.test(best[1]);
    const list = monitored ? types : types.slice(1); // a Device's first argument is the device kind
    const index = side === 'in' ? 0 : side === 'out' ? 1 : 2;
    return list[index] ? normaliseSocketType(list[index]) : undefined;
  }

  /** Heuristic: the PUB socket passed third to `monitored_queue(in, out, mon, ...)`. */
  private isMonitoredQueueMonitor(variable: string): boolean {
    const re = /\bmonitored_queue\s*\(([^)]*)\)/g;
    for (let m = re.exec(this.structure); m; m = re.exec(this.structure)) {
      const args = m[1].split(',').map((a) => a.trim());
      if (args[2] === variable) return true;
    }
    return false;
  }

  /** The call a method is chained on (`ctx.socket(zmq.PUB)` in `ctx.socket(zmq.PUB).bind(...)`), or undefined. */
  private chainedReceiver(methodAt: number): string | undefined {
    let i = methodAt - 1;
    while (i >= 0 && /\s/.test(this.structure[i])) i--;
    if (this.structure[i] !== '.') return undefined;
    i--;
    while (i >= 0 && /\s/.test(this.structure[i])) i--;
    if (this.structure[i] !== ')') return undefined;
    const close = i;
    let depth = 0;
    for (; i >= 0 && close - i < 400; i--) {
      const c = this.structure[i];
      if (c === ')') depth++;
      else if (c === '(' && --depth === 0) break;
    }
    if (depth !== 0 || i < 0) return undefined;
    const callee = /[A-Za-z_$][\w$]*(?:\s*(?:\.|->|::)\s*[A-Za-z_$][\w$]*)*(?:\(\))?(?:\s*(?:\.|->)\s*[A-Za-z_$][\w$]*)*\s*$/.exec(this.structure.slice(Math.max(0, i - 200), i));
    if (!callee) return undefined;
    return this.code.slice(i - callee[0].length, close + 1).replace(/\s+/g, ' ').trim();
  }

  /** `var x = new PublisherSocket(...)` / `using (var x = new ...)`: the name assigned on the line of `at`. */
  private assignedName(at: number): string | undefined {
    const lineStart = this.lineStarts[this.position(at).line];
    const before = this.code.slice(lineStart, at);
    return /([A-Za-z_]\w*)\s*=\s*$/.exec(before)?.[1];
  }
}

/** The socket type a line of code creates, and where on the line it is said. */
function socketTypeIn(line: string): { type: string; index: number } | undefined {
  const patterns: RegExp[] = [
    // pyzmq ctx.socket(zmq.PUB), JeroMQ ctx.socket(ZMQ.PUB) / createSocket(SocketType.PUB), pebbe/zmq4 NewSocket(zmq.PUB),
    // clrzmq ZSocketType.PUB, cppzmq zmq::socket_type::pub
    /\b(?:zmq|ZMQ|SocketType|ZSocketType|socket_type)\s*(?:\.|::)\s*(?:ZMQ_)?([A-Za-z]+)\b/,
    // C: zmq_socket(ctx, ZMQ_PUB), cppzmq socket_t s(ctx, ZMQ_PUB)
    /\bZMQ_([A-Z]+)\b/,
    // zeromq.js v6: new zmq.Publisher(); NetMQ: new PublisherSocket()
    /\bnew\s+(?:[\w.]+\.)?(Publisher|Subscriber|XPublisher|XSubscriber|Request|Reply|Dealer|Router|Push|Pull|Pair|Stream)(?:Socket)?\s*\(/,
    // zeromq.js v5: zmq.socket('pub')
    /\b(?:socket|createSocket)\s*\(\s*['"](pub|sub|xpub|xsub|req|rep|dealer|router|push|pull|pair|stream)['"]/,
  ];
  if (!/socket|Socket|new\s|ZMQ_/.test(line)) return undefined;
  for (const re of patterns) {
    for (const m of line.matchAll(new RegExp(re.source, 'g'))) {
      const word = m[1];
      const type = normaliseSocketType(word);
      if (type) return { type, index: m.index };
    }
  }
  return undefined;
}

// ───────────────────────────── expressions ─────────────────────────────

/** Known conversion/format functions: name → how to evaluate it. */
type Fn = (args: (Value | undefined)[]) => Value | undefined;
const toStr: Fn = (a) => (toText(a[0]) === undefined ? undefined : str(toText(a[0])!));
const toNum: Fn = (a) => {
  const t = toText(a[0]);
  return t !== undefined && /^\s*\d+\s*$/.test(t) ? { kind: 'num', v: Number(t) } : undefined;
};
const printfFn: Fn = (a) => {
  const f = toText(a[0]);
  const out = f === undefined ? undefined : printf(f, a.slice(1));
  return out === undefined ? undefined : str(out);
};
const braceFn: Fn = (a) => {
  const f = toText(a[0]);
  const out = f === undefined ? undefined : braceFormat(f, a.slice(1), new Map());
  return out === undefined ? undefined : str(out);
};
const FUNCTIONS: Record<string, Fn> = {
  str: toStr, String: toStr, 'strconv.Itoa': toStr, 'std.to_string': toStr, to_string: toStr, 'Integer.toString': toStr,
  'String.valueOf': toStr, 'Convert.ToString': toStr, 'os.fsencode': toStr, asbytes: toStr, 'zmq.utils.strtypes.asbytes': toStr,
  int: toNum, Number: toNum, parseInt: toNum, 'Integer.parseInt': toNum, 'int.Parse': toNum,
  'fmt.Sprintf': printfFn, 'String.format': printfFn, 'util.format': printfFn, format: printfFn,
  'string.Format': braceFn, 'String.Format': braceFn, 'std.format': braceFn,
};

class ExprParser {
  private tok: Token;

  constructor(
    private readonly code: string,
    private pos: number,
    private readonly limit: number,
    private readonly language: DiscoveryLanguage,
    private readonly lookup: (name: string, at: number) => Value | undefined,
    private readonly useAt: number,
    private depth = 0,
  ) {
    this.tok = this.read();
  }

  private read(): Token {
    if (this.pos >= this.limit) return { t: 'end', pos: this.limit, end: this.limit };
    const t = readToken(this.code, this.pos, this.language);
    if (t.end > this.limit) return { t: 'end', pos: this.limit, end: this.limit };
    // newlines inside brackets are whitespace
    if (t.t === 'op' && t.value === '\n' && this.depth > 0) {
      this.pos = t.end;
      return this.read();
    }
    return t;
  }

  private next(): Token {
    const t = this.tok;
    this.pos = t.end;
    this.tok = this.read();
    return t;
  }

  private isOp(v: string): boolean {
    return this.tok.t === 'op' && this.tok.value === v;
  }

  atEnd(): boolean {
    while (this.isOp('\n')) this.next();
    return this.tok.t === 'end';
  }

  atStatementEnd(): boolean {
    return this.tok.t === 'end' || (this.tok.t === 'op' && ['\n', ';', ',', ')', '}', ']'].includes(this.tok.value)) ||
      (this.tok.t === 'id' && ['if', 'else', 'or', 'and'].includes(this.tok.value));
  }

  /** expr := term (('+' | '%' | '||' | '??' | 'or') term)* ; C adjacent string literals concatenate. */
  parseExpression(): Value | undefined {
    let left = this.parseTerm();
    let known = true;
    for (;;) {
      if (this.isOp('+')) {
        this.next();
        const right = this.parseTerm();
        if (left?.kind === 'num' && right?.kind === 'num') left = { kind: 'num', v: left.v + right.v };
        else {
          const a = toText(left);
          const b = toText(right);
          left = a !== undefined && b !== undefined && (left?.kind === 'str' || right?.kind === 'str') ? str(a + b) : undefined;
        }
      } else if (this.isOp('%') && this.language === 'python') {
        this.next();
        const right = this.parseTerm();
        if (left?.kind === 'str') {
          const out = printf(left.v, right?.kind === 'seq' ? right.items : [right]);
          left = out === undefined ? undefined : str(out);
        } else left = undefined;
      } else if (this.isOp('||') || this.isOp('??') || (this.tok.t === 'id' && this.tok.value === 'or')) {
        // `process.env.X || "tcp://..."`, `os.environ.get(...) or "..."`: the literal fallback is the default
        this.next();
        const right = this.parseTerm();
        if (left === undefined || !known) left = right;
        known = true;
      } else if (this.tok.t === 'str' && left?.kind === 'str' && (this.language === 'c' || this.language === 'cpp' || this.language === 'python')) {
        const right = this.parseTerm();
        left = right?.kind === 'str' ? str(left.v + right.v) : undefined;
      } else break;
    }
    return left;
  }

  private parseTerm(): Value | undefined {
    let v = this.parsePrimary();
    for (;;) {
      if (this.isOp('.') && v !== undefined) {
        // "...".format(...) / .toString() / .encode()
        this.next();
        const id = this.tok;
        if (id.t !== 'id') return undefined;
        this.next();
        const method = id.value;
        if (!this.isOp('(')) return undefined;
        const { args, named } = this.parseArgs();
        v = this.method(v, method, args, named);
      } else if (this.isOp('[')) {
        this.next();
        this.depth++;
        const index = this.parseExpression();
        this.depth--;
        if (!this.isOp(']')) return undefined;
        this.next();
        v = v?.kind === 'seq' && index?.kind === 'num' ? v.items[index.v] : undefined;
      } else break;
    }
    return v;
  }

  private method(v: Value, method: string, args: (Value | undefined)[], named: Map<string, Value | undefined>): Value | undefined {
    const s = toText(v);
    if (s === undefined) return undefined;
    switch (method) {
      case 'format': {
        const out = v.kind === 'str' ? braceFormat(s, args, named) : undefined;
        return out === undefined ? undefined : str(out);
      }
      case 'toString':
      case 'encode':
      case 'decode':
      case 'c_str':
      case 'strip':
      case 'trim':
        return str(s);
      default:
        return undefined;
    }
  }

  private parseArgs(): { args: (Value | undefined)[]; named: Map<string, Value | undefined> } {
    // at '('
    this.next();
    this.depth++;
    const args: (Value | undefined)[] = [];
    const named = new Map<string, Value | undefined>();
    while (!this.isOp(')') && this.tok.t !== 'end') {
      // keyword argument: name=value
      const id = this.tok;
      if (id.t === 'id' && /^\w+$/.test(id.value)) {
        const save = { pos: this.pos, tok: this.tok };
        this.next();
        const name = id.value;
        if (this.isOp('=')) {
          this.next();
          named.set(name, this.parseExpression());
          if (this.isOp(',')) this.next();
          continue;
        }
        this.pos = save.pos;
        this.tok = save.tok;
      }
      args.push(this.parseExpression());
      if (this.isOp(',')) this.next();
      else if (!this.isOp(')')) {
        this.skipTo(')');
        args.push(undefined);
      }
    }
    this.depth--;
    if (this.isOp(')')) this.next();
    return { args, named };
  }

  private skipTo(op: string): void {
    let d = 0;
    while (this.tok.t !== 'end') {
      if (this.tok.t === 'op' && (this.tok.value === '(' || this.tok.value === '[' || this.tok.value === '{')) d++;
      if (this.tok.t === 'op' && (this.tok.value === ')' || this.tok.value === ']' || this.tok.value === '}')) {
        if (d === 0 && this.tok.value === op) return;
        d--;
      }
      this.next();
    }
  }

  private parsePrimary(): Value | undefined {
    const t = this.tok;
    switch (t.t) {
      case 'str':
        this.next();
        return t.interp ? this.interpolate(t.value, t.interp, t.pos) : str(t.value);
      case 'num':
        this.next();
        return { kind: 'num', v: t.value };
      case 'id': {
        this.next();
        const name = t.value;
        if (this.isOp('(')) {
          const { args } = this.parseArgs();
          const fn = FUNCTIONS[name];
          if (fn) return fn(args);
          // getenv-with-default helpers (`arg(0, "tcp://...")`, `os.environ.get("EP", "tcp://...")`):
          // the one argument that is a complete endpoint literal is the default
          const endpoints = args.filter((a) => a?.kind === 'str' && /^[@>]?(tcp|ipc|inproc):\/\//.test(a.v));
          return endpoints.length === 1 ? endpoints[0] : undefined;
        }
        if (/^(?:true|false|True|False|None|null|undefined|nil|this|self|super|arguments)$/.test(name)) return undefined;
        return this.lookup(name, this.useAt);
      }
      case 'op':
        if (t.value === '(' || t.value === '[') {
          const close = t.value === '(' ? ')' : ']';
          this.next();
          this.depth++;
          const items: (Value | undefined)[] = [];
          let comma = false;
          while (!this.isOp(close) && this.tok.t !== 'end') {
            items.push(this.parseExpression());
            if (this.isOp(',')) {
              comma = true;
              this.next();
            } else if (!this.isOp(close)) {
              this.skipTo(close);
              items.push(undefined);
            }
          }
          this.depth--;
          if (this.isOp(close)) this.next();
          // (x) is x; (x,) and [x, y] are sequences
          if (t.value === '(' && !comma && items.length === 1) return items[0];
          return { kind: 'seq', items };
        }
        if (t.value === '-' && this.language !== 'python') return undefined;
        return undefined;
      default:
        return undefined;
    }
  }

  /** f"...{expr}...", `...${expr}...`, $"...{expr}...": each hole is parsed as an expression of the same file. */
  private interpolate(body: string, kind: 'py' | 'js' | 'cs', at: number): Value | undefined {
    const holes = kind === 'js' ? /\$\{([^{}]*)\}/g : /\{\{|\}\}|\{([^{}]*)\}/g;
    let failed = false;
    const out = body.replace(holes, (m, inner: string | undefined) => {
      if (m === '{{') return '{';
      if (m === '}}') return '}';
      let expr = inner ?? '';
      if (kind !== 'js') expr = expr.replace(/(?:![rsa])?(?::[^:]*)?$/, ''); // drop !r and :format specs
      const parser = new ExprParser(expr, 0, expr.length, this.language, this.lookup, this.useAt || at, 1);
      const v = parser.parseExpression();
      const text = parser.atEnd() ? toText(v) : undefined;
      if (text === undefined) failed = true;
      return text ?? '';
    });
    return failed ? undefined : str(out);
  }
}
