/**
 * Evaluating the expressions that build an endpoint (literals, concatenation,
 * printf and brace formatting, f-strings and template literals, known
 * conversion functions) to a literal value, or undefined when anything is unknown.
 */
import type { DiscoveryLanguage } from './discoveredEndpoint';
import { skipString } from './masking';

// ───────────────────────────── values ─────────────────────────────

export type Value =
  | { kind: 'str'; v: string }
  | { kind: 'num'; v: number }
  | { kind: 'seq'; items: (Value | undefined)[] };

export const str = (v: string): Value => ({ kind: 'str', v });
export const toText = (v: Value | undefined): string | undefined =>
  v === undefined ? undefined : v.kind === 'str' ? v.v : v.kind === 'num' ? String(v.v) : undefined;

/** printf-style formatting (Python %, C/Go/Java printf family, Node util.format). */
export function printf(format: string, args: (Value | undefined)[]): string | undefined {
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

export class ExprParser {
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
