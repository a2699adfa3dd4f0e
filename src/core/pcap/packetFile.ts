/**
 * Streaming parser of pcap and pcapng files (as `tcpdump -w` and `tshark -w`
 * write them): push the file's bytes in chunks of any size, get its packets
 * with their link type and capture time. Memory: the part of one block that
 * straddles two chunks, never more than MAX_BLOCK_BYTES.
 *
 * pcap: the classic format, either byte order, micro- or nanosecond timestamps.
 * pcapng: Section Header, Interface Description (link type, if_tsresol),
 * Enhanced, Simple and the obsolete Packet blocks, several sections and byte
 * orders in one file; other blocks (statistics, name resolution, custom) are
 * skipped. A malformed or cut file throws PacketFileError with the offset.
 */
import { copyBytes } from '../base/bytes';

export class PacketFileError extends Error {}

export interface Packet {
  /** Capture time, epoch milliseconds with fractions. */
  ts: number;
  /** LINKTYPE_* of the interface the packet was captured on. */
  linkType: number;
  /** The captured bytes (a view valid only during the callback). */
  data: Uint8Array;
  /** The packet's length on the wire (more than data.length when the snap length cut it). */
  origLen: number;
  /** Which packet of the file it is (1-based, as Wireshark numbers them). */
  number: number;
}

/** A block (or a pcap record) larger than this is taken for a corrupt file, not buffered. */
const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

interface Interface {
  linkType: number;
  /** Timestamp units per millisecond. */
  unitsPerMs: number;
  snapLen: number;
}

export class PacketFileParser {
  private carry: Uint8Array = new Uint8Array(0);
  /** Bytes of the file consumed before `carry`. */
  private offset = 0;
  private kind: 'pcap' | 'pcapng' | undefined;
  private little = true;
  private pcapInterface: Interface | undefined;
  private interfaces: Interface[] = [];
  private packetNumber = 0;
  /** Packets seen so far. */
  get packets(): number {
    return this.packetNumber;
  }

  constructor(private readonly onPacket: (p: Packet) => void) {}

  /** Parses what `chunk` completes; the rest waits for the next push. */
  push(chunk: Uint8Array): void {
    let buf: Uint8Array;
    if (this.carry.length) {
      buf = new Uint8Array(this.carry.length + chunk.length);
      buf.set(this.carry);
      buf.set(chunk, this.carry.length);
    } else {
      buf = chunk;
    }
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = 0;
    for (;;) {
      const used = this.kind === 'pcapng' || (this.kind === undefined && isPcapng(buf, pos)) ? this.pcapngBlock(buf, dv, pos) : this.pcapUnit(buf, dv, pos);
      if (used === 0) break;
      pos += used;
    }
    this.offset += pos;
    // keep only the unfinished block (copied: the chunk may be reused by the caller)
    this.carry = pos === buf.length ? new Uint8Array(0) : copyBytes(buf, pos);
  }

  /** The file ended: throws when it ended inside a header or a packet. */
  end(): void {
    if (this.kind === undefined) throw new PacketFileError(this.carry.length ? `truncated: the file ends inside its ${this.carry.length}-byte header` : 'the file is empty');
    if (this.carry.length) {
      throw new PacketFileError(
        `truncated: the file ends inside ${this.kind === 'pcap' ? 'a packet record' : 'a block'} at byte ${this.offset} (${this.carry.length} byte(s) of it present) after packet ${this.packetNumber}`,
      );
    }
  }

  private fail(pos: number, what: string): never {
    throw new PacketFileError(`${what} at byte ${this.offset + pos}`);
  }

  /** pcap: the file header or one record; the bytes used, 0 when incomplete. */
  private pcapUnit(buf: Uint8Array, dv: DataView, pos: number): number {
    const left = buf.length - pos;
    if (this.kind === undefined) {
      if (left < 24) return 0;
      const magic = dv.getUint32(pos, false);
      let nano = false;
      if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) this.little = false;
      else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) this.little = true;
      else this.fail(pos, 'not a pcap or pcapng file (bad magic number)');
      nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
      const major = dv.getUint16(pos + 4, this.little);
      if (major !== 2) this.fail(pos, `unsupported pcap version ${major}`);
      this.kind = 'pcap';
      this.pcapInterface = { linkType: dv.getUint32(pos + 20, this.little) & 0xffff, unitsPerMs: nano ? 1e6 : 1e3, snapLen: dv.getUint32(pos + 16, this.little) };
      return 24;
    }
    if (left < 16) return 0;
    const sec = dv.getUint32(pos, this.little);
    const frac = dv.getUint32(pos + 4, this.little);
    const incl = dv.getUint32(pos + 8, this.little);
    const orig = dv.getUint32(pos + 12, this.little);
    if (incl > MAX_BLOCK_BYTES) this.fail(pos, `corrupt pcap record (captured length ${incl})`);
    if (left < 16 + incl) return 0;
    const itf = this.pcapInterface!;
    this.onPacket({ ts: sec * 1000 + frac / itf.unitsPerMs, linkType: itf.linkType, data: buf.subarray(pos + 16, pos + 16 + incl), origLen: Math.max(orig, incl), number: ++this.packetNumber });
    return 16 + incl;
  }

  /** pcapng: one block; the bytes used, 0 when incomplete. */
  private pcapngBlock(buf: Uint8Array, dv: DataView, pos: number): number {
    const left = buf.length - pos;
    if (left < 12) return 0;
    const type = dv.getUint32(pos, this.little);
    if (dv.getUint32(pos, false) === 0x0a0d0d0a) {
      // a Section Header: its byte-order magic says how to read the rest of the section
      const bom = dv.getUint32(pos + 8, false);
      if (bom === 0x1a2b3c4d) this.little = false;
      else if (bom === 0x4d3c2b1a) this.little = true;
      else this.fail(pos, 'corrupt pcapng section header (bad byte-order magic)');
      this.kind = 'pcapng';
      const len = this.blockLength(dv, pos, left);
      if (len === 0) return 0;
      const major = dv.getUint16(pos + 12, this.little);
      if (major !== 1) this.fail(pos, `unsupported pcapng version ${major}`);
      this.interfaces = [];
      return len;
    }
    const len = this.blockLength(dv, pos, left);
    if (len === 0) return 0;
    switch (type) {
      case 1: {
        // Interface Description: link type, snap length, options (if_tsresol)
        if (len < 20) this.fail(pos, 'corrupt interface description block');
        const itf: Interface = { linkType: dv.getUint16(pos + 8, this.little), snapLen: dv.getUint32(pos + 12, this.little), unitsPerMs: 1e3 };
        this.readOptions(dv, pos + 16, pos + len - 4, (code, at, olen) => {
          if (code === 9 && olen >= 1) {
            const r = buf[at];
            itf.unitsPerMs = (r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r) / 1000;
          }
        });
        this.interfaces.push(itf);
        break;
      }
      case 6: {
        // Enhanced Packet
        this.timedPacket(dv, buf, pos, len, 4, 'enhanced packet block');
        break;
      }
      case 3: {
        // Simple Packet: interface 0, no timestamp
        const itf = this.iface(0, pos);
        const orig = dv.getUint32(pos + 8, this.little);
        const cap = Math.min(orig, len - 16, itf.snapLen || Infinity);
        this.onPacket({ ts: 0, linkType: itf.linkType, data: buf.subarray(pos + 12, pos + 12 + cap), origLen: Math.max(orig, cap), number: ++this.packetNumber });
        break;
      }
      case 2: {
        // Packet (obsolete)
        this.timedPacket(dv, buf, pos, len, 2, 'packet block');
        break;
      }
      default:
      // statistics, name resolution, decryption secrets, custom blocks: nothing to read here
    }
    return len;
  }

  /** A block's total length once the whole block is present (checked against its trailing copy), else 0. */
  private blockLength(dv: DataView, pos: number, left: number): number {
    const len = dv.getUint32(pos + 4, this.little);
    if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK_BYTES) this.fail(pos, `corrupt pcapng block (length ${len})`);
    if (left < len) return 0;
    if (dv.getUint32(pos + len - 4, this.little) !== len) this.fail(pos, 'corrupt pcapng block (its two lengths differ)');
    return len;
  }

  /**
   * An Enhanced Packet block, or the obsolete Packet block (whose interface id is
   * 2 bytes, then 2 of drop count): timestamp, captured and original lengths, data.
   */
  private timedPacket(dv: DataView, buf: Uint8Array, pos: number, len: number, idBytes: 2 | 4, what: string): void {
    if (len < 32) this.fail(pos, `corrupt ${what}`);
    const itf = this.iface(idBytes === 4 ? dv.getUint32(pos + 8, this.little) : dv.getUint16(pos + 8, this.little), pos);
    const ts = (dv.getUint32(pos + 12, this.little) * 4294967296 + dv.getUint32(pos + 16, this.little)) / itf.unitsPerMs;
    const cap = dv.getUint32(pos + 20, this.little);
    const orig = dv.getUint32(pos + 24, this.little);
    if (28 + cap > len - 4) this.fail(pos, `corrupt ${what} (captured length beyond the block)`);
    this.onPacket({ ts, linkType: itf.linkType, data: buf.subarray(pos + 28, pos + 28 + cap), origLen: Math.max(orig, cap), number: ++this.packetNumber });
  }

  private iface(id: number, pos: number): Interface {
    const itf = this.interfaces[id];
    if (!itf) this.fail(pos, `packet of interface ${id}, which the section did not describe`);
    return itf;
  }

  private readOptions(dv: DataView, from: number, to: number, each: (code: number, at: number, len: number) => void): void {
    let p = from;
    while (p + 4 <= to) {
      const code = dv.getUint16(p, this.little);
      const olen = dv.getUint16(p + 2, this.little);
      if (code === 0) break;
      if (p + 4 + olen > to) break;
      each(code, p + 4, olen);
      p += 4 + ((olen + 3) & ~3);
    }
  }
}

function isPcapng(buf: Uint8Array, pos: number): boolean {
  return buf.length - pos >= 4 && buf[pos] === 0x0a && buf[pos + 1] === 0x0d && buf[pos + 2] === 0x0d && buf[pos + 3] === 0x0a;
}
