/**
 * Filters on decoded fields: a small expression language, documented in
 * docs/decoders.md.
 *
 *   msg_type == "execute_request"
 *   content.code ~ /print\(/i && header.session != "abc"
 *   value > 20.5 || !(tags[0] == "a")
 *   content.ename             (the field exists and is not null/false/"")
 *   $decoder == "msgpack"     ($decoder, $topic: the decoder used, the topic it named)
 *
 * Paths start at the decoded value: names joined with `.`, array indexes `[0]`,
 * quoted names `["a key"]`. Operators: == != (strict equality; strings,
 * numbers, true, false, null), < <= > >= (numbers, or strings compared as
 * strings), ~ (regular expression /…/flags, or a string searched as a
 * substring, case-insensitive), !~ (not). Combine with && || ! and parentheses;
 * && binds tighter than ||. A message that does not decode never matches.
 */
import { DecodeOk } from './decoder';

export class FieldQueryError extends Error {}

type Path = (string | number)[];
type Literal = string | number | boolean | null | RegExp;
type Node =
  | { k: 'and' | 'or'; a: Node; b: Node }
  | { k: 'not'; a: Node }
  | { k: 'cmp'; path: Path; op: '==' | '!=' | '<' | '<=' | '>' | '>=' | '~' | '!~'; lit: Literal }
  | { k: 'exists'; path: Path };

export type FieldPredicate = (d: DecodeOk) => boolean;

export interface RequiredString {
  path: (string | number)[];
  value: string;
}

export interface CompiledFieldQuery {
  test: FieldPredicate;
  /**
   * What `==` comparisons demand, in conjunctive form: every match holds, for
   * each inner array, one of its strings at its path. A decoder whose strings
   * are verbatim in the bytes (Decoder.verbatim) lets a message lacking them be
   * skipped without decoding.
   */
  requiredStrings: RequiredString[][];
}

const TOKEN = /\s*(?:(\/(?:\\.|[^/\\])+\/[dgimsuy]*)|("(?:\\.|[^"\\])*")|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(==|!=|<=|>=|!~|&&|\|\||[<>~!().[\]])|([A-Za-z_$][\w$-]*))/y;

const SPACE = /\s*/y;

function tokenize(src: string): string[] {
  const out: string[] = [];
  let at = 0;
  for (;;) {
    SPACE.lastIndex = at;
    SPACE.exec(src);
    at = SPACE.lastIndex;
    if (at >= src.length) return out;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(src);
    if (!m) throw new FieldQueryError(`unexpected '${src.slice(at, at + 20).trimEnd()}' at ${at}`);
    out.push(m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5]);
    at = TOKEN.lastIndex;
  }
}

class Parser {
  private i = 0;
  constructor(private readonly t: string[]) {}

  parse(): Node {
    if (!this.t.length) throw new FieldQueryError('empty expression');
    const n = this.or();
    if (this.i < this.t.length) throw new FieldQueryError(`unexpected '${this.t[this.i]}'`);
    return n;
  }
  private peek(): string | undefined {
    return this.t[this.i];
  }
  private next(what: string): string {
    const v = this.t[this.i++];
    if (v === undefined) throw new FieldQueryError(`expected ${what} at the end`);
    return v;
  }
  private or(): Node {
    return this.leftAssoc('||', 'or', () => this.and());
  }
  private and(): Node {
    return this.leftAssoc('&&', 'and', () => this.unary());
  }
  /** `operand (op operand)*`, folded to the left. */
  private leftAssoc(op: string, k: 'or' | 'and', operand: () => Node): Node {
    let a = operand();
    while (this.peek() === op) {
      this.i++;
      a = { k, a, b: operand() };
    }
    return a;
  }
  private unary(): Node {
    if (this.peek() === '!') {
      this.i++;
      return { k: 'not', a: this.unary() };
    }
    if (this.peek() === '(') {
      this.i++;
      const n = this.or();
      if (this.next("')'") !== ')') throw new FieldQueryError(`expected ')'`);
      return n;
    }
    const path = this.path();
    const op = this.peek();
    if (op === '==' || op === '!=' || op === '<' || op === '<=' || op === '>' || op === '>=' || op === '~' || op === '!~') {
      this.i++;
      const lit = this.literal(this.next('a value'));
      if ((op === '~' || op === '!~') && !(lit instanceof RegExp) && typeof lit !== 'string') throw new FieldQueryError(`${op} needs a /regular expression/ or a "string"`);
      if (lit instanceof RegExp && op !== '~' && op !== '!~') throw new FieldQueryError(`a regular expression goes with ~ or !~, not ${op}`);
      return { k: 'cmp', path, op, lit };
    }
    return { k: 'exists', path };
  }
  private path(): Path {
    let p: Path;
    if (this.peek() === '[') p = ['$']; // ["odd key"] or [0] at the root
    else {
      const first = this.next('a field name');
      if (!/^[A-Za-z_$]/.test(first)) throw new FieldQueryError(`expected a field name, got '${first}'`);
      p = [first];
    }
    for (;;) {
      const t = this.peek();
      if (t === '.') {
        this.i++;
        const name = this.next('a field name after .');
        if (!/^[A-Za-z_$\d]/.test(name)) throw new FieldQueryError(`expected a field name after '.', got '${name}'`);
        p.push(name);
      } else if (t === '[') {
        this.i++;
        const key = this.next('an index');
        if (/^\d+$/.test(key)) p.push(Number(key));
        else if (key.startsWith('"')) p.push(JSON.parse(key) as string);
        else throw new FieldQueryError(`expected a number or a "name" in [], got '${key}'`);
        if (this.next("']'") !== ']') throw new FieldQueryError(`expected ']'`);
      } else return p;
    }
  }
  private literal(t: string): Literal {
    if (t.startsWith('"')) return JSON.parse(t) as string;
    if (t.startsWith('/')) {
      const end = t.lastIndexOf('/');
      try {
        return new RegExp(t.slice(1, end), t.slice(end + 1).replace('g', ''));
      } catch (e) {
        throw new FieldQueryError((e as Error).message);
      }
    }
    if (/^-?\d/.test(t)) return Number(t);
    if (t === 'true') return true;
    if (t === 'false') return false;
    if (t === 'null') return null;
    throw new FieldQueryError(`expected a value ("string", number, true, false, null or /regex/), got '${t}'`);
  }
}

function get(d: DecodeOk, path: Path): unknown {
  let v: unknown;
  let i = 1;
  if (path[0] === '$decoder') return d.decoder;
  if (path[0] === '$topic') return d.topic;
  if (path[0] === '$') v = d.value;
  else {
    v = d.value;
    i = 0;
  }
  for (; i < path.length; i++) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[path[i]];
  }
  return v;
}

function evaluate(n: Node, d: DecodeOk): boolean {
  switch (n.k) {
    case 'and':
      return evaluate(n.a, d) && evaluate(n.b, d);
    case 'or':
      return evaluate(n.a, d) || evaluate(n.b, d);
    case 'not':
      return !evaluate(n.a, d);
    case 'exists': {
      const v = get(d, n.path);
      return v !== undefined && v !== null && v !== false && v !== '';
    }
    case 'cmp': {
      const v = get(d, n.path);
      const lit = n.lit;
      switch (n.op) {
        case '==':
          return v === lit;
        case '!=':
          return v !== lit;
        case '~':
        case '!~': {
          const s = typeof v === 'string' ? v : v === undefined ? undefined : JSON.stringify(v);
          const hit = s !== undefined && (lit instanceof RegExp ? lit.test(s) : s.toLowerCase().includes(String(lit).toLowerCase()));
          return n.op === '~' ? hit : !hit;
        }
        default: {
          if (typeof v !== typeof lit || (typeof v !== 'number' && typeof v !== 'string')) return false;
          const [a, b] = [v as number | string, lit as number | string];
          return n.op === '<' ? a < b : n.op === '<=' ? a <= b : n.op === '>' ? a > b : a >= b;
        }
      }
    }
  }
}

/** Strings every match must contain as an `==` value (for a cheap pre-check), in conjunctive form. */
function required(n: Node): RequiredString[][] {
  switch (n.k) {
    case 'and':
      return [...required(n.a), ...required(n.b)];
    case 'or': {
      const [a, b] = [required(n.a), required(n.b)];
      // (A1 ∧ A2) ∨ (B1 ∧ B2) ⇒ each match holds one of A1's or one of B1's strings: keep the first clause of each side
      return a.length && b.length ? [[...a[0], ...b[0]]] : [];
    }
    case 'cmp':
      return n.op === '==' && typeof n.lit === 'string' && n.lit.length > 0 && n.path[0] !== '$decoder' && n.path[0] !== '$topic' ? [[{ path: n.path[0] === '$' ? n.path.slice(1) : n.path, value: n.lit }]] : [];
    default:
      return [];
  }
}

/** Compiles an expression; throws FieldQueryError that says what is wrong and where. */
export function compileFieldQuery(src: string): CompiledFieldQuery {
  const ast = new Parser(tokenize(src)).parse();
  return { test: (d) => evaluate(ast, d), requiredStrings: required(ast) };
}
