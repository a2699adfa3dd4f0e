/**
 * `cbor`: each body frame as one CBOR data item (RFC 8949); trailing bytes are
 * an error. A small reader written here, without a dependency: the npm
 * packages are ESM-only (cborg) or want a native add-on (cbor-x), and decoding
 * is all we need.
 *
 * Values come out JSON-safe, as the other decoders': byte strings as
 * `{ "$bytes": base64 }`, integers beyond 2^53 and bignums (tags 2, 3) as
 * decimal strings, maps as objects (a key that is not text becomes its JSON
 * text), dates (tags 0, 1) as ISO strings, other tags as `{ "$tag": n,
 * "value": … }`, undefined as null, NaN and infinities as strings. Everything
 * is bounded by the frame: a length beyond what is left is an error, never an
 * allocation. Items nested deeper than MAX_DECODED_DEPTH are read over without
 * recursion and stand as the depth cut. Bignums longer than MAX_BIGNUM_BYTES
 * stay tagged bytes (`{ "$tag": 2, "value": { "$bytes": … } }`): their decimal
 * text costs more than linear time (1 MiB: a second), and nobody reads it.
 *
 * Not in `auto`: almost any short byte string is some valid CBOR (and a
 * MessagePack map's first byte is a CBOR array's), so guessing would mislead.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { decodeFrames, DecodeInput, DecodeResult, Decoder, depthCut, jsonSafe, MAX_DECODED_DEPTH } from './decoder';
import { asBuffer } from '../base/bytes';

/** Bignums (tags 2, 3) up to this many bytes become decimal strings (1 KiB: 2,466 digits, RSA-8192 size). */
export const MAX_BIGNUM_BYTES = 1024;
const BREAK = Symbol('break');

class Reader {
  private at = 0;
  constructor(private readonly b: Uint8Array) {}

  get done(): boolean {
    return this.at >= this.b.length;
  }
  get offset(): number {
    return this.at;
  }

  private need(n: number): void {
    if (n > this.b.length - this.at) throw new Error(`truncated at byte ${this.at} (needs ${n} more, ${this.b.length - this.at} left)`);
  }

  private u8(): number {
    this.need(1);
    return this.b[this.at++];
  }

  private view(n: number): DataView {
    this.need(n);
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.at, n);
    this.at += n;
    return v;
  }

  /** The argument of an initial byte: a number, a bigint beyond 2^53, or undefined for "indefinite" (31). */
  private argument(ai: number): number | bigint | undefined {
    if (ai < 24) return ai;
    switch (ai) {
      case 24:
        return this.u8();
      case 25:
        return this.view(2).getUint16(0);
      case 26:
        return this.view(4).getUint32(0);
      case 27: {
        const v = this.view(8).getBigUint64(0);
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 31:
        return undefined;
      default:
        throw new Error(`reserved additional information ${ai} at byte ${this.at - 1}`);
    }
  }

  /** A length: bounded by the bytes left (each item takes at least one). */
  private length(arg: number | bigint | undefined, what: string): number {
    if (typeof arg !== 'number' || arg > this.b.length - this.at) throw new Error(`${what} of ${String(arg)} items/bytes with ${this.b.length - this.at} bytes left`);
    return arg;
  }

  private bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** Chunks of an indefinite byte or text string, each a definite string of the same major type. */
  private chunks(major: number): Uint8Array {
    const parts: Uint8Array[] = [];
    for (;;) {
      const ib = this.u8();
      if (ib === 0xff) break;
      if (ib >> 5 !== major || (ib & 31) === 31) throw new Error(`bad chunk in an indefinite-length string at byte ${this.at - 1}`);
      parts.push(this.bytes(this.length(this.argument(ib & 31), 'chunk')));
    }
    return Buffer.concat(parts);
  }

  private text(b: Uint8Array): string {
    if (!isUtf8(b)) throw new Error('text string not valid UTF-8');
    return asBuffer(b).toString('utf8');
  }

  item(depth = 0): unknown {
    // an array, map or tag (which nests too) past the limit; scalars there are kept, as capDepth keeps them
    const next = this.b[this.at] >> 5;
    if (depth >= MAX_DECODED_DEPTH && next >= 4 && next <= 6) {
      this.skip();
      return depthCut();
    }
    const ib = this.u8();
    const major = ib >> 5;
    const ai = ib & 31;
    if (major === 7) return this.simple(ai);
    const arg = this.argument(ai);
    switch (major) {
      case 0:
        return typeof arg === 'bigint' ? arg.toString() : this.definite(arg, 'integer');
      case 1:
        if (typeof arg === 'bigint') return (-1n - arg).toString();
        return this.definite(arg, 'negative integer') >= Number.MAX_SAFE_INTEGER ? (-1n - BigInt(arg!)).toString() : -1 - arg!;
      case 2:
        return { $bytes: b64(arg === undefined ? this.chunks(2) : this.bytes(this.length(arg, 'byte string'))) };
      case 3:
        return this.text(arg === undefined ? this.chunks(3) : this.bytes(this.length(arg, 'text string')));
      case 4: {
        const out: unknown[] = [];
        if (arg === undefined) {
          for (;;) {
            const v = this.itemOrBreak(depth);
            if (v === BREAK) return out;
            out.push(v);
          }
        }
        const n = this.length(arg, 'array');
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        const out: Record<string, unknown> = {};
        const n = arg === undefined ? Infinity : this.length(arg, 'map');
        for (let i = 0; i < n; i++) {
          const k = arg === undefined ? this.itemOrBreak(depth) : this.item(depth + 1);
          if (k === BREAK) break;
          const v = this.item(depth + 1);
          // defineProperty: a "__proto__" key is a key like any other
          Object.defineProperty(out, typeof k === 'string' ? k : JSON.stringify(k), { value: v, enumerable: true, writable: true, configurable: true });
        }
        return out;
      }
      case 6:
        return this.tagged(this.definite(arg, 'tag'), depth);
    }
    throw new Error('unreachable');
  }

  /**
   * Reads over one data item without building it, with a stack of the items
   * still due at each open level instead of recursion: any depth is safe.
   */
  private skip(): void {
    // items still to read at each open level; -1: an indefinite one, until a break
    const due: number[] = [1];
    while (due.length) {
      const top = due.length - 1;
      if (due[top] === 0) {
        due.pop();
        continue;
      }
      if (due[top] === -1 && this.b[this.at] === 0xff) {
        this.at++;
        due.pop();
        continue;
      }
      if (due[top] > 0) due[top]--;
      const ib = this.u8();
      const major = ib >> 5;
      const ai = ib & 31;
      if (major === 7) {
        this.simple(ai);
        continue;
      }
      const arg = this.argument(ai);
      if (major === 2 || major === 3) {
        if (arg === undefined) this.chunks(major);
        else this.bytes(this.length(arg, 'string'));
      } else if (major === 4) due.push(arg === undefined ? -1 : this.length(arg, 'array'));
      else if (major === 5) due.push(arg === undefined ? -1 : 2 * this.length(arg, 'map'));
      else if (major === 6) due.push(1);
    }
  }

  private definite(arg: number | bigint | undefined, what: string): number {
    if (typeof arg !== 'number') throw new Error(`indefinite-length ${what} at byte ${this.at - 1}`);
    return arg;
  }

  private itemOrBreak(depth: number): unknown {
    if (this.b[this.at] === 0xff) {
      this.at++;
      return BREAK;
    }
    return this.item(depth + 1);
  }

  private tagged(tag: number, depth: number): unknown {
    if ((tag === 2 || tag === 3) && this.b[this.at] >> 5 === 2) {
      // a bignum: its byte string read here, as bytes (no base64 round trip)
      const arg = this.argument(this.u8() & 31);
      const bytes = asBuffer(arg === undefined ? this.chunks(2) : this.bytes(this.length(arg, 'byte string')));
      if (bytes.length > MAX_BIGNUM_BYTES) return { $tag: tag, value: { $bytes: b64(bytes) } };
      // one parse of the hex text: linear, where a shift per byte was quadratic
      const n = bytes.length ? BigInt('0x' + bytes.toString('hex')) : 0n;
      return (tag === 2 ? n : -1n - n).toString();
    }
    const v = this.item(depth + 1);
    if (tag === 0 && typeof v === 'string') return v;
    if (tag === 1 && typeof v === 'number' && Number.isFinite(v)) {
      const d = new Date(v * 1000);
      if (!Number.isNaN(d.getTime())) return d.toISOString();
    }
    return { $tag: tag, value: v };
  }

  private simple(ai: number): unknown {
    switch (ai) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
      case 23:
        return null;
      case 24:
        return { $simple: this.u8() };
      case 25:
        return finite(halfFloat(this.view(2).getUint16(0)));
      case 26:
        return finite(this.view(4).getFloat32(0));
      case 27:
        return finite(this.view(8).getFloat64(0));
      case 31:
        throw new Error(`unexpected break at byte ${this.at - 1}`);
      default:
        if (ai < 20) return { $simple: ai };
        throw new Error(`reserved simple value ${ai} at byte ${this.at - 1}`);
    }
  }
}

const b64 = (b: Uint8Array) => asBuffer(b).toString('base64');
const finite = (v: number) => jsonSafe(v);

function halfFloat(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * 2 ** -14 * (mant / 1024);
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

/** One CBOR data item filling the whole frame; throws an Error that says what is wrong and where. */
export function decodeCborFrame(f: Uint8Array): unknown {
  if (f.length === 0) throw new Error('empty frame');
  const r = new Reader(f);
  const v = r.item();
  if (!r.done) throw new Error(`${f.length - r.offset} trailing bytes after the CBOR item`);
  return v;
}

export class CborDecoder implements Decoder {
  readonly name = 'cbor';
  decode(msg: DecodeInput): DecodeResult {
    return decodeFrames(this.name, msg, decodeCborFrame);
  }
}
