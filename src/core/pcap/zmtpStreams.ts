/**
 * Finds the ZMTP connections in a packet capture and turns them into capture
 * records, the same records a tap makes for a connection it relays: a
 * connection record when it opens (and closes), greetings, commands (READY
 * metadata, SUBSCRIBE/CANCEL...), messages with socket types, identities and
 * envelopes, in both directions. The tap's ZMTP decoder does the decoding.
 *
 * A connection is ZMTP when one direction starts with the ZMTP signature
 * (0xFF, 8 bytes, 0x7F): no port needs naming. The side that sent the SYN is
 * the client (`toTarget` is client → server, the endpoint is the server's
 * address); when the capture began after the SYN, the side with the lower port
 * is taken for the server. What the capture lost is never guessed: after a gap
 * a direction is marked undecodable (a connection record saying how many bytes
 * are missing where) and nothing more is decoded from it.
 */
import { copyBytes } from '../base/bytes';
import { bracketHost } from '../zmq/endpoint';
import type { CaptureRecord, ConnectionRecord, Direction } from '../capture/records';
import { tapCommandRecord, tapGreetingRecord, tapMessageRecord, type TapSidePlace } from '../capture/tapRecords';
import { ZmtpDecoder, type ZmtpCommand, type ZmtpDecoderHandler, type ZmtpGreeting } from '../zmtp/decoder';
import { TcpHalf, type TcpHalfConsumer } from './tcpReassembly';
import type { Packet } from './packetFile';
import { tcpSegmentOf, type TcpSegment } from './tcpSegment';

export interface ZmtpStreamOptions {
  /** Session id stamped on every record (e.g. the file's name). */
  session: string;
  /** Payload bytes kept per frame (default 64 KiB, as the tap). */
  maxCapturedFrameBytes?: number;
  /** Out-of-order bytes held per direction before a hole is declared a gap. */
  maxPendingBytes?: number;
  /** TCP connections tracked at once; more are counted, not read. Default 100,000. */
  maxFlows?: number;
}

/** What a read found, for the summary line. */
export interface ZmtpStreamStats {
  packets: number;
  tcpSegments: number;
  /** Packets that carried no TCP segment (ARP, UDP, other link types...). */
  notTcp: number;
  /** IP fragments (not reassembled; a ZMTP stream missing one shows a gap). */
  fragments: number;
  /** Packets of a link type this reader does not know. */
  unknownLinkType: number;
  zmtpConnections: number;
  /** TCP connections that did not start with a ZMTP greeting in the capture. */
  otherConnections: number;
  /** Connections not tracked because maxFlows were open. */
  untracked: number;
  /** Retransmitted or duplicate segments (their bytes were already in order). */
  retransmitted: number;
  /** Segments that arrived ahead of a hole. */
  reordered: number;
  /** Gaps in ZMTP streams, and their bytes. */
  gaps: number;
  missingBytes: number;
  /** ZMTP connections with no FIN/RST by the end of the capture. */
  openAtEnd: number;
  /** Messages in flight when the capture ended (or a gap cut them): not captured. */
  cutMessages: number;
}

const SIGNATURE_BYTES = 10;

export class ZmtpStreamFinder {
  readonly stats: ZmtpStreamStats = {
    packets: 0,
    tcpSegments: 0,
    notTcp: 0,
    fragments: 0,
    unknownLinkType: 0,
    zmtpConnections: 0,
    otherConnections: 0,
    untracked: 0,
    retransmitted: 0,
    reordered: 0,
    gaps: 0,
    missingBytes: 0,
    openAtEnd: 0,
    cutMessages: 0,
  };
  private readonly flows = new Map<string, Flow>();
  private nextConnection = 1;
  private readonly maxFlows: number;
  /** Link types seen that are not read, for the summary. */
  readonly unknownLinkTypes = new Set<number>();

  constructor(
    readonly options: ZmtpStreamOptions,
    /** Every record, in the order the capture's packets make them. */
    readonly emit: (r: CaptureRecord) => void,
  ) {
    this.maxFlows = options.maxFlows ?? 100_000;
  }

  packet(p: Packet): void {
    this.stats.packets++;
    const s = tcpSegmentOf(p.linkType, p.data, p.origLen);
    if (typeof s === 'string') {
      this.stats.notTcp++;
      if (s === 'fragment') this.stats.fragments++;
      if (s === 'link-type') {
        this.stats.unknownLinkType++;
        this.unknownLinkTypes.add(p.linkType);
      }
      return;
    }
    this.stats.tcpSegments++;
    this.segment(s, p.ts);
  }

  /** The capture ended: holes become gaps, and what was still open is counted. */
  end(): void {
    for (const flow of this.flows.values()) flow.end();
    this.flows.clear();
  }

  /** @internal */
  newConnectionId(): number {
    return this.nextConnection++;
  }

  /** @internal */
  forget(flow: Flow): void {
    if (this.flows.get(flow.key) === flow) this.flows.delete(flow.key);
  }

  private segment(s: TcpSegment, ts: number): void {
    const from = `${bracketHost(s.src)}:${s.srcPort}`;
    const to = `${bracketHost(s.dst)}:${s.dstPort}`;
    const key = from < to ? `${from} ${to}` : `${to} ${from}`;
    let flow = this.flows.get(key);
    // a new connection on the same addresses and ports (the old one ended or was abandoned)
    if (flow && s.syn && !s.ackFlag && flow.isNewSyn(from, s.seq)) {
      flow.end();
      this.flows.delete(key);
      flow = undefined;
    }
    if (!flow) {
      // a lone FIN/RST/ACK of a connection that began before the capture (or was closed) opens nothing
      if (!s.syn && s.payload.length === 0 && s.missing === 0) return;
      if (this.flows.size >= this.maxFlows) {
        this.stats.untracked++;
        return;
      }
      flow = new Flow(this, key);
      this.flows.set(key, flow);
    }
    flow.segment(s, from, to, ts);
  }
}

type FlowState = 'detecting' | 'zmtp' | 'other';

/** One TCP connection of the capture. */
class Flow {
  state: FlowState = 'detecting';
  private readonly halves = new Map<string, FlowSide>();
  /** host:port of the client and the server, once known. */
  client: string | undefined;
  server: string | undefined;
  connection = 0;
  endpoint = '';
  private closed = false;

  constructor(
    readonly finder: ZmtpStreamFinder,
    readonly key: string,
  ) {}

  isNewSyn(from: string, seq: number): boolean {
    const side = this.halves.get(from);
    return side !== undefined && side.synSeq !== undefined && side.synSeq !== seq;
  }

  segment(s: TcpSegment, from: string, to: string, ts: number): void {
    let side = this.halves.get(from);
    if (!side) {
      side = new FlowSide(this, from, to);
      this.halves.set(from, side);
      if (this.state === 'zmtp') side.startDecoding();
    }
    if (s.syn) {
      side.synSeq ??= s.seq;
      side.half.syn(s.seq);
      if (!this.client) {
        this.client = s.ackFlag ? to : from;
        this.server = s.ackFlag ? from : to;
      }
    }
    if (this.state === 'other') {
      if (s.rst || s.fin) this.finishOther(side, s);
      return;
    }
    // the SYN takes a sequence number, so its payload (TCP Fast Open) starts one later
    side.half.segment(s.syn ? (s.seq + 1) >>> 0 : s.seq, s.payload, s.missing, ts);
    if (s.fin) side.half.fin((s.seq + (s.syn ? 1 : 0) + s.payload.length + s.missing) >>> 0);
    if (s.rst) {
      this.close(ts, `reset (RST) by the ${side.address === this.client ? 'client' : 'server'}`);
      return;
    }
    if ([...this.halves.values()].every((h) => h.half.finished) && this.halves.size === 2) this.close(ts, undefined);
  }

  private finishOther(side: FlowSide, s: TcpSegment): void {
    if (s.rst) side.ended = true;
    if (s.fin) side.ended = true;
    if (s.rst || (this.halves.size === 2 && [...this.halves.values()].every((h) => h.ended))) this.finder.forget(this);
  }

  /** Called by a side once its first bytes tell ZMTP (or not). */
  detected(side: FlowSide, zmtp: boolean, ts: number): void {
    if (this.state !== 'detecting') return;
    if (!zmtp) {
      this.state = 'other';
      this.finder.stats.otherConnections++;
      for (const h of this.halves.values()) h.dropHead();
      return;
    }
    this.state = 'zmtp';
    this.finder.stats.zmtpConnections++;
    if (!this.client) {
      // no SYN in the capture: the lower port is taken for the server's
      const [a, b] = [side.address, side.peerAddress];
      const serverIsA = portOf(a) < portOf(b);
      this.server = serverIsA ? a : b;
      this.client = serverIsA ? b : a;
    }
    this.connection = this.finder.newConnectionId();
    this.endpoint = `tcp://${this.server}`;
    const r: ConnectionRecord = { seq: 0, ts, session: this.finder.options.session, source: 'tap', endpoint: this.endpoint, kind: 'connection', connection: this.connection, state: 'open', peer: this.client };
    this.finder.emit(r);
    for (const h of this.halves.values()) h.startDecoding();
  }

  direction(side: FlowSide): Direction {
    return side.address === this.client ? 'toTarget' : 'fromTarget';
  }

  other(side: FlowSide): FlowSide | undefined {
    return this.halves.get(side.peerAddress);
  }

  /** A connection record saying a direction cannot be decoded (from here on). */
  undecodable(side: FlowSide, reason: string, ts: number): void {
    const r: ConnectionRecord = {
      seq: 0,
      ts,
      session: this.finder.options.session,
      source: 'tap',
      endpoint: this.endpoint,
      kind: 'connection',
      connection: this.connection,
      state: 'undecodable',
      peer: this.client,
      reason: `${this.direction(side)}: ${reason}`,
    };
    this.finder.emit(r);
  }

  private close(ts: number, reason: string | undefined): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.halves.values()) h.half.flush();
    this.finder.forget(this);
    this.collectStats();
    if (this.state !== 'zmtp') {
      if (this.state === 'detecting') this.finder.stats.otherConnections++;
      return;
    }
    const cut = [...this.halves.values()].filter((h) => h.cutMessage()).map((h) => this.direction(h));
    if (cut.length) {
      this.finder.stats.cutMessages += cut.length;
      reason = [reason, `a message in flight ${cut.join(' and ')} was cut off by the close and not captured`].filter(Boolean).join('; ');
    }
    const r: ConnectionRecord = { seq: 0, ts, session: this.finder.options.session, source: 'tap', endpoint: this.endpoint, kind: 'connection', connection: this.connection, state: 'closed', peer: this.client };
    if (reason !== undefined) r.reason = reason;
    this.finder.emit(r);
  }

  /** The capture ended with the connection still open: holes become gaps; no close is invented. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.halves.values()) h.half.flush();
    this.collectStats();
    if (this.state === 'zmtp') {
      this.finder.stats.openAtEnd++;
      for (const h of this.halves.values()) if (h.cutMessage()) this.finder.stats.cutMessages++;
    } else if (this.state === 'detecting') this.finder.stats.otherConnections++;
  }

  private collectStats(): void {
    for (const h of this.halves.values()) {
      this.finder.stats.retransmitted += h.half.retransmitted;
      this.finder.stats.reordered += h.half.reordered;
    }
  }
}

function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
}

/**
 * One direction of a flow: its reassembly, the first bytes while the flow is
 * being recognised, then the ZMTP decoder and the records it makes (as the
 * tap's Side does: the sender's socket type on messages, the receiver's as
 * peerSocketType, the sender's identity, REQ/REP envelopes split out).
 */
class FlowSide implements TcpHalfConsumer, ZmtpDecoderHandler {
  readonly half: TcpHalf;
  synSeq: number | undefined;
  ended = false;
  private head: Uint8Array[] = [];
  private headLen = 0;
  private decoder: ZmtpDecoder | undefined;
  /** A gap or an undecodable stream: nothing more is decoded. */
  private stopped = false;
  private now = 0;

  constructor(
    private readonly flow: Flow,
    readonly address: string,
    readonly peerAddress: string,
  ) {
    this.half = new TcpHalf(this, flow.finder.options.maxPendingBytes);
  }

  // ---- TcpHalfConsumer

  data(bytes: Uint8Array, ts: number): void {
    this.now = ts;
    if (this.stopped) return;
    if (this.decoder) {
      this.decoder.push(bytes);
      return;
    }
    if (this.flow.state !== 'detecting') return;
    // held (copied: the view is only valid now) until the flow is known to be ZMTP
    this.head.push(copyBytes(bytes));
    this.headLen += bytes.length;
    if (this.headLen >= SIGNATURE_BYTES) {
      const h = concat(this.head);
      this.flow.detected(this, h[0] === 0xff && h[9] === 0x7f, ts);
    }
  }

  gap(bytes: number, offset: number, ts: number): void {
    this.now = ts;
    if (this.stopped) return;
    if (this.flow.state === 'detecting') {
      // the start of this direction is not in the capture: it cannot be recognised
      this.flow.detected(this, false, ts);
      return;
    }
    if (this.flow.state !== 'zmtp') return;
    const cut = this.cutMessage() ? '; a message in flight was cut off by it and not captured' : '';
    this.stopped = true;
    this.flow.finder.stats.gaps++;
    this.flow.finder.stats.missingBytes += bytes;
    if (cut) this.flow.finder.stats.cutMessages++;
    this.flow.undecodable(this, `${bytes} byte(s) missing from the capture after byte ${offset} of this direction (not captured); not decoded from there on${cut}`, ts);
  }

  /** The flow is ZMTP: decode what was held back, then everything that follows. */
  startDecoding(): void {
    this.decoder = new ZmtpDecoder(this, { maxCapturedFrameBytes: this.flow.finder.options.maxCapturedFrameBytes, transientChunks: true });
    const held = this.head;
    this.head = [];
    for (const b of held) this.decoder.push(b);
  }

  dropHead(): void {
    this.head = [];
  }

  /** Whether a message was begun and not finished. */
  cutMessage(): boolean {
    return !this.stopped && this.decoder !== undefined && this.decoder.hasPartialMessage;
  }

  // ---- ZmtpDecoderHandler: the records, as the tap's Side makes them

  private get receiver(): FlowSide | undefined {
    return this.flow.other(this);
  }

  /** Where this direction's records belong (the flow learns its direction and connection as it goes). */
  private get place(): TapSidePlace {
    return { session: this.flow.finder.options.session, endpoint: this.flow.endpoint, direction: this.flow.direction(this), connection: this.flow.connection };
  }

  greeting(g: ZmtpGreeting): void {
    this.flow.finder.emit(tapGreetingRecord(this.place, this.now, g));
  }

  command(c: ZmtpCommand): void {
    this.flow.finder.emit(tapCommandRecord(this.place, this.now, c));
  }

  message(frames: Uint8Array[], truncated: Record<number, number> | undefined, encrypted: boolean): void {
    this.flow.finder.emit(tapMessageRecord(this.place, this.now, frames, truncated, encrypted, this.decoder, this.receiver?.socketTypeOf()));
  }

  undecodable(reason: string): void {
    this.stopped = true;
    this.flow.undecodable(this, reason, this.now);
  }

  socketTypeOf(): string | undefined {
    return this.decoder?.socketType;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
