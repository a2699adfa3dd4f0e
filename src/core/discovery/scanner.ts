/**
 * The scanner: finds bind/connect calls in masked code, evaluates their endpoint
 * argument, and works out the socket type and the variable they are made on.
 */
import { knownSocketType } from '../zmq/socketTypes';
import { parseEndpoint } from '../zmq/endpoint';
import type { DiscoveredEndpoint, DiscoveryLanguage } from './discoveredEndpoint';
import { observableAddress } from './observe';
import { maskComments, maskStrings, skipString } from './masking';
import { ExprParser, printf, str, toText, Value } from './expressions';

/** The socket types the scanner names in code (the classic ones; the draft types are too rare to risk false hits on words like "Server"). */
const CODE_SOCKET_TYPES = new Set(['PUB', 'SUB', 'XPUB', 'XSUB', 'REQ', 'REP', 'DEALER', 'ROUTER', 'PUSH', 'PULL', 'PAIR', 'STREAM']);
/** NetMQ sockets given an endpoint in their constructor bind unless it starts with '>'; these are the ones that do by default. */
const NETMQ_BINDS_BY_DEFAULT = new Set(['PUB', 'XPUB', 'REP', 'ROUTER']);

function normaliseSocketType(name: string | undefined): string | undefined {
  const t = knownSocketType(name);
  return t && CODE_SOCKET_TYPES.has(t) ? t : undefined;
}

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

export class Scanner {
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
    const [method, netmqClass] = [m[1], m[3]];
    const nameStart = m.index;
    const call = this.callParts(m, open, args.parts);
    if (!call) return undefined;
    let { role, variable } = call;
    const { chained, value } = call;
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

  /** The role, receiver and endpoint value of the call matched by `m` (its '(' at `open`); undefined when it is not a socket's. */
  private callParts(m: RegExpExecArray, open: number, parts: [number, number][]): { role: 'bind' | 'connect'; variable?: string; chained?: string; value?: Value } | undefined {
    const [method, cFunction, netmqClass] = [m[1], m[2], m[3]];
    const first = (): Value | undefined => (parts[0] ? this.evaluate(parts[0][0], parts[0][1], open, 0) : undefined);
    if (cFunction) {
      const variable = parts[0] ? this.code.slice(parts[0][0], parts[0][1]).trim() : undefined;
      const rest = parts.slice(1).map(([a, b]) => this.evaluate(a, b, open, 0));
      // czmq's zsock_bind/zsock_connect take a printf format and its arguments
      const formatted = cFunction.startsWith('zsock') && rest.length > 1 && rest[0]?.kind === 'str' ? printf(rest[0].v, rest.slice(1)) : toText(rest[0]);
      return { role: cFunction.endsWith('bind') ? 'bind' : 'connect', variable, value: formatted === undefined ? undefined : str(formatted) };
    }
    // NetMQ: the role is decided by the endpoint's prefix
    if (netmqClass) return { role: 'connect', value: first() };
    const before = this.structure.slice(Math.max(0, m.index - 200), m.index);
    const variable = RECEIVER_RE.exec(before)?.[1].replace(/\s+/g, '');
    // a socket created in the same expression: ctx.socket(zmq.PUB).bind(...)
    const chained = variable ? undefined : this.chainedReceiver(m.index);
    // a bare function named bind/connect is not a socket method
    if (!variable && !chained) return undefined;
    return { role: method.toLowerCase().startsWith('bind') ? 'bind' : 'connect', variable, chained, value: first() };
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
