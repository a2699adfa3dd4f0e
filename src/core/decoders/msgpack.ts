/** `msgpack`: each body frame as one MessagePack value (@msgpack/msgpack; trailing bytes are an error). */
import { decode } from '@msgpack/msgpack';
import { decodeFrames, DecodeInput, DecodeResult, Decoder, jsonSafe } from './decoder';

export function decodeMsgpackFrame(f: Uint8Array): unknown {
  if (f.length === 0) throw new Error('empty frame');
  // useBigInt64: 64-bit integers stay exact (shown as strings), never rounded
  return jsonSafe(decode(f, { useBigInt64: true }));
}

export class MsgpackDecoder implements Decoder {
  readonly name = 'msgpack';
  decode(msg: DecodeInput): DecodeResult {
    return decodeFrames(this.name, msg, decodeMsgpackFrame);
  }
}
