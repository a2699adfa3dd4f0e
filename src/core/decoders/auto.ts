/**
 * `auto`: picks a decoder per message where that is safe, and says which in
 * `decoder`: Jupyter when a frame is `<IDS|MSG>`; JSON when every body frame
 * starts like an object or array and parses; MessagePack when every body frame
 * is a map or an array that decodes to its last byte; else UTF-8 text when printable.
 * When no one decoder reads every frame (a binary header, a text method name,
 * MessagePack arguments: a common RPC shape), each frame is read on its own
 * (`decoder` `auto`, `frames` naming each frame's: json, msgpack, text or bytes).
 * Protobuf is never guessed (nearly any bytes parse as some message).
 */
import { asBuffer } from '../base/bytes';
import { bodyFrames, decodeFrames, DecodeInput, DecodeOk, DecodeResult, Decoder, frameText } from './decoder';
import { findDelimiter, JupyterDecoder } from './jupyter';
import { parseJsonFrame } from './json';
import { decodeMsgpackFrame } from './msgpack';
import { JupyterKey } from './jupyterKey';

function looksJson(f: Uint8Array): boolean {
  let i = 0;
  while (i < f.length && (f[i] === 0x20 || f[i] === 0x09 || f[i] === 0x0a || f[i] === 0x0d)) i++;
  return f[i] === 0x7b /* { */ || f[i] === 0x5b /* [ */;
}

/**
 * A MessagePack map or array (fixmap, fixarray, array16/32, map16/32): the
 * shapes msgpack payloads take (Locust sends arrays). Their first bytes are
 * never printable ASCII, so text is not mistaken for them; scalars are not
 * guessed (any byte is some MessagePack integer).
 */
function looksMsgpackContainer(f: Uint8Array): boolean {
  return f.length > 0 && ((f[0] >= 0x80 && f[0] <= 0x9f) || (f[0] >= 0xdc && f[0] <= 0xdf));
}

function printableText(f: Uint8Array): string {
  const t = frameText(f);
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(t)) throw new Error('not printable');
  return t;
}

const TRIES: [string, (f: Uint8Array) => unknown][] = [
  [
    'json',
    (f) => {
      if (!looksJson(f)) throw new Error('not JSON');
      return parseJsonFrame(f);
    },
  ],
  [
    'msgpack',
    (f) => {
      if (!looksMsgpackContainer(f)) throw new Error('not a MessagePack map or array');
      return decodeMsgpackFrame(f);
    },
  ],
  ['text', printableText],
];

export class AutoDecoder implements Decoder {
  readonly name = 'auto';
  private readonly jupyter: JupyterDecoder;
  constructor(key?: JupyterKey) {
    this.jupyter = new JupyterDecoder(key);
  }

  decode(msg: DecodeInput): DecodeResult {
    if (msg.encrypted) return { ok: false, decoder: this.name, error: 'the message is CURVE-encrypted' };
    if (findDelimiter(msg.frames) >= 0) {
      const r = this.jupyter.decode(msg);
      if (r.ok) return r;
    }
    for (const [name, fn] of TRIES) {
      const r = decodeFrames(name, msg, fn);
      if (r.ok) return r;
    }
    return this.frameByFrame(msg) ?? { ok: false, decoder: this.name, error: 'not Jupyter, JSON, MessagePack (a map or an array) or UTF-8 text' };
  }

  /**
   * Each body frame by the first decoder that reads it, else as bytes; undefined
   * when that reads nothing more than the bytes (no frame decoded).
   */
  private frameByFrame(msg: DecodeInput): DecodeOk | undefined {
    const frames = bodyFrames(msg);
    const env = msg.frames.length - frames.length;
    if (frames.length < 2) return undefined;
    const values: unknown[] = [];
    const decoders: string[] = [];
    let decodedAny = false;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      let found: [string, unknown] | undefined;
      // a frame captured truncated is shown as the bytes kept, never half decoded
      if (msg.truncated?.[env + i] === undefined && f.length > 0) {
        for (const [name, fn] of TRIES) {
          try {
            found = [name, fn(f)];
            break;
          } catch {
            /* the next decoder */
          }
        }
      }
      if (found) decodedAny = true;
      else found = f.length === 0 ? ['text', ''] : ['bytes', { $bytes: asBuffer(f).toString('base64') }];
      decoders.push(found[0]);
      values.push(found[1]);
    }
    return decodedAny ? { ok: true, decoder: this.name, value: values, frames: decoders } : undefined;
  }
}
