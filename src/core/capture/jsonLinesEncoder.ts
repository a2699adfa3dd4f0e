/**
 * The export format's byte writer, for the CLI's `--json` (see JsonLinesEncoder):
 * the very bytes of exportFormat.ts's recordToLine, written faster.
 */
import { B64, b64, jv, recordToLine, SMALL_B64 } from './exportFormat';
import type { CapturedMessage, CaptureRecord } from './records';

const B64_CODES = Uint8Array.from(B64, (c) => c.charCodeAt(0));

/** The JSON text of a string-or-absent field as `,"key":"value"` ('' when absent). */
const stringField = (key: string, v: string | undefined): string => (v === undefined ? '' : `,"${key}":${JSON.stringify(v)}`);
/** The same for a number (as jv writes it). */
const numberField = (key: string, v: number | undefined): string => (v === undefined ? '' : `,"${key}":${jv(v)}`);

/**
 * The text of a message line between `seq` and the frames, from `,"session":`
 * to `"frames":[`, UTF-8 encoded: the same for every message of a session's
 * connection, so it is built once and copied.
 */
class MessageMiddle {
  constructor(
    readonly session: string | undefined,
    readonly source: string,
    readonly endpoint: string,
    readonly pid: number | undefined,
    readonly direction: string,
  ) {
    this.bytes = Buffer.from(
      stringField('session', session) + stringField('source', source) + stringField('endpoint', endpoint) + numberField('pid', pid) + stringField('direction', direction) + ',"frames":[',
    );
  }
  readonly bytes: Buffer;
  matches(r: CapturedMessage): boolean {
    return r.session === this.session && r.source === this.source && r.endpoint === this.endpoint && r.pid === this.pid && r.direction === this.direction;
  }
}

/** The text of a message line after its frames when it has no identity, from `]` to `}\n`: built once per connection. */
class MessageTail {
  constructor(
    readonly connection: number | undefined,
    readonly socketType: string | undefined,
    readonly peerSocketType: string | undefined,
    readonly envelopeFrames: number | undefined,
    readonly encrypted: boolean,
  ) {
    this.bytes = Buffer.from(
      ']' +
        numberField('connection', connection) +
        stringField('socketType', socketType) +
        stringField('peerSocketType', peerSocketType) +
        numberField('envelopeFrames', envelopeFrames) +
        (encrypted ? ',"encrypted":true' : '') +
        '}\n',
    );
  }
  readonly bytes: Buffer;
  matches(r: CapturedMessage): boolean {
    return r.connection === this.connection && r.socketType === this.socketType && r.peerSocketType === this.peerSocketType && r.envelopeFrames === this.envelopeFrames && !!r.encrypted === this.encrypted;
  }
}

/** The encoder's buffer (it grows for a longer line); a write is taken at about half of it. */
const BUFFER_BYTES = 128 * 1024;
/** Buffers kept for reuse: a write or two in flight, one being filled. */
const SPARE_BUFFERS = 4;

/** Middles and tails remembered: a capture's messages come from a few sessions and connections. */
const SEGMENTS_KEPT = 8;

const isOptional = (v: unknown, type: 'string' | 'number') => v === undefined || typeof v === type;

/**
 * A message the encoder writes from its cached segments: the fields of the
 * common shapes, typed as the records say (anything else goes through
 * recordToLine, which writes whatever it is given).
 */
function encodable(r: CaptureRecord): r is CapturedMessage {
  return (
    r.kind === 'message' &&
    r.process === undefined &&
    r.socket === undefined &&
    r.truncated === undefined &&
    typeof r.ts === 'number' &&
    typeof r.source === 'string' &&
    typeof r.endpoint === 'string' &&
    typeof r.direction === 'string' &&
    isOptional(r.session, 'string') &&
    isOptional(r.pid, 'number') &&
    isOptional(r.connection, 'number') &&
    isOptional(r.socketType, 'string') &&
    isOptional(r.peerSocketType, 'string') &&
    isOptional(r.envelopeFrames, 'number')
  );
}

/**
 * JSON Lines straight into bytes: the same text as `recordToLine(r) + '\n'` for
 * every record, UTF-8 encoded, but a message record (the bulk of a capture) is
 * written into one growing buffer with no string built for it: the line's
 * constant parts (kind and ts, the session's fields, the connection's tail) are
 * cached bytes copied in, seq's digits written in place, frames base64-encoded
 * in place. The CLI's `--json` writes hundreds of thousands of lines a second,
 * and the strings and their encoding were most of its cost. Other records go
 * through `recordToLine`.
 */
export class JsonLinesEncoder {
  private buf: Buffer = Buffer.allocUnsafeSlow(BUFFER_BYTES);
  /** Buffers given back (see recycle). */
  private readonly spare: Buffer[] = [];
  private pos = 0;
  /** `{"kind":"message","ts":` and the last ts's digits (a batch of messages shares its ts), and the same followed by `,"seq":`. */
  private headTs = NaN;
  private head = Buffer.alloc(0);
  private headSeq = Buffer.alloc(0);
  private readonly middles: MessageMiddle[] = [];
  private readonly tails: MessageTail[] = [];

  /** Bytes waiting to be taken. */
  get length(): number {
    return this.pos;
  }

  /**
   * The bytes so far, in a buffer of their own; the encoder starts over in a
   * buffer given back by recycle(), or a new one. No copy: copying into new
   * memory (its pages faulted in) was a fifth of the CLI's CPU under a flood.
   */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = this.spare.pop() ?? Buffer.allocUnsafeSlow(BUFFER_BYTES);
    this.pos = 0;
    return out;
  }

  /**
   * Gives back a buffer take() returned, once nothing uses it any more (e.g. in
   * the callback of the write that took it): a later take() fills its memory
   * again. Optional: a buffer never given back is garbage like any other.
   */
  recycle(b: Buffer): void {
    if (b.byteOffset === 0 && b.buffer.byteLength >= BUFFER_BYTES && this.spare.length < SPARE_BUFFERS && !this.spare.some((s) => s.buffer === b.buffer) && b.buffer !== this.buf.buffer) {
      this.spare.push(Buffer.from(b.buffer, 0, b.buffer.byteLength));
    }
  }


  add(r: CaptureRecord): void {
    if (!encodable(r)) {
      this.text(recordToLine(r) + '\n');
      return;
    }
    if (r.ts !== this.headTs || Number.isNaN(r.ts)) {
      this.headTs = r.ts;
      this.head = Buffer.from('{"kind":"message","ts":' + jv(r.ts));
      this.headSeq = Buffer.concat([this.head, Buffer.from(',"seq":')]);
    }
    const middle = this.middle(r);
    const tail = r.identity === undefined ? this.tail(r) : undefined;
    // an upper bound of the line's length (a seq's digits: 22 at most, as '' + n writes it)
    let need = this.head.length + 32 + middle.length + (tail ? tail.length : 256);
    for (const f of r.frames) need += 3 + 4 * Math.ceil(f.length / 3);
    if (r.identity) need += 4 * Math.ceil(r.identity.length / 3);
    this.reserve(need);
    if (!r.seq) this.bytes(this.head);
    else {
      this.bytes(this.headSeq);
      if (r.seq > 0 && Number.isSafeInteger(r.seq)) this.digits(r.seq);
      else this.ascii(jv(r.seq));
    }
    this.bytes(middle);
    const frames = r.frames;
    for (let i = 0; i < frames.length; i++) {
      if (i) this.buf[this.pos++] = 0x2c;
      this.buf[this.pos++] = 0x22;
      this.base64(frames[i]);
      this.buf[this.pos++] = 0x22;
    }
    if (tail) this.bytes(tail);
    else this.identityTail(r);
  }

  /** The tail of a message with an identity (a ROUTER's): written field by field. */
  private identityTail(r: CapturedMessage): void {
    this.ascii(']' + numberField('connection', r.connection));
    this.text(stringField('socketType', r.socketType) + stringField('peerSocketType', r.peerSocketType));
    this.ascii(',"identity":"');
    this.base64(r.identity!);
    this.ascii('"' + numberField('envelopeFrames', r.envelopeFrames) + (r.encrypted ? ',"encrypted":true' : '') + '}\n');
  }

  private middle(r: CapturedMessage): Buffer {
    const kept = this.middles;
    for (let i = 0; i < kept.length; i++) if (kept[i].matches(r)) return kept[i].bytes;
    if (kept.length >= SEGMENTS_KEPT) kept.pop();
    const m = new MessageMiddle(r.session, r.source, r.endpoint, r.pid, r.direction);
    kept.unshift(m);
    return m.bytes;
  }

  private tail(r: CapturedMessage): Buffer {
    const kept = this.tails;
    for (let i = 0; i < kept.length; i++) if (kept[i].matches(r)) return kept[i].bytes;
    if (kept.length >= SEGMENTS_KEPT) kept.pop();
    const t = new MessageTail(r.connection, r.socketType, r.peerSocketType, r.envelopeFrames, !!r.encrypted);
    kept.unshift(t);
    return t.bytes;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /** Any text (room reserved here). */
  private text(s: string): void {
    this.reserve(Buffer.byteLength(s));
    this.pos += this.buf.write(s, this.pos);
  }

  /** A string known to be ASCII (numbers, the constant keys); room reserved. */
  private ascii(s: string): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** A positive safe integer's decimal digits, the text of `'' + v`; room reserved. */
  private digits(v: number): void {
    let n = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) n++;
    const buf = this.buf;
    let q = this.pos + n;
    this.pos = q;
    while (v >= 10) {
      const d = v % 10;
      buf[--q] = 0x30 + d;
      v = (v - d) / 10;
    }
    buf[--q] = 0x30 + v;
  }

  /** Bytes (room reserved): TypedArray set, a memcpy, ~8 times cheaper than a loop over 90 bytes or Buffer.copy. */
  private bytes(b: Buffer): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  private base64(b: Uint8Array): void {
    const n = b.length;
    if (n > SMALL_B64) {
      this.pos += this.buf.write(b64(b), this.pos, 'latin1');
      return;
    }
    const buf = this.buf;
    let p = this.pos;
    let i = 0;
    for (; i + 2 < n; i += 3) {
      const v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
      buf[p++] = B64_CODES[v >> 18];
      buf[p++] = B64_CODES[(v >> 12) & 63];
      buf[p++] = B64_CODES[(v >> 6) & 63];
      buf[p++] = B64_CODES[v & 63];
    }
    if (i + 1 === n) {
      const v = b[i] << 16;
      buf[p++] = B64_CODES[v >> 18];
      buf[p++] = B64_CODES[(v >> 12) & 63];
      buf[p++] = 0x3d;
      buf[p++] = 0x3d;
    } else if (i + 2 === n) {
      const v = (b[i] << 16) | (b[i + 1] << 8);
      buf[p++] = B64_CODES[v >> 18];
      buf[p++] = B64_CODES[(v >> 12) & 63];
      buf[p++] = B64_CODES[(v >> 6) & 63];
      buf[p++] = 0x3d;
    }
    this.pos = p;
  }
}
