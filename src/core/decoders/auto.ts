/**
 * `auto`: picks a decoder per message where that is safe, and says which in
 * `decoder`: Jupyter when a frame is `<IDS|MSG>`; JSON when every body frame
 * starts like an object or array and parses; MessagePack when every body frame
 * is a map that decodes to its last byte; else UTF-8 text when printable.
 * Protobuf is never guessed (nearly any bytes parse as some message).
 */
import { decodeFrames, DecodeInput, DecodeResult, Decoder, frameText } from './decoder';
import { findDelimiter, JupyterDecoder } from './jupyter';
import { parseJsonFrame } from './json';
import { decodeMsgpackFrame } from './msgpack';
import { JupyterKey } from './jupyterKey';

function looksJson(f: Uint8Array): boolean {
  let i = 0;
  while (i < f.length && (f[i] === 0x20 || f[i] === 0x09 || f[i] === 0x0a || f[i] === 0x0d)) i++;
  return f[i] === 0x7b /* { */ || f[i] === 0x5b /* [ */;
}

/** fixmap, map16, map32: a message that is one MessagePack map (the common shape of msgpack payloads). */
function looksMsgpackMap(f: Uint8Array): boolean {
  return f.length > 0 && ((f[0] >= 0x80 && f[0] <= 0x8f) || f[0] === 0xde || f[0] === 0xdf);
}

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
    const tries: [string, (f: Uint8Array) => unknown][] = [
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
          if (!looksMsgpackMap(f)) throw new Error('not a MessagePack map');
          return decodeMsgpackFrame(f);
        },
      ],
      [
        'text',
        (f) => {
          const t = frameText(f);
          if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(t)) throw new Error('not printable');
          return t;
        },
      ],
    ];
    for (const [name, fn] of tries) {
      const r = decodeFrames(name, msg, fn);
      if (r.ok) return r;
    }
    return { ok: false, decoder: this.name, error: 'not Jupyter, JSON, a MessagePack map or UTF-8 text' };
  }
}
