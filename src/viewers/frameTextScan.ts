/**
 * The text filter over a packed message's bytes where they lie in the capture
 * (Capture.peekFrameSpans), for the frames viewer's scan: no record, no view,
 * no string for a frame that cannot match.
 *
 * The answer for a message is exactly the text predicate's (framesQuery.ts:
 * the regex tested on each frame decoded as UTF-8, or the plain bytes looked
 * for); only the work differs:
 * - a frame is decoded straight from the chunk (no record, no Buffer view);
 * - before that, a literal the pattern requires (`update` in `sports update
 *   \d+`) is looked for in the frame's bytes, and a frame without it is not
 *   decoded. An ASCII literal is in the decoded text exactly when its bytes are
 *   in the frame: UTF-8 decoding keeps every ASCII byte as its character, and a
 *   broken sequence becomes U+FFFD, never an ASCII character. Case-insensitive
 *   without the `u` flag, an ASCII letter matches only its two ASCII cases
 *   (ECMAScript Canonicalize never maps a non-ASCII character to ASCII).
 * test/unit/framesFilterEquivalence.test.ts compares it with the predicate.
 */
import type { FrameSpans } from '../core/capture/recordStore';
import { FrameFilter } from '../shared/protocol/frames';

/** Punctuation that is a literal character when escaped (`\.`), in a pattern without the `u` flag. */
const ESCAPED_LITERAL = new Set('^$\\.*+?()[]{}|/-');
/** Characters that are not a literal on their own at the top level of a pattern. */
const SPECIAL = new Set('^$\\.*+?()[]{}|');

/**
 * The longest run of ASCII characters that every match of `pattern` (no `u`
 * flag) contains, or '' when none can be proven. Conservative: a top-level
 * alternation gives ''; groups, classes, escapes other than punctuation,
 * assertions and quantified characters end a run and contribute nothing.
 */
export function requiredLiteral(pattern: string): string {
  let best = '';
  let run = '';
  const end = () => {
    if (run.length > best.length) best = run;
    run = '';
  };
  const alnum = (c: string | undefined) => c !== undefined && /[0-9A-Za-z]/.test(c);
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    let literal: string | undefined;
    let next = i + 1;
    if (c === '\\') {
      const e = pattern[i + 1];
      if (e !== undefined && ESCAPED_LITERAL.has(e)) {
        literal = e;
        next = i + 2;
      } else if (e === 'k') {
        // \k<name>: a named back-reference (or, without named groups, literal text): nothing
        const close = pattern.indexOf('>', i + 2);
        next = close < 0 ? pattern.length : close + 1;
      } else {
        // \d, \b, \cX, \x41, \u0041, \1, \101 (octal)...: skip it with every letter or digit after it
        next = i + 2;
        while (alnum(pattern[next])) next++;
      }
    } else if (c === '|') {
      return '';
    } else if (c === '(') {
      next = skipGroup(pattern, i);
    } else if (c === '[') {
      next = skipClass(pattern, i);
    } else if (c === '{') {
      // a quantifier (its character was dropped already) or, malformed, literal text: nothing
      const close = pattern.indexOf('}', i);
      next = close < 0 ? pattern.length : close + 1;
    } else if (!SPECIAL.has(c) && c >= ' ' && c <= '~') {
      literal = c;
    }
    // a quantified character may be absent or repeated: it ends the run, contributing nothing
    const q = pattern[next];
    if (literal !== undefined && q !== '?' && q !== '*' && q !== '+' && q !== '{') run += literal;
    else end();
    i = next;
  }
  end();
  return best;
}

/** The index after the group that opens at `i` (nested groups, classes and escapes inside). */
function skipGroup(pattern: string, i: number): number {
  let depth = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') i += 2;
    else if (c === '[') i = skipClass(pattern, i);
    else {
      if (c === '(') depth++;
      else if (c === ')' && --depth === 0) return i + 1;
      i++;
    }
  }
  return i;
}

/** The index after the class that opens at `i` (in JavaScript the first unescaped `]` closes it, even right after `[`). */
function skipClass(pattern: string, i: number): number {
  for (i++; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === ']') return i + 1;
  }
  return i;
}

/** A message's frames tested in place (true: the text predicate would accept the message). */
export interface FrameTextScan {
  /** Call before each scan slice: the capture may have reused its memory since the last one. */
  begin(): void;
  test(s: FrameSpans): boolean;
}

/** The scan form of the filter's text test, or undefined when it has none (or its regex does not compile: compileFilter says why). */
export function compileFrameTextScan(f: FrameFilter): FrameTextScan | undefined {
  if (!f.text) return undefined;
  if (!f.regex && f.caseSensitive) {
    const find = bytesFinder(Buffer.from(f.text, 'utf8'));
    return { begin: find.begin, test: (s) => anyFrame(s, find.holds) };
  }
  const pattern = f.regex ? f.text : f.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let re: RegExp;
  try {
    re = new RegExp(pattern, f.caseSensitive ? '' : 'i');
  } catch {
    return undefined;
  }
  const literal = requiredLiteral(pattern);
  const folded = !f.caseSensitive && /[A-Za-z]/.test(literal);
  const find = !literal ? undefined : folded ? foldedFinder(literal) : bytesFinder(Buffer.from(literal, 'latin1'));
  const decodeAndTest = (buf: Buffer, a: number, b: number) => re.test(utf8(buf, a, b));
  // made once, not per message
  const frameTest = find ? (buf: Buffer, a: number, b: number) => find.holds(buf, a, b) && decodeAndTest(buf, a, b) : decodeAndTest;
  return {
    begin: () => find?.begin(),
    test: (s) => anyFrame(s, frameTest),
  };
}

/**
 * `buf.toString('utf8', start, end)` without its argument checks (a third of
 * the cost for a short frame): Node's Buffer has utf8Slice, the decoder
 * toString itself calls; else toString.
 */
const utf8: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as { utf8Slice?: unknown }).utf8Slice === 'function'
    ? (buf, start, end) => (buf as Buffer & { utf8Slice(s: number, e: number): string }).utf8Slice(start, end)
    : (buf, start, end) => buf.toString('utf8', start, end);

function anyFrame(s: FrameSpans, frameTest: (buf: Buffer, start: number, end: number) => boolean): boolean {
  for (let k = 0; k < s.count; k++) if (frameTest(s.buf, s.start[k], s.end[k])) return true;
  return false;
}

interface Finder {
  begin(): void;
  /** Whether `buf[start, end)` holds the needle. */
  holds(buf: Buffer, start: number, end: number): boolean;
}

/**
 * Exact bytes: one native search runs ahead through the chunk and is reused
 * for every frame before the occurrence it found (frames of a chunk come in
 * increasing offsets), so most frames cost a comparison.
 */
function bytesFinder(needle: Buffer): Finder {
  let buf: Buffer | undefined;
  let from = 0;
  // the first occurrence at or after `from` in `buf` (-1: none)
  let found = -1;
  return {
    begin: () => (buf = undefined),
    holds(b, start, end) {
      if (b !== buf || start < from || (found >= 0 && found < start)) {
        buf = b;
        from = start;
        found = b.indexOf(needle, start);
      }
      return found >= 0 && found + needle.length <= end;
    },
  };
}

/** ASCII letters in either case (the `i` flag without `u`), other characters exactly. */
function foldedFinder(literal: string): Finder {
  const n = literal.length;
  const want = Uint8Array.from(literal.toLowerCase(), (c) => c.charCodeAt(0));
  // 0x20 on a letter's position: `byte | 0x20` is the lower case of both cases, and of nothing else
  const mask = Uint8Array.from(literal, (c) => (/[A-Za-z]/.test(c) ? 0x20 : 0));
  const w0 = want[0];
  const m0 = mask[0];
  return {
    begin: () => undefined,
    holds(b, start, end) {
      const last = end - n;
      outer: for (let i = start; i <= last; i++) {
        if ((b[i] | m0) !== w0) continue;
        for (let k = 1; k < n; k++) if ((b[i + k] | mask[k]) !== want[k]) continue outer;
        return true;
      }
      return false;
    },
  };
}
