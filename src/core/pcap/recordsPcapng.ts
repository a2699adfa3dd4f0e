/**
 * A capture's records written as pcapng for Wireshark (Export Capture… to a
 * .pcapng file). The records keep decoded ZMTP, not the bytes on the wire, so
 * each stream is re-encoded as ZMTP 3.x:
 *
 * - a tap's connection becomes one TCP connection from the connecting peer's
 *   address (its connection record) to the target: greetings, READY and other
 *   commands, messages, FINs when it closed;
 * - records with no TCP stream behind them (agents' inproc/ipc/tcp messages,
 *   spies' and monitors' messages) become a ZMTP stream synthesised per
 *   observed socket: a NULL greeting and READY from each side, then every
 *   message in its direction, between addresses of the 198.18.0.0/15
 *   benchmarking range (never a real host) and, for tcp endpoints, the
 *   endpoint's port. Each packet's comment (opt_comment) names the record's
 *   endpoint, process, pid and socket.
 *
 * Why a synthesised TCP stream and not Wireshark's exported-PDU link type
 * naming the `zmtp` dissector: the ZMTP dissector (Wireshark 4.4+) follows a
 * TCP conversation (greeting, then frames), every Wireshark version shows
 * and follows TCP streams, and the same file then opens in `zmq-debug read`.
 *
 * What cannot be re-encoded is said in the packet's comment, never made up:
 * frames the capture kept truncated (their kept bytes are written, with the
 * original size), encrypted messages (empty), command bodies that were not
 * kept (PING, ERROR, CURVE). Records with nothing on the wire (events, socket
 * operations, processes) are counted, not written.
 */
import type { Writable } from 'node:stream';
import type { CaptureRecord, CapturedMessage, CommandRecord, ConnectionRecord, GreetingRecord } from '../capture/records';
import { PcapngEncoder, TcpStreamWriter, type HostPort } from './pcapngWriter';

export interface RecordsPcapngResult {
  packets: number;
  /** Tap connections written. */
  connections: number;
  /** Streams synthesised for records without a TCP stream. */
  synthesized: number;
  /** Records with nothing on the wire, not written. */
  skipped: number;
}

const BATCH_BYTES = 256 * 1024;

/** Writes `records` to `out` as pcapng, waiting for 'drain'; resolves when all was handed to `out` (it does not end it). */
export async function writeRecordsPcapng(records: Iterable<CaptureRecord>, out: Writable | NodeJS.WritableStream): Promise<RecordsPcapngResult> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let packets = 0;
  const encoder = new PcapngEncoder((b) => {
    pending.push(b);
    pendingBytes += b.length;
    packets++;
  });
  const writer = new RecordStreams(encoder);
  let failed: Error | undefined;
  const onError = (e: Error) => (failed = e);
  out.on('error', onError);
  const flush = async () => {
    if (!pending.length) return;
    const data = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    if (!out.write(data)) await new Promise<void>((resolve) => out.once('drain', resolve).once('error', () => resolve()));
    if (failed) throw failed;
  };
  try {
    for (const r of records) {
      writer.add(r);
      if (pendingBytes >= BATCH_BYTES) await flush();
    }
    writer.end();
    await flush();
  } finally {
    out.off('error', onError);
  }
  // the section header and interface description are blocks, not packets
  return { packets: packets - 2, connections: writer.connections, synthesized: writer.synthesized, skipped: writer.skipped };
}

interface TapStream {
  tcp: TcpStreamWriter;
  closed: boolean;
}

/** Turns records into TCP streams, one per tap connection or observed socket. */
class RecordStreams {
  private readonly taps = new Map<string, TapStream>();
  private readonly synth = new Map<string, { tcp: TcpStreamWriter; socketSide: boolean }>();
  /** Connecting peers by tap connection, from connection records. */
  private readonly peers = new Map<string, HostPort>();
  connections = 0;
  synthesized = 0;
  skipped = 0;
  /** The time of the last record written (for the closing notes). */
  private lastTs = 0;

  constructor(private readonly encoder: PcapngEncoder) {}

  add(r: CaptureRecord): void {
    if (r.source === 'tap' && 'connection' in r && r.connection !== undefined && (r.kind === 'message' || r.kind === 'greeting' || r.kind === 'command' || r.kind === 'connection')) {
      this.tapRecord(r);
      return;
    }
    if (r.kind === 'message') {
      this.synthMessage(r);
      return;
    }
    this.skipped++;
  }

  end(): void {
    for (const s of this.taps.values()) if (!s.closed) s.tcp.note(true, this.lastTs, 'still open when the capture was exported');
  }

  private tapKey(r: CaptureRecord & { connection?: number }): string {
    return `${r.session ?? ''}\u0000${r.endpoint}\u0000${r.connection}`;
  }

  private tapStream(r: CaptureRecord & { connection?: number }): TapStream {
    const key = this.tapKey(r);
    let s = this.taps.get(key);
    if (!s) {
      const server = hostPortOf(r.endpoint) ?? { host: '127.0.0.1', port: 0 };
      const client = this.peers.get(key) ?? { host: '127.0.0.1', port: 49152 + ((r.connection ?? 0) % 16384) };
      s = { tcp: new TcpStreamWriter(this.encoder, client, server), closed: false };
      this.taps.set(key, s);
      this.connections++;
      const known = this.peers.has(key) ? '' : ' (the connecting peer\'s address was not in the capture: port made up)';
      s.tcp.open(r.ts, `zmq-debug tap ${r.session ?? ''} connection #${r.connection} to ${r.endpoint}${known}; ZMTP re-encoded from the capture's records`);
    }
    return s;
  }

  private tapRecord(r: CapturedMessage | GreetingRecord | CommandRecord | ConnectionRecord): void {
    this.lastTs = r.ts;
    if (r.kind === 'connection') {
      const key = this.tapKey(r);
      if (r.state === 'open') {
        const peer = r.peer ? hostPortOf(`tcp://${r.peer}`) : undefined;
        if (peer) this.peers.set(key, peer);
        this.tapStream(r);
        return;
      }
      const s = this.tapStream(r);
      if (r.state === 'closed') {
        s.closed = true;
        s.tcp.close(r.ts, r.reason ? `closed: ${r.reason}` : undefined);
        this.taps.delete(key);
        this.peers.delete(key);
      } else s.tcp.note(true, r.ts, `undecodable: ${r.reason ?? ''}`);
      return;
    }
    const s = this.tapStream(r);
    const fromClient = r.direction === 'toTarget';
    if (r.kind === 'greeting') s.tcp.data(fromClient, greetingBytes(r.version, r.mechanism, r.asServer), r.ts);
    else if (r.kind === 'command') {
      const { bytes, note } = commandBytes(r);
      s.tcp.data(fromClient, bytes, r.ts, note);
    } else {
      const { bytes, note } = messageBytes(r);
      s.tcp.data(fromClient, bytes, r.ts, note);
    }
  }

  private synthMessage(r: CapturedMessage): void {
    this.lastTs = r.ts;
    const key = [r.session ?? '', r.source, r.endpoint, r.process ?? '', r.pid ?? '', r.socket ?? '', r.connection ?? ''].join('\u0000');
    let s = this.synth.get(key);
    if (!s) {
      const n = this.synthesized++;
      const port = hostPortOf(r.endpoint)?.port || 5555;
      // the observed socket is the client; its peers at the endpoint the server
      const client = { host: `198.18.${(n >> 8) & 255}.${n & 255}`, port: 40000 + (n % 20000) };
      const server = { host: `198.19.${(n >> 8) & 255}.${n & 255}`, port };
      const tcp = new TcpStreamWriter(this.encoder, client, server);
      tcp.open(r.ts, `synthesised ZMTP stream (no TCP stream was captured): ${who(r)}`);
      tcp.data(true, Buffer.concat([greetingBytes('3.1', 'NULL', false), ready(r.socketType)]), r.ts, `the observed socket's greeting and READY, synthesised${r.socketType ? '' : ' (its type is unknown)'}`);
      tcp.data(false, Buffer.concat([greetingBytes('3.1', 'NULL', false), ready(r.peerSocketType)]), r.ts, `its peer's greeting and READY, synthesised${r.peerSocketType ? '' : ' (its type is unknown)'}`);
      s = { tcp, socketSide: true };
      this.synth.set(key, s);
    }
    // `out`: the observed socket sent it; `in` (and a tap's `fromTarget`): it received it
    const fromSocket = r.direction === 'out' || r.direction === 'toTarget';
    const { bytes, note } = messageBytes(r);
    s.tcp.data(fromSocket, bytes, r.ts, [who(r), note].filter(Boolean).join('; '));
  }
}

function who(r: CapturedMessage): string {
  const parts = [`${r.source} ${r.session ?? ''}`.trim(), `endpoint ${r.endpoint}`, `${r.direction}`];
  if (r.process !== undefined) parts.push(`process ${r.process}`);
  if (r.pid !== undefined) parts.push(`pid ${r.pid}`);
  if (r.socket !== undefined) parts.push(`socket ${r.socket}`);
  return parts.join(', ');
}

function hostPortOf(endpoint: string): HostPort | undefined {
  const m = /^tcp:\/\/(?:\[([^\]]+)\]|([^:/]+)):(\d+)$/.exec(endpoint);
  if (!m) return undefined;
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

export function greetingBytes(version: string, mechanism: string, asServer: boolean): Buffer {
  const g = Buffer.alloc(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  const [major, minor] = version.split('.').map((x) => Number(x) || 0);
  g[10] = major || 3;
  g[11] = minor;
  g.write(mechanism.slice(0, 20), 12, 'latin1');
  g[32] = asServer ? 1 : 0;
  return g;
}

/** One ZMTP frame: flags (MORE, COMMAND) and the long form when the body needs it. */
function frame(body: Uint8Array, more: boolean, command: boolean): Buffer {
  const long = body.length > 255;
  const head = Buffer.alloc(long ? 9 : 2);
  head[0] = (more ? 1 : 0) | (long ? 2 : 0) | (command ? 4 : 0);
  if (long) head.writeBigUInt64BE(BigInt(body.length), 1);
  else head[1] = body.length;
  return Buffer.concat([head, body]);
}

function commandFrame(name: string, data: Uint8Array): Buffer {
  return frame(Buffer.concat([Buffer.from([name.length]), Buffer.from(name, 'latin1'), data]), false, true);
}

function properties(props: Record<string, Uint8Array>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(props)) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.length);
    parts.push(Buffer.from([k.length]), Buffer.from(k, 'latin1'), len, Buffer.from(v));
  }
  return Buffer.concat(parts);
}

function ready(socketType: string | undefined): Buffer {
  return commandFrame('READY', socketType ? properties({ 'Socket-Type': Buffer.from(socketType, 'latin1') }) : Buffer.alloc(0));
}

function commandBytes(r: CommandRecord): { bytes: Buffer; note?: string } {
  if ((r.name === 'SUBSCRIBE' || r.name === 'CANCEL') && r.topic) {
    // ZMTP 3.0 peers subscribe with a message whose first byte is 1 (0 cancels)
    if (r.detail?.startsWith('3.0 message form')) return { bytes: frame(Buffer.concat([Buffer.from([r.name === 'SUBSCRIBE' ? 1 : 0]), r.topic]), false, false), note: r.detail.includes('truncated') ? r.detail : undefined };
    return { bytes: commandFrame(r.name, r.topic) };
  }
  if (r.name === 'READY' || r.name === 'INITIATE') return { bytes: commandFrame(r.name, properties(r.properties ?? {})) };
  return { bytes: commandFrame(r.name, new Uint8Array(0)), note: `${r.name}: its body was not kept by the capture${r.detail ? ` (${r.detail})` : ''}; written empty` };
}

function messageBytes(r: CapturedMessage): { bytes: Buffer; note?: string } {
  const notes: string[] = [];
  if (r.truncated) for (const [i, size] of Object.entries(r.truncated)) notes.push(`frame ${i}: ${size} bytes on the wire, ${r.frames[Number(i)]?.length ?? 0} kept by the capture`);
  if (r.encrypted) notes.push('CURVE-encrypted: its plaintext was never captured');
  const bytes = Buffer.concat(r.frames.map((f, i) => frame(f, i < r.frames.length - 1, false)));
  return { bytes, note: notes.length ? notes.join('; ') : undefined };
}
