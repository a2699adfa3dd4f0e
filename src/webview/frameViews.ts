/**
 * Pure renderings of a frame's bytes for the detail pane: UTF-8 text that shows
 * invalid bytes and control characters instead of swallowing them, a hex dump
 * (offset, hex, ASCII) and pretty JSON. No DOM here (unit-tested in Node).
 */

/** A run of decoded text, or one byte/char that is shown escaped (`\xNN`). */
export interface TextSegment {
  text: string;
  /** 'bad': a byte that is not valid UTF-8; 'ctrl': a control character. */
  mark?: 'bad' | 'ctrl';
}

export function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there does not start one. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  const cont = (k: number) => i + k < b.length && (b[i + k] & 0xc0) === 0x80;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[i + 1];
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // surrogates
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[i + 1];
    if (c === 0xf0 && c1 < 0x90) return 0;
    if (c === 0xf4 && c1 >= 0x90) return 0;
    return 4;
  }
  return 0;
}

const decoder = new TextDecoder('utf-8');

/**
 * Decodes UTF-8, keeping every byte visible: invalid bytes become `\xNN`
 * segments marked 'bad', control characters (except tab and newline) `\xNN`
 * segments marked 'ctrl'.
 */
export function decodeUtf8Visible(bytes: Uint8Array): TextSegment[] {
  const out: TextSegment[] = [];
  let runStart = 0;
  const flush = (end: number) => {
    if (end > runStart) out.push({ text: decoder.decode(bytes.subarray(runStart, end)) });
  };
  let i = 0;
  while (i < bytes.length) {
    const n = utf8SequenceLength(bytes, i);
    const c = bytes[i];
    if (n === 0 || (n === 1 && ((c < 0x20 && c !== 0x09 && c !== 0x0a) || c === 0x7f))) {
      flush(i);
      out.push({ text: `\\x${HEX[c]}`, mark: n === 0 ? 'bad' : 'ctrl' });
      i++;
      runStart = i;
    } else i += n;
  }
  flush(i);
  return out;
}

/** True when every byte is valid UTF-8 (control characters allowed). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; ) {
    const n = utf8SequenceLength(bytes, i);
    if (!n) return false;
    i += n;
  }
  return true;
}

/** Classic hex dump: `00000010  68 65 6c 6c 6f 20 77 6f  72 6c 64 0a              |hello world.|` */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    let hex = '';
    let ascii = '';
    for (let j = 0; j < 16; j++) {
      if (j === 8) hex += ' ';
      if (off + j < bytes.length) {
        const b = bytes[off + j];
        hex += HEX[b] + ' ';
        ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
      } else hex += '   ';
    }
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex} |${ascii}|`);
  }
  return lines.join('\n');
}

/** Pretty-printed JSON when the bytes are a JSON object or array (or any JSON value with `loose`), else undefined. */
export function prettyJson(bytes: Uint8Array, loose = false): string | undefined {
  if (bytes.length === 0 || bytes.length > 4 * 1024 * 1024 || !isValidUtf8(bytes)) return undefined;
  const text = decoder.decode(bytes).trim();
  if (!loose && !/^[[{]/.test(text)) return undefined;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return undefined;
  }
}

/** The view a frame opens in: JSON when it is JSON, text when it is clean UTF-8, else hex. */
export function defaultView(bytes: Uint8Array): 'json' | 'text' | 'hex' {
  if (prettyJson(bytes) !== undefined) return 'json';
  if (!isValidUtf8(bytes)) return 'hex';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return 'hex';
  }
  return 'text';
}

export const DIRECTION_LABELS: Record<string, string> = { in: 'in', out: 'out', toTarget: '→target', fromTarget: '←target' };
