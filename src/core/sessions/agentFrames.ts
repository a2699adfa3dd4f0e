/**
 * The framing of an agent's connection (docs/agent-protocol.md): each frame is
 * a 4-byte big-endian length, then that many bytes of body. The bytes come in
 * chunks that cut frames anywhere (socket reads, reads of the agent's shared
 * ring); the reader hands over each whole frame's body in order.
 *
 * At 100,000 messages a second most frames lie whole inside a chunk and are
 * handed over as views of it, never copied; only a frame cut by a chunk's end
 * is joined, once, when its last byte is in (its pieces are collected, not
 * copied per read). Its length is checked on its header, before its body is
 * buffered: a reader never holds more than one frame's worth.
 */

/** Where a reader's frames go. */
export interface FrameSink {
  /** One whole frame's body: a view valid during the call only. False stops the reading (the connection was closed). */
  frame(body: Buffer): boolean;
  /** A frame's header gave a length that is not allowed (0, or over the reader's maxBytes): reading stops. */
  badLength(len: number): void;
}

export class FrameReader {
  /** The start of an unfinished frame: pieces of earlier chunks, in order. */
  private pending: Buffer[] = [];
  private held = 0;
  /** Pieces at the start of `pending` that are copies of their own (detach). */
  private owned = 0;

  /** `maxBytes`: the largest body accepted now (the collector raises it after the hello). */
  constructor(
    private readonly sink: FrameSink,
    public maxBytes: number,
  ) {}

  /** Bytes of an unfinished frame held. */
  get heldBytes(): number {
    return this.held;
  }

  /** Reads the frames `chunk` completes or holds; false when the reading stopped (a bad length, or the sink said so). */
  push(chunk: Buffer): boolean {
    let buf = chunk;
    if (this.held) {
      const total = this.held + chunk.length;
      const len = total < 4 ? -1 : lengthAcross(this.pending, chunk);
      if (len >= 0 && !this.lengthOk(len)) return false;
      if (len < 0 || total < 4 + len) {
        this.pending.push(chunk);
        this.held = total;
        return true;
      }
      // the frame's last bytes are in this chunk: join that frame alone, read the rest in place
      const take = 4 + len - this.held;
      this.pending.push(chunk.subarray(0, take));
      const frame = Buffer.concat(this.pending, 4 + len);
      this.clear();
      if (!this.sink.frame(frame.subarray(4))) return false;
      buf = chunk.subarray(take);
    }
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (!this.lengthOk(len)) return false;
      if (buf.length - off - 4 < len) break;
      const body = buf.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      if (!this.sink.frame(body)) return false;
    }
    if (off < buf.length) {
      this.pending = [buf.subarray(off)];
      this.held = buf.length - off;
      this.owned = 0;
    }
    return true;
  }

  /** The held bytes become copies of their own: the chunks they were read from may be written over. */
  detach(): void {
    for (let i = this.owned; i < this.pending.length; i++) this.pending[i] = Buffer.from(this.pending[i]);
    this.owned = this.pending.length;
  }

  clear(): void {
    this.pending = [];
    this.held = 0;
    this.owned = 0;
  }

  private lengthOk(len: number): boolean {
    if (len !== 0 && len <= this.maxBytes) return true;
    this.clear();
    this.sink.badLength(len);
    return false;
  }
}

/** The big-endian u32 that starts the bytes of `pieces` followed by `next` (at least 4 bytes in all). */
function lengthAcross(pieces: readonly Buffer[], next: Buffer): number {
  if (pieces[0].length >= 4) return pieces[0].readUInt32BE(0);
  let v = 0;
  let got = 0;
  for (const p of [...pieces, next]) {
    for (let i = 0; i < p.length && got < 4; i++, got++) v = v * 256 + p[i];
    if (got === 4) break;
  }
  return v;
}
