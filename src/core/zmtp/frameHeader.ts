/**
 * Where the body of a ZMTP 3 frame is, read from its header in place (the
 * flags byte at `start`): a short frame has a 1-byte size, a long one (flag
 * 0x02) an 8-byte size of which a capture only ever needs the low 32 bits.
 */
import { u32be } from '../base/bytes';

const LONG = 0x02;

/** Offset of the body of the frame whose flags byte is at `start`. */
export function frameBodyStart(bytes: Uint8Array, start: number): number {
  return bytes[start] & LONG ? start + 9 : start + 2;
}

/** Size of the body of the frame whose flags byte is at `start`. */
export function frameBodyLength(bytes: Uint8Array, start: number): number {
  return bytes[start] & LONG ? u32be(bytes, start + 5) : bytes[start + 1];
}
