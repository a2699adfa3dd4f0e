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

export class JsonDecoder implements Decoder {
  readonly name = 'json';
  decode(msg: DecodeInput): DecodeResult {
    return decodeFrames(this.name, msg, parseJsonFrame);
  }
  verbatim(): boolean {
    return true;
  }
}
