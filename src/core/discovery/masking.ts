/** Blanking comments and string contents while keeping every offset and line of the source. */
import type { DiscoveryLanguage } from './discoveredEndpoint';


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
export function maskStrings(code: string, language: DiscoveryLanguage): string {
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
export function skipString(text: string, start: number, language: DiscoveryLanguage): number {
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
