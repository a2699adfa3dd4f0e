/**
 * Writing pcapng that Wireshark and tshark read: one section, one interface of
 * link type RAW (101: packets are IPv4/IPv6 datagrams, no link header), and
 * Enhanced Packet blocks with microsecond timestamps and, where there is
 * something to say, a packet comment (opt_comment). TcpStreamWriter turns the
 * bytes of one TCP connection into real TCP/IP packets: handshake, data
 * segments with consistent sequence and acknowledgement numbers and checksums,
 * and the closing FINs, so that Wireshark follows and reassembles the stream.
 */
import { isIP } from 'node:net';

export const LINKTYPE_RAW = 101;

/** Bytes of payload per TCP segment written (IPv4 and IPv6 both carry at most 64 KiB). */
const MAX_SEGMENT_PAYLOAD = 65000;

/** Encodes pcapng blocks; `out` receives each block's bytes. */
export class PcapngEncoder {
  constructor(private readonly out: (bytes: Buffer) => void) {
    this.out(sectionHeader());
    this.out(interfaceDescription(LINKTYPE_RAW));
  }

  /** One packet (an IP datagram) captured at `tsMs` (epoch ms, fractions kept to the microsecond). */
  packet(tsMs: number, data: Uint8Array, comment?: string): void {
    this.out(enhancedPacket(tsMs, data, comment));
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function sectionHeader(): Buffer {
  const shb = Buffer.alloc(28);
  shb.writeUInt32LE(0x0a0d0d0a, 0);
  shb.writeUInt32LE(28, 4);
  shb.writeUInt32LE(0x1a2b3c4d, 8);
  shb.writeUInt16LE(1, 12);
  shb.writeUInt16LE(0, 14);
  // section length unknown
  shb.writeInt32LE(-1, 16);
  shb.writeInt32LE(-1, 20);
  shb.writeUInt32LE(28, 24);
  return shb;
}

function interfaceDescription(linkType: number): Buffer {
  const name = Buffer.from('zmq-debug', 'utf8');
  // options: if_name (2), if_tsresol (9) = 6 (microseconds), end
  const optLen = 4 + pad4(name.length) + 4 + 4 + 4;
  const len = 16 + optLen + 4;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(1, 0);
  b.writeUInt32LE(len, 4);
  b.writeUInt16LE(linkType, 8);
  b.writeUInt32LE(0, 12); // snap length: none
  let p = 16;
  b.writeUInt16LE(2, p);
  b.writeUInt16LE(name.length, p + 2);
  name.copy(b, p + 4);
  p += 4 + pad4(name.length);
  b.writeUInt16LE(9, p);
  b.writeUInt16LE(1, p + 2);
  b[p + 4] = 6;
  p += 8;
  p += 4; // opt_endofopt
  b.writeUInt32LE(len, p);
  return b;
}

function enhancedPacket(tsMs: number, data: Uint8Array, comment?: string): Buffer {
  const c = comment ? Buffer.from(comment, 'utf8').subarray(0, 65000) : undefined;
  const optLen = c ? 4 + pad4(c.length) + 4 : 0;
  const len = 28 + pad4(data.length) + optLen + 4;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(6, 0);
  b.writeUInt32LE(len, 4);
  b.writeUInt32LE(0, 8);
  const us = Math.round(tsMs * 1000);
  b.writeUInt32LE(Math.floor(us / 4294967296), 12);
  b.writeUInt32LE(us % 4294967296, 16);
  b.writeUInt32LE(data.length, 20);
  b.writeUInt32LE(data.length, 24);
  b.set(data, 28);
  let p = 28 + pad4(data.length);
  if (c) {
    b.writeUInt16LE(1, p);
    b.writeUInt16LE(c.length, p + 2);
    c.copy(b, p + 4);
    p += 4 + pad4(c.length) + 4;
  }
  b.writeUInt32LE(len, p);
  return b;
}

export interface HostPort {
  host: string;
  port: number;
}

const SYN = 0x02;
const FIN = 0x01;
const PSH = 0x08;
const ACK = 0x10;

/**
 * One TCP connection written as packets: `client` connected to `server`.
 * Sequence numbers start from fixed initial numbers and advance by the bytes
 * written, so Wireshark's relative numbers are the stream offsets.
 */
export class TcpStreamWriter {
  private readonly src: Uint8Array;
  private readonly dst: Uint8Array;
  private readonly v6: boolean;
  /** Next sequence number of each direction. */
  private clientSeq = 0x10000000;
  private serverSeq = 0x20000000;
  private opened = false;
  private finished = false;

  constructor(
    private readonly encoder: PcapngEncoder,
    readonly client: HostPort,
    readonly server: HostPort,
  ) {
    const [a, b] = [addressBytes(client.host), addressBytes(server.host)];
    this.v6 = a.length === 16 || b.length === 16;
    this.src = this.v6 ? toV6(a) : a;
    this.dst = this.v6 ? toV6(b) : b;
  }

  /** The three-way handshake (written once, before the first data or on its own). */
  open(tsMs: number, comment?: string): void {
    if (this.opened) return;
    this.opened = true;
    this.segment(true, SYN, new Uint8Array(0), tsMs, comment, 0);
    this.clientSeq++;
    this.segment(false, SYN | ACK, new Uint8Array(0), tsMs);
    this.serverSeq++;
    this.segment(true, ACK, new Uint8Array(0), tsMs);
  }

  /** Bytes sent by the client (`fromClient`) or the server, as segments of at most 65,000 bytes. */
  data(fromClient: boolean, bytes: Uint8Array, tsMs: number, comment?: string): void {
    this.open(tsMs);
    for (let off = 0; off < bytes.length; off += MAX_SEGMENT_PAYLOAD) {
      const part = bytes.subarray(off, Math.min(bytes.length, off + MAX_SEGMENT_PAYLOAD));
      this.segment(fromClient, ACK | PSH, part, tsMs, off === 0 ? comment : undefined);
      this.advance(fromClient, part.length);
    }
  }

  /** Bytes that were sent but are not written (the file could not keep up): the sequence numbers jump, Wireshark shows the gap. */
  skip(fromClient: boolean, bytes: number): void {
    this.advance(fromClient, bytes);
  }

  /** An empty ACK from one side carrying only a comment (something the stream itself cannot show). */
  note(fromClient: boolean, tsMs: number, comment: string): void {
    this.open(tsMs);
    this.segment(fromClient, ACK, new Uint8Array(0), tsMs, comment);
  }

  /** FIN from both sides. */
  close(tsMs: number, comment?: string): void {
    if (!this.opened || this.finished) return;
    this.finished = true;
    this.segment(true, FIN | ACK, new Uint8Array(0), tsMs, comment);
    this.clientSeq++;
    this.segment(false, FIN | ACK, new Uint8Array(0), tsMs);
    this.serverSeq++;
    this.segment(true, ACK, new Uint8Array(0), tsMs);
  }

  private advance(fromClient: boolean, n: number): void {
    if (fromClient) this.clientSeq = (this.clientSeq + n) >>> 0;
    else this.serverSeq = (this.serverSeq + n) >>> 0;
  }

  private segment(fromClient: boolean, flags: number, payload: Uint8Array, tsMs: number, comment?: string, ackOverride?: number): void {
    const [src, dst] = fromClient ? [this.src, this.dst] : [this.dst, this.src];
    const [sport, dport] = fromClient ? [this.client.port, this.server.port] : [this.server.port, this.client.port];
    const seq = fromClient ? this.clientSeq : this.serverSeq;
    const ack = ackOverride ?? (fromClient ? this.serverSeq : this.clientSeq);
    const ipHeader = this.v6 ? 40 : 20;
    const pkt = Buffer.alloc(ipHeader + 20 + payload.length);
    const tcpLen = 20 + payload.length;
    if (this.v6) {
      pkt[0] = 0x60;
      pkt.writeUInt16BE(tcpLen, 4);
      pkt[6] = 6;
      pkt[7] = 64;
      pkt.set(src, 8);
      pkt.set(dst, 24);
    } else {
      pkt[0] = 0x45;
      pkt.writeUInt16BE(ipHeader + tcpLen, 2);
      pkt.writeUInt16BE(0x4000, 6); // don't fragment
      pkt[8] = 64;
      pkt[9] = 6;
      pkt.set(src, 12);
      pkt.set(dst, 16);
      pkt.writeUInt16BE(checksum(pkt, 0, 20, 0), 10);
    }
    const t = ipHeader;
    pkt.writeUInt16BE(sport, t);
    pkt.writeUInt16BE(dport, t + 2);
    pkt.writeUInt32BE(seq >>> 0, t + 4);
    pkt.writeUInt32BE(flags & ACK ? ack >>> 0 : 0, t + 8);
    pkt[t + 12] = 5 << 4;
    pkt[t + 13] = flags;
    pkt.writeUInt16BE(65535, t + 14);
    pkt.set(payload, t + 20);
    // the pseudo-header's sum, then the segment's
    let pseudo = 6 + tcpLen;
    for (let i = 0; i < src.length; i += 2) pseudo += ((src[i] << 8) | src[i + 1]) + ((dst[i] << 8) | dst[i + 1]);
    pkt.writeUInt16BE(checksum(pkt, t, pkt.length, pseudo), t + 16);
    this.encoder.packet(tsMs, pkt, comment);
  }
}

/** The Internet checksum of buf[from, to) plus an initial sum. */
function checksum(buf: Uint8Array, from: number, to: number, initial: number): number {
  let sum = initial;
  let i = from;
  for (; i + 1 < to; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < to) sum += buf[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

function addressBytes(host: string): Uint8Array {
  const h = host.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(h);
  if (mapped) return addressBytes(mapped[1]);
  if (isIP(h) === 4) return Uint8Array.from(h.split('.').map(Number));
  if (isIP(h) === 6) {
    const [head, tail] = h.includes('::') ? h.split('::') : [h, undefined];
    const hg = head ? head.split(':') : [];
    const tg = tail ? tail.split(':') : [];
    const groups = tail === undefined ? hg : [...hg, ...Array<string>(8 - hg.length - tg.length).fill('0'), ...tg];
    const out = new Uint8Array(16);
    groups.forEach((g, i) => {
      const v = parseInt(g, 16);
      out[2 * i] = v >> 8;
      out[2 * i + 1] = v & 0xff;
    });
    return out;
  }
  // a host name (the tap's target given as `localhost:5555`): loopback, named in the packet comments
  return Uint8Array.from([127, 0, 0, 1]);
}

function toV6(a: Uint8Array): Uint8Array {
  if (a.length === 16) return a;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(a, 12);
  return out;
}
