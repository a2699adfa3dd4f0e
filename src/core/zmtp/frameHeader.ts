/**
 * Where the body of a ZMTP 3 frame is, read from its header in place (the
 * flags byte at `start`): a short frame has a 1-byte size, a long one (flag
 * 0x02) an 8-byte size of which a capture only ever needs the low 32 bits.
 * And the walk over frames that lie whole and back to back (a message as the
 * tap keeps its wire bytes).
 */
import { u32be } from '../base/bytes';

const LONG = 0x02;
const EMPTY = new Uint8Array(0);

/** Offset of the body of the frame whose flags byte is at `start`. */
export function frameBodyStart(bytes: Uint8Array, start: number): number {
  return bytes[start] & LONG ? start + 9 : start + 2;
}

/** Size of the body of the frame whose flags byte is at `start`. */
export function frameBodyLength(bytes: Uint8Array, start: number): number {
  return bytes[start] & LONG ? u32be(bytes, start + 5) : bytes[start + 1];
}

/**
 * Where the bodies of `count` ZMTP frames from `bytes[start]` lie, without a
 * view per frame: body k is `bytes[starts[k], ends[k])`. The arrays must hold
 * `count` entries.
 */
export function wireFrameSpans(bytes: Uint8Array, start: number, count: number, starts: Uint32Array, ends: Uint32Array): void {
  let p = start;
  for (let k = 0; k < count; k++) {
    const body = frameBodyStart(bytes, p);
    starts[k] = body;
    ends[k] = p = body + frameBodyLength(bytes, p);
  }
}

/**
 * The bodies of `count` ZMTP data frames that lie whole in `bytes` from `start`
 * (as the decoder's wire path hands them out: short headers, or long ones below
 * 4 GiB), as views appended to `out`.
 */
export function wireFrameViews(bytes: Uint8Array, start: number, count: number, out: Uint8Array[] = []): Uint8Array[] {
  if (spanStarts.length < count) {
    spanStarts = new Uint32Array(count);
    spanEnds = new Uint32Array(count);
  }
  wireFrameSpans(bytes, start, count, spanStarts, spanEnds);
  for (let k = 0; k < count; k++) {
    const s = spanStarts[k];
    const size = spanEnds[k] - s;
    out.push(size > 0 ? new Uint8Array(bytes.buffer, bytes.byteOffset + s, size) : EMPTY);
  }
  return out;
}
/** wireFrameViews' scratch spans (single-threaded, used and done within one call). */
let spanStarts = new Uint32Array(64);
let spanEnds = new Uint32Array(64);
