/** Byte helpers of the ZMTP decoding. */

/** The unsigned 32-bit big-endian number at `bytes[at..at+3]` (ZMTP sizes are network order). */
export function u32be(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}
