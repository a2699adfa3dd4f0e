/**
 * The text filter over a packed message's bytes where they lie in the capture
 * (Capture.peekFrameSpans), for the frames viewer's scan: no record, no view,
 * no string for a frame that cannot match.
 *
 * The answer for a message is exactly the text predicate's (framesQuery.ts:
 * the regex tested on each frame decoded as UTF-8, or the plain bytes looked
 * for); only the work differs:
 * - a literal the pattern requires (`update` in `sports update \d+`) is looked
 *   for in the chunk's bytes, ahead of the scan, by one search over a window of
 *   them (a string of 64 KiB, one character a byte): a message without it is
 *   passed over before its frames are even found (`mayHold`), a frame without
 *   it is not decoded;
 * - a frame is decoded straight from the chunk (no record, no Buffer view), or
 *   taken from the window when the window is all ASCII (then UTF-8 and the
 *   window's one character a byte read the same). An ASCII literal is in the decoded text exactly when its bytes are
 *   in the frame: UTF-8 decoding keeps every ASCII byte as its character, and a
 *   broken sequence becomes U+FFFD, never an ASCII character. Case-insensitive
 *   without the `u` flag, an ASCII letter matches only its two ASCII cases
 *   (ECMAScript Canonicalize never maps a non-ASCII character to ASCII).
 * test/unit/framesFilterEquivalence.test.ts compares it with the predicate.
 */
import * as nodeBuffer from 'node:buffer';
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
  /** False when the message at `buf[from, to)` cannot match (it lacks the required literal): cheap, before its frames are found. */
  mayHold(buf: Buffer, from: number, to: number): boolean;
  /**
   * After a range asked of `buf`: a byte such that a later range of `buf`
   * ending at or before it cannot match either (the scan passes over those
   * messages without asking), or -1 when that is not known.
   */
  clearUntil(buf: Buffer): number;
  test(s: FrameSpans): boolean;
}

/** The scan form of the filter's text test, or undefined when it has none (or its regex does not compile: compileFilter says why). */
export function compileFrameTextScan(f: FrameFilter): FrameTextScan | undefined {
  if (!f.text) return undefined;
  const window = new ChunkWindow();
  if (!f.regex && f.caseSensitive) {
    const find = new LiteralFinder(window, Buffer.from(f.text, 'utf8'), false);
    return { begin: () => window.forget(), mayHold: find.holds, clearUntil: find.clearUntil, test: (s) => anyFrame(s, find.holds) };
  }
  const pattern = f.regex ? f.text : f.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let re: RegExp;
  try {
    re = new RegExp(pattern, f.caseSensitive ? '' : 'i');
  } catch {
    return undefined;
  }
  const literal = requiredLiteral(pattern);
  const find = literal ? new LiteralFinder(window, Buffer.from(literal, 'latin1'), !f.caseSensitive && /[A-Za-z]/.test(literal)) : undefined;
  const decodeAndTest = (buf: Buffer, a: number, b: number) => re.test(window.utf8(buf, a, b));
  // made once, not per message
  const frameTest = find ? (buf: Buffer, a: number, b: number) => find.holds(buf, a, b) && decodeAndTest(buf, a, b) : decodeAndTest;
  return {
    begin: () => window.forget(),
    mayHold: find ? find.holds : () => true,
    clearUntil: find ? find.clearUntil : () => -1,
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

/** Bytes a window holds: small enough to make at once (a string of a whole 1 MiB chunk costs far more than 16 of these), large enough for few. */
const WINDOW_BYTES = 1 << 16;
const NO_BYTES = Buffer.alloc(0);
const NON_ASCII = /[^\x00-\x7f]/;
/** Node's native check (simdutf, Node ≥ 18.15), else the regex over the window's text. */
const isAscii: (buf: Buffer, start: number, end: number, text: string) => boolean =
  typeof nodeBuffer.isAscii === 'function' ? (buf, start, end) => nodeBuffer.isAscii(buf.subarray(start, end)) : (_b, _s, _e, text) => !NON_ASCII.test(text);

/**
 * A window of a chunk as a string of one character a byte (latin1): byte `p`
 * is character `p - start`. Searched for a literal in one call; when it is all
 * ASCII, a frame inside it is a slice of it (what UTF-8 decoding would give).
 */
class ChunkWindow {
  // fields keep one type (no undefined, no Infinity): a change of a field's representation deoptimizes the scan's hot code
  buf: Buffer = NO_BYTES;
  start = 0;
  end = 0;
  text = '';
  private ascii = false;

  forget(): void {
    this.buf = NO_BYTES;
    this.text = '';
  }

  /** Makes the window start at byte `at` of `buf`. */
  load(buf: Buffer, at: number): void {
    this.buf = buf;
    this.start = at;
    this.end = Math.min(buf.length, at + WINDOW_BYTES);
    this.text = buf.toString('latin1', at, this.end);
    this.ascii = isAscii(buf, at, this.end, this.text);
  }

  /** `buf[a, b)` decoded as UTF-8. */
  utf8(buf: Buffer, a: number, b: number): string {
    if (this.ascii && buf === this.buf && a >= this.start && b <= this.end) return this.text.slice(a - this.start, b - this.start);
    return utf8(buf, a, b);
  }
}

/**
 * Whether a range of a chunk holds a literal's bytes: one search runs ahead
 * through the window and is reused for every range before the occurrence it
 * found (messages and frames of a chunk come in increasing offsets), so most
 * ranges cost a comparison. `folded`: ASCII letters in either case (the `i`
 * flag without `u`: a character that is not ASCII never matches an ASCII
 * letter), other bytes exactly.
 */
class LiteralFinder {
  private readonly n: number;
  private readonly search: (text: string, from: number) => number;
  /** The window searched, from where, and the first occurrence found (-1: none starts in [from, limit]). */
  private buf: Buffer = NO_BYTES;
  private from = 0;
  private found = -1;
  private limit = -1;

  constructor(
    private readonly window: ChunkWindow,
    needle: Buffer,
    folded: boolean,
  ) {
    this.n = needle.length;
    const text = needle.toString('latin1');
    if (folded) {
      const re = new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
      this.search = (t, from) => {
        re.lastIndex = from;
        return re.test(t) ? re.lastIndex - this.n : -1;
      };
    } else this.search = (t, from) => t.indexOf(text, from);
  }

  /** Whether `buf[a, b)` holds the literal (ranges asked in increasing order within a chunk). */
  readonly holds = (buf: Buffer, a: number, b: number): boolean => {
    const last = b - this.n;
    // what the last search found says nothing of [a, ...) when it was elsewhere, or ended before a
    if (buf !== this.buf || buf !== this.window.buf || a < this.from || (this.found >= 0 ? this.found < a : a > this.limit)) this.searchFrom(buf, a);
    for (;;) {
      if (this.found >= 0) return this.found <= last;
      if (last <= this.limit) return false;
      // the range goes on past the window
      this.searchFrom(buf, this.limit + 1);
    }
  };

  /** See FrameTextScan.clearUntil: a range [a, b) after the last one asked holds no occurrence while b - n is before the one found (or within the limit when none was). */
  readonly clearUntil = (buf: Buffer): number => {
    if (buf !== this.buf || buf !== this.window.buf) return -1;
    return this.found >= 0 ? this.found + this.n - 1 : this.limit + this.n;
  };

  /** The first occurrence at or after byte `at` that starts in the window (moved to `at` when it cannot hold one there). */
  private searchFrom(buf: Buffer, at: number): void {
    const w = this.window;
    if (buf !== w.buf || at < w.start || at + this.n > w.end) w.load(buf, at);
    this.buf = buf;
    this.from = at;
    const i = this.search(w.text, at - w.start);
    this.found = i < 0 ? -1 : w.start + i;
    // when the window ends with the chunk, no range asked goes past the limit
    this.limit = w.end - this.n;
  }
}
