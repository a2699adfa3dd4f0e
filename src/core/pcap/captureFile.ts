/**
 * Which kind of capture file a file is, from its first bytes: pcap (either byte
 * order, micro- or nanosecond timestamps), pcapng, or this project's own export
 * format (JSON Lines, a record object per line). Anything else is named as such,
 * so that `zmq-debug read` and Import Capture… can say why they refuse a file.
 */

export type CaptureFileKind = 'pcap' | 'pcapng' | 'jsonl';

/** Bytes to read before sniffing (a pcap header is 24). */
export const SNIFF_BYTES = 64;

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1]);
const PCAPNG_SHB = 0x0a0d0d0a;

/** The kind of capture `head` (the file's first bytes) starts, or an error text saying what it is not. */
export function sniffCaptureFile(head: Uint8Array): CaptureFileKind | { error: string } {
  if (head.length === 0) return { error: 'the file is empty' };
  if (head.length >= 4) {
    const be = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
    if (PCAP_MAGICS.has(be)) return 'pcap';
    if (be === PCAPNG_SHB) return 'pcapng';
  }
  // the export format: JSON objects, one a line (a UTF-8 BOM and blank lines allowed)
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  if (i < head.length && head[i] === 0x7b /* { */) return 'jsonl';
  if (i === head.length && head.length < SNIFF_BYTES) return { error: 'the file holds only blank space' };
  const hex = Buffer.from(head.subarray(0, 8)).toString('hex');
  return { error: `not a capture file: neither pcap, pcapng nor the JSON Lines export (it starts with 0x${hex})` };
}
