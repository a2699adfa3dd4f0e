/**
 * Streaming decoder for ONE direction of a ZMTP 3.x connection (23/ZMTP, 37/ZMTP,
 * 24/ZMTP-PLAIN, 26/CurveZMQ). Push the bytes as they pass; greetings, commands
 * and multipart messages come out through a handler.
 *
 * It never throws on what it is fed: anything it cannot follow moves it to the
 * `undecodable` state with a reason, after which it only counts bytes. Memory is
 * bounded: a frame header (at most 9 bytes) plus, per frame, at most
 * `maxCapturedFrameBytes` of payload (commands: `maxCommandBytes`), and per
 * pending multipart message `maxCapturedMessageBytes`; the rest of a frame is
 * counted, not stored, however large its declared size.
 *
 * Hot path: no per-byte work except for headers that straddle chunks; a frame
 * that lies whole in the pushed chunk is handed out as a view of it (no copy),
 * only frames across chunks and commands are copied. With `wireMessages`, a whole
 * message that lies in one chunk is not even split into frames: the handler gets
 * its wire bytes, a batch of such messages per chunk (see
 * `ZmtpDecoderHandler.wireMessages`).
 */
import { latin1, toHex, u32be } from '../base/bytes';
import { parseCommand, type ZmtpCommand } from './commands';
import { wireFrameViews } from './frameHeader';

export type { ZmtpCommand } from './commands';

export interface ZmtpGreeting {
  /** "3.0", "3.1", ... */
  version: string;
  major: number;
  minor: number;
  /** NULL, PLAIN, CURVE, GSSAPI or whatever the peer announced. */
  mechanism: string;
  asServer: boolean;
}

export interface ZmtpDecoderHandler {
  greeting(g: ZmtpGreeting): void;
  command(c: ZmtpCommand): void;
  /**
   * A complete multipart message. `truncated` maps frame index → original size
   * for frames cut to the capture limit. Encrypted (CURVE) frames are empty with
   * their plaintext size in `truncated`; libzmq carries the MORE flag inside the
   * box, so each encrypted frame comes out as a message of its own.
   */
  message(frames: Uint8Array[], truncated: Record<number, number> | undefined, encrypted: boolean): void;
  /**
   * With the `wireMessages` option: whole multipart messages that lay in the
   * pushed chunk, nothing truncated or encrypted, as their wire bytes: message i
   * is `chunk[batch.start[i], batch.end[i])`, `batch.frames[i]` ZMTP frames
   * (header + body each) carrying `batch.payload[i]` body bytes. Every other
   * message still comes through `message()`, in order: a batch is handed out
   * before any other callback. Batch and span are only valid during the call
   * (copy what you keep).
   */
  wireMessages?(chunk: Uint8Array, batch: WireBatch): void;
  undecodable(reason: string): void;
}

/** Messages as wire bytes within one chunk (see ZmtpDecoderHandler.wireMessages). */
export interface WireBatch {
  count: number;
  start: ArrayLike<number>;
  end: ArrayLike<number>;
  frames: ArrayLike<number>;
  payload: ArrayLike<number>;
}

export interface ZmtpDecoderOptions {
  /** Payload bytes kept per message frame; the rest is counted. Default 64 KiB. */
  maxCapturedFrameBytes?: number;
  /** Bytes kept per command frame (READY metadata, ERROR, ...). Default 64 KiB. */
  maxCommandBytes?: number;
  /** Payload bytes kept per multipart message; later frames are kept empty with their size. Default 4 MiB. */
  maxCapturedMessageBytes?: number;
  /**
   * A message with more frames than this is handed out in parts of this many
   * frames, so that an endless run of MORE frames cannot grow memory. Default 10,000.
   */
  maxFramesPerMessage?: number;
  /**
   * Hand whole in-chunk messages to `handler.wireMessages` as wire bytes instead of
   * frame views: the tap's fast path into the capture. Default false.
   */
  wireMessages?: boolean;
  /**
   * The pushed chunks are reused buffers (a socket's `onread` buffer): no frame
   * handed to `message()` may be a view of one, so frames are copied. The wire
   * path is unaffected (its batch is only valid during the call anyway). Default false.
   */
  transientChunks?: boolean;
}

const enum State {
  Greeting,
  Header,
  Body,
  Undecodable,
}

const FLAG_MORE = 0x01;
const FLAG_LONG = 0x02;
const FLAG_COMMAND = 0x04;
const GREETING_SIZE = 64;
/** CURVE MESSAGE body: "\x07MESSAGE" (8) + short nonce (8) + MAC (16) + flags (1) precede the payload. */
const CURVE_MESSAGE_OVERHEAD = 33;
const EMPTY = new Uint8Array(0);

export class ZmtpDecoder {
  private state = State.Greeting;
  private readonly greetingBuf = new Uint8Array(GREETING_SIZE);
  private greetingLen = 0;
  private readonly hdr = new Uint8Array(9);
  private hdrLen = 0;

  // current frame
  private flags = 0;
  private remaining = 0;
  private frameSize = 0;
  private capture = 0;
  private cur: Uint8Array = EMPTY;
  private curLen = 0;

  // current multipart message
  private frames: Uint8Array[] = [];
  private truncated: Record<number, number> | undefined;
  private encrypted = false;
  private messageBytes = 0;
  /**
   * Wire path: the current message's first `wireFrames` frames lie whole in the
   * chunk being decoded, from `wireStart`; no frame views made for them yet.
   */
  private readonly wire: boolean;
  private wireFrames = 0;
  private wireStart = 0;
  /** The chunk's whole messages so far, handed out together (flushWire). */
  private batch = { count: 0, start: new Uint32Array(256), end: new Uint32Array(256), frames: new Uint32Array(256), payload: new Uint32Array(256) };
  private batchChunk: Uint8Array = EMPTY;
  /** The sender is SUB/XSUB: its one-frame messages may be 3.0-style subscriptions (never on the wire path). */
  private subscriber = false;

  private readonly maxFrame: number;
  private readonly maxCommand: number;
  private readonly maxMessage: number;
  private readonly maxFrames: number;
  /** Chunks are reused after push(): message frames are copies, never views. */
  private readonly transient: boolean;

  /** Set when this chunk carried a PLAIN HELLO: no frame may then point into it (the password is there). */
  private noViews = false;
  private curve = false;
  private plain = false;
  private _greeting: ZmtpGreeting | undefined;
  private _socketType: string | undefined;
  private _identity: Uint8Array | undefined;
  private _reason: string | undefined;

  /** Counters: bytes pushed, frames, messages and commands decoded. */
  bytes = 0;
  framesDecoded = 0;
  messages = 0;
  commands = 0;

  constructor(
    private readonly handler: ZmtpDecoderHandler,
    options: ZmtpDecoderOptions = {},
  ) {
    this.maxFrame = clampLimit(options.maxCapturedFrameBytes, 64 * 1024);
    this.maxCommand = Math.max(300, clampLimit(options.maxCommandBytes, 64 * 1024)); // room for any command name
    this.maxMessage = clampLimit(options.maxCapturedMessageBytes, 4 * 1024 * 1024);
    this.maxFrames = Math.max(1, clampLimit(options.maxFramesPerMessage, 10_000));
    this.wire = options.wireMessages === true && typeof handler.wireMessages === 'function';
    this.transient = options.transientChunks === true;
  }

  get greeting(): ZmtpGreeting | undefined {
    return this._greeting;
  }
  /** The Socket-Type this side announced in READY (or PLAIN INITIATE). */
  get socketType(): string | undefined {
    return this._socketType;
  }
  /** The Identity this side announced, when not empty. */
  get identity(): Uint8Array | undefined {
    return this._identity;
  }
  get isUndecodable(): boolean {
    return this.state === State.Undecodable;
  }
  get reason(): string | undefined {
    return this._reason;
  }
  /** True when a multipart message has begun but not ended (a close now cuts it off). */
  get hasPartialMessage(): boolean {
    if (this.state === State.Undecodable || this.state === State.Greeting) return false;
    return this.frames.length > 0 || (this.state === State.Body && (this.flags & FLAG_COMMAND) === 0) || this.hdrLen > 0;
  }

  /** Bytes held for the frame being decoded (header + captured payload + pending message). For tests of the memory bound. */
  get bufferedBytes(): number {
    return this.hdrLen + this.curLen + this.messageBytes;
  }

  /**
   * Decodes the next bytes of the stream. Message frames handed out may be views
   * of `chunk`: do not modify a chunk after pushing it.
   */
  push(chunk: Uint8Array): void {
    this.decodeChunk(chunk);
    this.flushWire();
    // a message that goes on in the next chunk: its frames here become views now
    if (this.wireFrames > 0) this.materializeWireFrames(chunk);
  }

  private decodeChunk(chunk: Uint8Array): void {
    const end = chunk.length;
    this.bytes += end;
    this.noViews = false;
    let pos = 0;
    while (pos < end) {
      switch (this.state) {
        case State.Undecodable:
          return;
        case State.Greeting:
          pos = this.pushGreeting(chunk, pos, end);
          break;
        case State.Header: {
          let flags: number;
          let size: number;
          const headerStart = pos;
          let headerInChunk = true;
          if (this.hdrLen === 0 && end - pos >= 2 && (chunk[pos] & FLAG_LONG) === 0) {
            // fast path: a short header entirely in this chunk
            flags = chunk[pos];
            size = chunk[pos + 1];
            pos += 2;
          } else if (this.hdrLen === 0 && end - pos >= 9 && chunk[pos + 1] === 0 && chunk[pos + 2] === 0 && chunk[pos + 3] === 0 && chunk[pos + 4] === 0) {
            // fast path: a long header (size < 4 GiB) entirely in this chunk
            flags = chunk[pos];
            size = u32be(chunk, pos + 5);
            pos += 9;
          } else {
            // slow path: gather the header byte by byte (at most 9)
            headerInChunk = false;
            const hdr = this.hdr;
            if (this.hdrLen === 0) hdr[this.hdrLen++] = chunk[pos++];
            const need = hdr[0] & FLAG_LONG ? 9 : 2;
            while (this.hdrLen < need && pos < end) hdr[this.hdrLen++] = chunk[pos++];
            if (this.hdrLen < need) return;
            this.hdrLen = 0;
            flags = hdr[0];
            if (need === 2) size = hdr[1];
            else {
              const high = u32be(hdr, 1);
              const low = u32be(hdr, 5);
              if (high > 0x1fffff) {
                this.fail(`frame size ${high.toString(16)}${low.toString(16).padStart(8, '0')} (hex) is beyond any real frame`);
                return;
              }
              size = high * 4294967296 + low;
            }
          }
          if (
            this.wire &&
            headerInChunk &&
            (flags & ~(FLAG_MORE | FLAG_LONG)) === 0 && // a data frame, no reserved bits
            end - pos >= size && // its body is here too
            this.frames.length === 0 && // and no frame of this message came in an earlier chunk
            !this.curve &&
            !this.noViews &&
            !this.subscriber &&
            size <= this.dataFrameLimit()
          ) {
            // wire path: the frame is whole here and kept whole; count it and move on
            if (this.wireFrames === 0) this.wireStart = headerStart;
            this.wireFrames++;
            this.framesDecoded++;
            this.messageBytes += size;
            pos += size;
            if ((flags & FLAG_MORE) === 0 || this.wireFrames >= this.maxFrames) this.emitWireMessage(chunk, pos);
            break;
          }
          if (this.wireFrames > 0) this.materializeWireFrames(chunk);
          if (!this.beginFrame(flags, size)) return;
          if (size === 0) {
            this.endFrame();
            break;
          }
          const n = this.capture;
          if (end - pos >= size) {
            // fast path: the whole body is in this chunk. A message frame is a view of
            // it, no copy (the chunk is the socket's own fresh buffer, and the capture
            // evicts oldest first, so views release chunks in order). Commands are
            // copied: their body is wiped after parsing, and that must never touch
            // relayed bytes.
            if (n > 0) {
              // (a plain Uint8Array view costs a fraction of Buffer#subarray)
              if ((this.flags & FLAG_COMMAND) === 0 && !this.noViews && !this.transient) this.cur = new Uint8Array(chunk.buffer, chunk.byteOffset + pos, n);
              else {
                this.cur = new Uint8Array(n);
                copyInto(this.cur, 0, chunk, pos, n);
              }
            }
            this.curLen = n;
            pos += size;
            this.remaining = 0;
            this.endFrame();
          } else if (n > 0) {
            this.cur = new Uint8Array(n); // a frame across chunks is assembled in a copy
          }
          break;
        }
        case State.Body: {
          const avail = end - pos;
          const take = avail < this.remaining ? avail : this.remaining;
          const room = this.capture - this.curLen;
          if (room > 0) {
            const n = take < room ? take : room;
            copyInto(this.cur, this.curLen, chunk, pos, n);
            this.curLen += n;
          }
          pos += take;
          this.remaining -= take;
          if (this.remaining === 0) this.endFrame();
          break;
        }
      }
    }
  }

  private pushGreeting(chunk: Uint8Array, pos: number, end: number): number {
    const g = this.greetingBuf;
    const before = this.greetingLen;
    const n = Math.min(GREETING_SIZE - before, end - pos);
    g.set(chunk.subarray(pos, pos + n), before);
    this.greetingLen = before + n;
    const have = this.greetingLen;
    // Decide as early as the bytes allow: libzmq sends the first 11 bytes and
    // waits for the peer's before sending the rest.
    if (g[0] !== 0xff) {
      if (have < 2) return pos + n;
      // ZMTP 1.0 starts with an identity frame: length (≥1, includes flags) then flags 0/1.
      if (g[0] >= 1 && (g[1] & 0xfe) === 0) this.fail('not decoded: version 1.0');
      else if (have < 8) return pos + n; // show 8 bytes, however the stream was cut into chunks
      else this.fail(`not ZMTP: stream starts with ${streamStart(g, 8)}`);
      return end;
    }
    if (have < 10) return pos + n;
    if ((g[9] & 1) === 0) {
      this.fail('not decoded: version 1.0');
      return end;
    }
    // the signature is %xFF, 8 bytes of padding, %x7F (2.0 and 3.x alike): anything else is not ZMTP,
    // whatever the next bytes would read as (an endless stream once passed for a 'ZZZZ…' mechanism)
    if (g[9] !== 0x7f) {
      this.fail(`not ZMTP: no greeting signature (stream starts with ${streamStart(g, 10)})`);
      return end;
    }
    if (have < 11) return pos + n;
    const major = g[10];
    if (major < 3) {
      this.fail(`not decoded: version ${major === 0 ? '1.0' : major === 1 ? '2.0' : `${major}.x`}`);
      return end;
    }
    if (major > 3) {
      // there is no ZMTP 4: bytes that only look like a signature
      this.fail(`not ZMTP: version ${major} in the greeting (stream starts with ${streamStart(g, 11)})`);
      return end;
    }
    if (have < GREETING_SIZE) return pos + n;
    const minor = g[11];
    let mechanism = '';
    let i = 12;
    for (; i < 32 && g[i] !== 0; i++) {
      const c = g[i];
      // 23/ZMTP: uppercase letters, digits, hyphen, underscore, dot, plus, slash
      if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2e || c === 0x2b || c === 0x2f)) {
        this.fail(`not ZMTP: bad mechanism name in greeting (${toHex(g.subarray(12, 32), 20, ' ')})`);
        return end;
      }
      mechanism += String.fromCharCode(c);
    }
    for (; i < 32; i++) {
      if (g[i] !== 0) {
        this.fail(`not ZMTP: bad mechanism name in greeting (${toHex(g.subarray(12, 32), 20, ' ')})`);
        return end;
      }
    }
    if (mechanism === '') {
      this.fail('not ZMTP: empty mechanism in greeting');
      return end;
    }
    this.curve = mechanism === 'CURVE';
    this.plain = mechanism === 'PLAIN';
    this._greeting = { version: `${major}.${minor}`, major, minor, mechanism, asServer: g[32] !== 0 };
    this.state = State.Header;
    this.handler.greeting(this._greeting);
    return pos + n;
  }

  /** Sets up the next frame; false when the header is invalid (the decoder is then undecodable). */
  private beginFrame(flags: number, size: number): boolean {
    if (flags & 0xf8) {
      this.fail(`reserved flag bits set in frame header (flags 0x${flags.toString(16).padStart(2, '0')})`);
      return false;
    }
    const command = (flags & FLAG_COMMAND) !== 0;
    if (command && flags & FLAG_MORE) {
      this.fail('command frame with the MORE flag');
      return false;
    }
    let limit: number;
    if (command) limit = this.curve ? Math.max(this.maxCommand, 16) : this.maxCommand;
    else {
      limit = this.dataFrameLimit();
      // CURVE message frames are recognized by their first 8 bytes
      if (this.curve && limit < 8) limit = 8;
    }
    this.flags = flags;
    this.frameSize = size;
    this.remaining = size;
    this.capture = size < limit ? size : limit;
    this.cur = EMPTY;
    this.curLen = 0;
    this.state = State.Body;
    this.framesDecoded++;
    return true;
  }

  /** Payload bytes the next data frame may keep: the frame limit, or what the message limit leaves. */
  private dataFrameLimit(): number {
    const left = this.maxMessage - this.messageBytes;
    return this.maxFrame < left ? this.maxFrame : left > 0 ? left : 0;
  }

  private emitWireMessage(chunk: Uint8Array, end: number): void {
    let b = this.batch;
    if (b.count === b.start.length) b = this.batch = growBatch(b);
    const i = b.count++;
    b.start[i] = this.wireStart;
    b.end[i] = end;
    b.frames[i] = this.wireFrames;
    b.payload[i] = this.messageBytes;
    this.batchChunk = chunk;
    this.wireFrames = 0;
    this.messageBytes = 0;
    this.messages++;
  }

  /** Hands out the batch of wire messages, before anything that comes after them. */
  private flushWire(): void {
    if (this.batch.count === 0) return;
    const chunk = this.batchChunk;
    this.batchChunk = EMPTY;
    try {
      this.handler.wireMessages!(chunk, this.batch);
    } finally {
      this.batch.count = 0;
    }
  }

  /**
   * The message on the wire path cannot be handed out whole (it goes on in the
   * next chunk, or a frame needs the general path): its frames so far become
   * views of the chunk, as the general path would have made them.
   */
  private materializeWireFrames(chunk: Uint8Array): void {
    const first = this.frames.length;
    wireFrameViews(chunk, this.wireStart, this.wireFrames, this.frames);
    if (this.transient) for (let i = first; i < this.frames.length; i++) this.frames[i] = this.frames[i].slice();
    this.wireFrames = 0;
  }

  private endFrame(): void {
    this.state = State.Header;
    const body = this.cur;
    const len = this.curLen;
    this.cur = EMPTY;
    this.curLen = 0;
    if (this.flags & FLAG_COMMAND) {
      this.onCommandFrame(body, len);
      return;
    }
    if (this.curve && isCurveMessage(body, len)) {
      this.addFrame(EMPTY, Math.max(0, this.frameSize - CURVE_MESSAGE_OVERHEAD), true);
    } else {
      const keep = len > this.maxFrame ? this.maxFrame : len;
      this.addFrame(keep < body.length ? body.subarray(0, keep) : body, this.frameSize, false);
    }
    if ((this.flags & FLAG_MORE) === 0) this.emitMessage();
    else if (this.frames.length >= this.maxFrames) this.emitMessage();
  }

  private addFrame(frame: Uint8Array, size: number, encrypted: boolean): void {
    const i = this.frames.length;
    this.frames.push(frame);
    if (size !== frame.length) (this.truncated ??= {})[i] = size;
    if (encrypted) this.encrypted = true;
    this.messageBytes += frame.length;
  }

  private emitMessage(): void {
    this.flushWire();
    const frames = this.frames;
    const truncated = this.truncated;
    const encrypted = this.encrypted;
    this.frames = [];
    this.truncated = undefined;
    this.encrypted = false;
    this.messageBytes = 0;
    // 3.0-style subscriptions: a one-frame message from SUB/XSUB starting with 1 (subscribe) or 0 (cancel)
    if (frames.length === 1 && !encrypted && frames[0].length > 0 && (frames[0][0] <= 1) && isSubscriber(this._socketType)) {
      const f = frames[0];
      const cut = truncated?.[0];
      this.commands++;
      this.handler.command({
        name: f[0] === 1 ? 'SUBSCRIBE' : 'CANCEL',
        topic: f.subarray(1),
        detail: cut === undefined ? '3.0 message form' : `3.0 message form, topic truncated (${cut - 1} B)`,
        size: cut ?? f.length,
      });
      return;
    }
    this.messages++;
    this.handler.message(frames, truncated, encrypted);
  }

  private onCommandFrame(body: Uint8Array, len: number): void {
    if (this.frameSize < 1 || 1 + body[0] > this.frameSize) {
      this.fail(`malformed command frame (${this.frameSize} B)`);
      return;
    }
    const parsed = parseCommand(body.subarray(0, len), this.frameSize, this.curve, this.plain);
    // the command keeps its own copies; wipe the body so that no secret (PLAIN
    // password, CURVE boxes) lingers in a pooled buffer another record may share
    body.fill(0);
    if (typeof parsed === 'string') {
      this.fail(parsed);
      return;
    }
    if (parsed.encryptedMessage) {
      // a CURVE MESSAGE sent as a command frame: its MORE flag is inside the box
      this.addFrame(EMPTY, Math.max(0, this.frameSize - CURVE_MESSAGE_OVERHEAD), true);
      this.emitMessage();
      return;
    }
    const c = parsed.command;
    if (this.plain && c.name === 'HELLO') this.noViews = true;
    if ((c.name === 'READY' || c.name === 'INITIATE') && c.properties) {
      for (const key of Object.keys(c.properties)) {
        const k = key.toLowerCase();
        if (k === 'socket-type') {
          this._socketType = latin1(c.properties[key]);
          this.subscriber = isSubscriber(this._socketType);
        } else if (k === 'identity' && c.properties[key].length > 0) this._identity = c.properties[key];
      }
    }
    this.commands++;
    this.flushWire();
    this.handler.command(c);
  }

  private fail(reason: string): void {
    if (this.state === State.Undecodable) return;
    this.flushWire();
    this.state = State.Undecodable;
    this._reason = reason;
    this.cur = EMPTY;
    this.curLen = 0;
    this.hdrLen = 0;
    this.frames = [];
    this.wireFrames = 0;
    this.truncated = undefined;
    this.messageBytes = 0;
    this.handler.undecodable(reason);
  }
}

/** The first `n` bytes in hex, and as text when they are printable ASCII (`48 54 54 50 … ("HTTP/1.1")`). */
function streamStart(g: Uint8Array, n: number): string {
  const head = g.subarray(0, n);
  const printable = head.every((c) => c >= 0x20 && c < 0x7f);
  return `${toHex(head, n, ' ')}${printable ? ` (${JSON.stringify(latin1(head))})` : ''}`;
}

function growBatch(b: { count: number; start: Uint32Array; end: Uint32Array; frames: Uint32Array; payload: Uint32Array }) {
  const grow = (a: Uint32Array) => {
    const bigger = new Uint32Array(a.length * 2);
    bigger.set(a);
    return bigger;
  };
  return { count: b.count, start: grow(b.start), end: grow(b.end), frames: grow(b.frames), payload: grow(b.payload) };
}

function clampLimit(v: number | undefined, dflt: number): number {
  if (v === undefined || !Number.isFinite(v)) return dflt;
  return Math.max(0, Math.floor(v));
}

function copyInto(dst: Uint8Array, at: number, src: Uint8Array, from: number, n: number): void {
  if (n <= 32) {
    for (let i = 0; i < n; i++) dst[at + i] = src[from + i];
  } else {
    dst.set(src.subarray(from, from + n), at);
  }
}

function isCurveMessage(b: Uint8Array, len: number): boolean {
  // "\x07MESSAGE"
  return (
    len >= 8 && b[0] === 7 && b[1] === 0x4d && b[2] === 0x45 && b[3] === 0x53 && b[4] === 0x53 && b[5] === 0x41 && b[6] === 0x47 && b[7] === 0x45
  );
}

function isSubscriber(t: string | undefined): boolean {
  return t === 'SUB' || t === 'XSUB';
}
