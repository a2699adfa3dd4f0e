/** `json`: each body frame parsed as JSON (UTF-8). */
import { decodeFrames, DecodeInput, DecodeResult, Decoder, frameText } from './decoder';

export function parseJsonFrame(f: Uint8Array): unknown {
  let text: string;
  try {
    text = frameText(f);
  } catch {
    throw new Error('not valid UTF-8');
  }
  return JSON.parse(text);
}

/** Why a frame cannot be JSON judging by its first byte (undefined: it may be); with `why` false, just 'not JSON'. */
export function notJsonStart(f: Uint8Array, why = true): string | undefined {
  let i = 0;
  while (i < f.length && (f[i] === 0x20 || f[i] === 0x09 || f[i] === 0x0a || f[i] === 0x0d)) i++;
  if (i === f.length) return f.length ? 'not JSON (only whitespace)' : 'not JSON (empty frame)';
  const c = f[i];
  // { [ " - 0-9 t f n: what a JSON text can start with
  if (c === 0x7b || c === 0x5b || c === 0x22 || c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x74 || c === 0x66 || c === 0x6e) return undefined;
  if (!why) return 'not JSON';
  return `not JSON (starts with ${c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`})`;
}

export class JsonDecoder implements Decoder {
  readonly name = 'json';
  decode(msg: DecodeInput): DecodeResult {
    return decodeFrames(this.name, msg, parseJsonFrame, notJsonStart);
  }
  verbatim(): boolean {
    return true;
  }
  /** A frame that does not start like JSON is a topic frame or fails the message: no value comes from it. */
  holdsValues(frame: Uint8Array): boolean {
    return notJsonStart(frame, false) === undefined;
  }
}
