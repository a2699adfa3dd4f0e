/**
 * Byte and text helpers used across the core: one of each, so the decoder,
 * the topology and the doctor read bytes the same way.
 */
import { Buffer } from 'node:buffer';

/** `b` as a Buffer over the same memory (no copy): frames from the capture are plain Uint8Array views. */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * A copy of `b` (or of `b[start..end)`) that owns its bytes. `b.slice()` is not one when `b` is a
 * Buffer (Buffer.slice is a view), and records read with Capture.peek hold
 * views whose memory the capture reuses: what is kept from them is copied here.
 */
export function copyBytes(b: Uint8Array, start?: number, end?: number): Uint8Array {
  return Uint8Array.prototype.slice.call(b, start, end);
}

/** The unsigned 32-bit big-endian number at `bytes[at..at+3]` (ZMTP sizes are network order). */
export function u32be(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/** Each byte as one character (ZMTP property values and mechanism names are ASCII). */
export function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** Hex digits of `b`, the first `max` bytes only when given, with `separator` between bytes. */
export function toHex(b: Uint8Array, max = b.length, separator = ''): string {
  let s = '';
  for (let i = 0; i < max && i < b.length; i++) s += (i ? separator : '') + b[i].toString(16).padStart(2, '0');
  return s;
}

/** The last part of a file path or URI path, either separator. */
export function baseName(file: string): string {
  const i = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return i >= 0 ? file.slice(i + 1) : file;
}

/** True when `bytes` begins with `prefix` (a subscription matching a topic). */
export function startsWithBytes(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.byteLength > bytes.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && startsWithBytes(a, b);
}
