/**
 * From a captured packet to its TCP segment: the link layers tcpdump and
 * tshark write (Ethernet with VLAN tags, Linux cooked SLL and SLL2, BSD
 * loopback/null, raw IP), IPv4 and IPv6 (with extension headers), then TCP.
 * Anything else (ARP, UDP, IP fragments, unknown link types) is not a segment
 * and is only counted by the caller.
 */

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export interface TcpSegment {
  /** Source and destination addresses as text (`127.0.0.1`, `::1`). */
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  syn: boolean;
  ackFlag: boolean;
  fin: boolean;
  rst: boolean;
  /** The payload bytes the capture holds (a view into the packet). */
  payload: Uint8Array;
  /** Payload bytes the segment carried beyond what was captured (the snap length cut them). */
  missing: number;
}

export type NotTcp = 'not-ip' | 'not-tcp' | 'fragment' | 'link-type' | 'malformed';

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const VLAN_TAGS = new Set([0x8100, 0x88a8, 0x9100]);

/** The TCP segment in a packet, or why it holds none. */
export function tcpSegmentOf(linkType: number, data: Uint8Array, origLen: number): TcpSegment | NotTcp {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off: number;
  let ethType: number;
  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      if (data.length < 14) return 'malformed';
      off = 12;
      ethType = dv.getUint16(off);
      off += 2;
      while (VLAN_TAGS.has(ethType)) {
        if (data.length < off + 4) return 'malformed';
        ethType = dv.getUint16(off + 2);
        off += 4;
      }
      break;
    }
    case LINKTYPE.LINUX_SLL:
      if (data.length < 16) return 'malformed';
      ethType = dv.getUint16(14);
      off = 16;
      break;
    case LINKTYPE.LINUX_SLL2:
      if (data.length < 20) return 'malformed';
      ethType = dv.getUint16(0);
      off = 20;
      break;
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (data.length < 4) return 'malformed';
      // the address family, in the capturing host's byte order for NULL, network order for LOOP
      const af = linkType === LINKTYPE.LOOP ? dv.getUint32(0, false) : afOf(dv.getUint32(0, true), dv.getUint32(0, false));
      ethType = af === 2 ? ETH_IPV4 : [10, 24, 28, 30].includes(af) ? ETH_IPV6 : 0;
      off = 4;
      break;
    }
    case LINKTYPE.RAW:
    case 12:
    case 14:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
      if (data.length < 1) return 'malformed';
      ethType = data[0] >> 4 === 4 ? ETH_IPV4 : data[0] >> 4 === 6 ? ETH_IPV6 : 0;
      off = 0;
      break;
    default:
      return 'link-type';
  }
  // bytes the packet had beyond what was captured
  const cut = origLen - data.length;
  if (ethType === ETH_IPV4) return ipv4(data, dv, off, cut);
  if (ethType === ETH_IPV6) return ipv6(data, dv, off, cut);
  return 'not-ip';
}

function afOf(little: number, big: number): number {
  return little < 256 ? little : big;
}

function ipv4(data: Uint8Array, dv: DataView, off: number, cut: number): TcpSegment | NotTcp {
  if (data.length < off + 20 || data[off] >> 4 !== 4) return 'malformed';
  const ihl = (data[off] & 0x0f) * 4;
  if (ihl < 20) return 'malformed';
  let total = dv.getUint16(off + 2);
  // 0 with TCP segmentation offload: the length is what was captured
  if (total === 0) total = data.length - off + cut;
  const fragment = dv.getUint16(off + 6);
  if (fragment & 0x3fff) return 'fragment';
  if (data[off + 9] !== 6) return 'not-tcp';
  const src = `${data[off + 12]}.${data[off + 13]}.${data[off + 14]}.${data[off + 15]}`;
  const dst = `${data[off + 16]}.${data[off + 17]}.${data[off + 18]}.${data[off + 19]}`;
  return tcp(data, dv, off + ihl, off + total, src, dst);
}

function ipv6(data: Uint8Array, dv: DataView, off: number, cut: number): TcpSegment | NotTcp {
  if (data.length < off + 40 || data[off] >> 4 !== 6) return 'malformed';
  let payloadLen = dv.getUint16(off + 4);
  if (payloadLen === 0) payloadLen = data.length - off - 40 + cut; // a jumbogram or offload
  const end = off + 40 + payloadLen;
  const src = ipv6Text(data, off + 8);
  const dst = ipv6Text(data, off + 24);
  let next = data[off + 6];
  let p = off + 40;
  // extension headers: hop-by-hop, routing, destination options; a fragment is not followed
  for (;;) {
    if (next === 6) break;
    if (next === 44) return 'fragment';
    if (next !== 0 && next !== 43 && next !== 60) return 'not-tcp';
    if (data.length < p + 2) return 'malformed';
    next = data[p];
    p += (data[p + 1] + 1) * 8;
  }
  return tcp(data, dv, p, end, src, dst);
}

function tcp(data: Uint8Array, dv: DataView, off: number, ipEnd: number, src: string, dst: string): TcpSegment | NotTcp {
  if (data.length < off + 20) return 'malformed';
  const hdr = (data[off + 12] >> 4) * 4;
  if (hdr < 20 || off + hdr > ipEnd) return 'malformed';
  const flags = data[off + 13];
  const payloadEnd = Math.min(ipEnd, data.length);
  const start = Math.min(off + hdr, payloadEnd);
  return {
    src,
    dst,
    srcPort: dv.getUint16(off),
    dstPort: dv.getUint16(off + 2),
    seq: dv.getUint32(off + 4),
    ack: dv.getUint32(off + 8),
    fin: (flags & 0x01) !== 0,
    syn: (flags & 0x02) !== 0,
    rst: (flags & 0x04) !== 0,
    ackFlag: (flags & 0x10) !== 0,
    payload: data.subarray(start, payloadEnd),
    missing: Math.max(0, ipEnd - Math.max(off + hdr, payloadEnd)),
  };
}

/** An IPv6 address as RFC 5952 text (the longest run of zero groups as ::). */
function ipv6Text(b: Uint8Array, off: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
