/**
 * The byte pre-check of a decoded-field filter (see Decoder.verbatim): whether
 * a message's frames may hold one of the strings an `==` demands, before any
 * decoding. A frame may hold it when it contains one of the needles' bytes, or
 * a backslash (a JSON escape could spell the string otherwise).
 *
 * Buffer.indexOf (memchr) beats a JavaScript byte loop even on short frames
 * held in the capture's chunks (measured): the needles are looked for in every
 * frame first, and the backslash only when none holds them.
 */
import type { Buffer } from 'node:buffer';
import { asBuffer } from '../base/bytes';

const BACKSLASH = 0x5c;

/**
 * True when one of `frames` holds one of `needles` (non-empty) or a backslash.
 * `holdsValues` (Decoder.holdsValues) leaves out frames no decoded value comes from.
 */
export function framesMayHold(frames: readonly Uint8Array[], needles: readonly Buffer[], holdsValues?: (frame: Uint8Array) => boolean): boolean {
  let searched = 0; // bit i: frame i searched (frames past 31 are always searched)
  for (let i = 0; i < frames.length; i++) {
    if (holdsValues && i < 31 && !holdsValues(frames[i])) continue;
    searched |= i < 31 ? 1 << i : 0;
    const b = asBuffer(frames[i]);
    for (let k = 0; k < needles.length; k++) if (b.indexOf(needles[k]) >= 0) return true;
  }
  for (let i = 0; i < frames.length; i++) if ((i >= 31 || searched & (1 << i)) && asBuffer(frames[i]).indexOf(BACKSLASH) >= 0) return true;
  return false;
}
