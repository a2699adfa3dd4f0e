/**
 * Writes classic pcap files byte by byte for tests (written from the pcap
 * file format and RFC 791/793/8200, independently of src/core/pcap): TCP
 * segments over IPv4 or IPv6, behind Ethernet, Linux cooked (SLL), or BSD
 * null link headers, in whatever order and duplication a test wants.
 */

export interface Endpoint {
  ip: string;
  port: number;
}

export interface Seg {
  from: Endpoint;
  to: Endpoint;
  seq: number;
  ack?: number;
  flags?: { syn?: boolean; ack?: boolean; fin?: boolean; rst?: boolean };
  payload?: Uint8Array;
  /** Capture time, seconds (fractions to the microsecond). */
  t: number;
  /** Capture only this many bytes of the packet (snap length). */
  snap?: number;
}

export type Link = 'ethernet' | 'sll' | 'null';

const LINKTYPES: Record<Link, number> = { ethernet: 1, sll: 113, null: 0 };

function ipBytes(ip: string): Buffer {
  if (ip.includes(':')) {
    const [h, t] = ip.split('::');
    const hg = h ? h.split(':') : [];
    const tg = t !== undefined && t ? t.split(':') : [];
    const groups = t === undefined ? hg : [...hg, ...Array(8 - hg.length - tg.length).fill('0'), ...tg];
    const b = Buffer.alloc(16);
    groups.forEach((g: string, i: number) => b.writeUInt16BE(parseInt(g, 16), 2 * i));
    return b;
  }
  return Buffer.from(ip.split('.').map(Number));
}

/** One TCP/IP packet (no link header). */
export function ipPacket(s: Seg): Buffer {
  const payload = Buffer.from(s.payload ?? new Uint8Array(0));
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(s.from.port, 0);
  tcp.writeUInt16BE(s.to.port, 2);
  tcp.writeUInt32BE(s.seq >>> 0, 4);
  tcp.writeUInt32BE((s.ack ?? 0) >>> 0, 8);
  tcp[12] = 0x50;
  const f = s.flags ?? { ack: true };
  tcp[13] = (f.fin ? 1 : 0) | (f.syn ? 2 : 0) | (f.rst ? 4 : 0) | (f.ack ? 0x10 : 0) | (payload.length ? 8 : 0);
  tcp.writeUInt16BE(65535, 14);
  const src = ipBytes(s.from.ip);
  const dst = ipBytes(s.to.ip);
  if (src.length === 16) {
    const ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(20 + payload.length, 4);
    ip[6] = 6;
    ip[7] = 64;
    src.copy(ip, 8);
    dst.copy(ip, 24);
    return Buffer.concat([ip, tcp, payload]);
  }
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(40 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 6;
  src.copy(ip, 12);
  dst.copy(ip, 16);
  return Buffer.concat([ip, tcp, payload]);
}

function linkHeader(link: Link, v6: boolean): Buffer {
  const type = v6 ? 0x86dd : 0x0800;
  if (link === 'ethernet') {
    const h = Buffer.alloc(14);
    h.writeUInt16BE(type, 12);
    return h;
  }
  if (link === 'sll') {
    const h = Buffer.alloc(16);
    h.writeUInt16BE(772, 2); // ARPHRD_LOOPBACK
    h.writeUInt16BE(type, 14);
    return h;
  }
  const h = Buffer.alloc(4);
  h.writeUInt32LE(v6 ? 30 : 2, 0); // AF_INET / AF_INET6 (darwin) in host order
  return h;
}

export function pcapHeader(link: Link): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(LINKTYPES[link], 20);
  return h;
}

export function pcapRecord(link: Link, s: Seg): Buffer {
  const pkt = Buffer.concat([linkHeader(link, s.from.ip.includes(':')), ipPacket(s)]);
  const cap = s.snap !== undefined ? pkt.subarray(0, s.snap) : pkt;
  const h = Buffer.alloc(16);
  const us = Math.round(s.t * 1e6);
  h.writeUInt32LE(Math.floor(us / 1e6), 0);
  h.writeUInt32LE(us % 1e6, 4);
  h.writeUInt32LE(cap.length, 8);
  h.writeUInt32LE(pkt.length, 12);
  return Buffer.concat([h, cap]);
}

export function pcapFile(link: Link, segs: Seg[]): Buffer {
  return Buffer.concat([pcapHeader(link), ...segs.map((s) => pcapRecord(link, s))]);
}

/**
 * A TCP connection's segments: handshake, then each direction's bytes cut into
 * `mss`-byte segments (interleaved in send order), then FINs. Returns them in
 * order; tests reorder and duplicate them.
 */
export function tcpConversation(client: Endpoint, server: Endpoint, sends: { fromClient: boolean; bytes: Uint8Array }[], opts: { mss?: number; syn?: boolean; fin?: boolean; isn?: [number, number] } = {}): Seg[] {
  const mss = opts.mss ?? 1000;
  let [cs, ss] = opts.isn ?? [1000, 900000];
  let t = 1_700_000_000;
  const segs: Seg[] = [];
  const tick = () => (t += 0.001);
  if (opts.syn !== false) {
    segs.push({ from: client, to: server, seq: cs, flags: { syn: true }, t: tick() });
    segs.push({ from: server, to: client, seq: ss, ack: cs + 1, flags: { syn: true, ack: true }, t: tick() });
    cs++;
    ss++;
    segs.push({ from: client, to: server, seq: cs, ack: ss, t: tick() });
  }
  for (const s of sends) {
    for (let off = 0; off < s.bytes.length; off += mss) {
      const payload = s.bytes.subarray(off, off + mss);
      if (s.fromClient) {
        segs.push({ from: client, to: server, seq: cs, ack: ss, payload, t: tick() });
        cs += payload.length;
      } else {
        segs.push({ from: server, to: client, seq: ss, ack: cs, payload, t: tick() });
        ss += payload.length;
      }
    }
  }
  if (opts.fin !== false) {
    segs.push({ from: client, to: server, seq: cs, ack: ss, flags: { fin: true, ack: true }, t: tick() });
    segs.push({ from: server, to: client, seq: ss, ack: cs + 1, flags: { fin: true, ack: true }, t: tick() });
  }
  return segs;
}
