/** `text`: each body frame as UTF-8 text (fails on invalid UTF-8). */
import { decodeFrames, DecodeInput, DecodeResult, Decoder, frameText } from './decoder';

export class TextDecoderImpl implements Decoder {
  readonly name = 'text';
  decode(msg: DecodeInput): DecodeResult {
    return decodeFrames(this.name, msg, (f) => {
      try {
        return frameText(f);
      } catch {
        throw new Error('not valid UTF-8');
      }
    });
  }
  verbatim(): boolean {
    return true;
  }
}
