/**
 * `tap --pcapng FILE`: the bytes a tap relays, written as a pcapng file that
 * Wireshark opens. Each relayed connection is written as one TCP connection
 * from the client's real address and port to the target's real address and
 * port (the conversation the two peers have, without the tap's hop in the
 * middle), with a handshake, the relayed bytes in order as TCP segments with
 * consistent sequence numbers, and FINs when it closes; timestamps are when
 * the tap read the bytes. The first packet's comment names the connection.
 *
 * Bounded: writes go to the file asynchronously, at most MAX_PENDING_BYTES
 * wait; beyond that bytes are not written but counted, the stream's sequence
 * numbers jump over them (Wireshark shows "previous segment not captured") and
 * the next packet's comment says how many bytes are missing.
 */
import * as fs from 'node:fs';
import { PcapngEncoder, TcpStreamWriter, type HostPort } from './pcapngWriter';

const MAX_PENDING_BYTES = 32 * 1024 * 1024;

/** Appends to a file asynchronously with a bounded queue; what does not fit is refused (and counted by the caller). */
export class BoundedFileWriter {
  private queue: Buffer[] = [];
  private pending = 0;
  private writing = false;
  private failed: Error | undefined;
  private idle: (() => void)[] = [];
  written = 0;

  private constructor(
    private readonly fd: number,
    private readonly maxPending: number,
  ) {}

  static open(file: string, maxPending = MAX_PENDING_BYTES): BoundedFileWriter {
    return new BoundedFileWriter(fs.openSync(file, 'w'), maxPending);
  }

  /** Whether `bytes` more would fit now. */
  fits(bytes: number): boolean {
    return !this.failed && this.pending + bytes <= this.maxPending;
  }

  /** Queues the bytes (always: check fits() first to bound memory). */
  write(b: Buffer): void {
    if (this.failed) return;
    this.queue.push(b);
    this.pending += b.length;
    this.pump();
  }

  get error(): Error | undefined {
    return this.failed;
  }

  private pump(): void {
    if (this.writing || !this.queue.length) {
      if (!this.writing) for (const f of this.idle.splice(0)) f();
      return;
    }
    const bufs = this.queue.splice(0);
    const data = bufs.length === 1 ? bufs[0] : Buffer.concat(bufs);
    this.writing = true;
    const writeAll = (off: number) =>
      fs.write(this.fd, data, off, data.length - off, null, (err, n) => {
        if (err) {
          this.failed = err;
          this.queue = [];
          this.pending = 0;
          this.writing = false;
          for (const f of this.idle.splice(0)) f();
          return;
        }
        if (off + n < data.length) return writeAll(off + n);
        this.pending -= data.length;
        this.written += data.length;
        this.writing = false;
        this.pump();
      });
    writeAll(0);
  }

  /** Resolves once everything queued is written, then closes the file; rejects with the write error. */
  async close(): Promise<void> {
    if (this.writing || this.queue.length) await new Promise<void>((resolve) => this.idle.push(resolve));
    await new Promise<void>((resolve) => fs.close(this.fd, () => resolve()));
    if (this.failed) throw this.failed;
  }
}

/** A clock in epoch ms with sub-millisecond precision. */
const now = (): number => performance.timeOrigin + performance.now();

interface Conn {
  stream: TcpStreamWriter;
  /** Bytes not written per direction since the last written packet (the file fell behind). */
  skipped: { toTarget: number; fromTarget: number };
}

export interface RelayWriterStats {
  connections: number;
  /** Bytes relayed but not written because the file fell behind. */
  droppedBytes: number;
}

/** Receives what a tap relays (the tap's `wire` option) and writes it to a pcapng file. */
export class RelayPcapngWriter {
  private readonly file: BoundedFileWriter;
  private readonly encoder: PcapngEncoder;
  private readonly conns = new Map<number, Conn>();
  readonly stats: RelayWriterStats = { connections: 0, droppedBytes: 0 };

  /** Opens (creates or truncates) `path`; throws when it cannot. */
  constructor(path: string) {
    this.file = BoundedFileWriter.open(path);
    this.encoder = new PcapngEncoder((b) => this.file.write(b));
  }

  opened(connection: number, client: HostPort, target: HostPort, via: string): void {
    const stream = new TcpStreamWriter(this.encoder, client, target);
    this.conns.set(connection, { stream, skipped: { toTarget: 0, fromTarget: 0 } });
    this.stats.connections++;
    stream.open(now(), `zmq-debug tap connection #${connection}: ${fmt(client)} → ${fmt(target)}, relayed through the tap at ${via}`);
  }

  /** Bytes relayed in one direction (a view valid only during the call: written out at once). */
  relayed(connection: number, direction: 'toTarget' | 'fromTarget', bytes: Uint8Array): void {
    const c = this.conns.get(connection);
    if (!c) return;
    const fromClient = direction === 'toTarget';
    // an upper bound of what the packets take in the file (headers, block framing)
    if (!this.file.fits(bytes.length + 128 * (1 + Math.ceil(bytes.length / 65000)))) {
      c.skipped[direction] += bytes.length;
      this.stats.droppedBytes += bytes.length;
      c.stream.skip(fromClient, bytes.length);
      return;
    }
    const skipped = c.skipped[direction];
    c.skipped[direction] = 0;
    c.stream.data(fromClient, bytes, now(), skipped ? `${skipped} relayed byte(s) before this packet are not in the file: it could not be written fast enough` : undefined);
  }

  closed(connection: number, reason?: string): void {
    const c = this.conns.get(connection);
    if (!c) return;
    this.conns.delete(connection);
    c.stream.close(now(), reason ? `closed: ${reason}` : undefined);
  }

  /** Closes the open connections' streams and the file. */
  async close(): Promise<RelayWriterStats> {
    for (const id of [...this.conns.keys()]) this.closed(id, 'the tap stopped');
    await this.file.close();
    return this.stats;
  }
}

function fmt(h: HostPort): string {
  return `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`;
}
