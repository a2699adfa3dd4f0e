/**
 * The collector's side of an agent's shared ring (docs/agent-protocol.md,
 * "Shared ring"; the agent's side is agents/native/shmring.c): the native
 * agent writes the frames it would send on its connection into a memfd of its
 * process, which the collector opens through /proc/<pid>/fd/<n> and reads with
 * pread. The program's process then never writes the capture's bytes to a
 * socket.
 *
 * The ring is untrusted input like the connection: the descriptor must be the
 * agent's memfd, its header must carry the nonce of the hello, the indices must
 * make sense; anything else and the ring is not used (or the connection is
 * closed, counted). Reads are bounded (`chunkBytes` at a time).
 */
import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync, writeSync } from 'node:fs';
import type { RingOffer } from './agentProtocol';

const HEADER = 4096;
const AT = { magic: 0, version: 8, bytes: 16, nonce: 24, write: 64, read: 128, attached: 192 } as const;
/** Sizes an agent may offer (the native agent's is 32 MiB). */
const BYTES = { min: 64 * 1024, max: 256 * 1024 * 1024 } as const;

export class SharedRing {
  /** Bytes read ever (the collector's index, published in the header after each read). */
  private readAt = 0;
  private readonly word = Buffer.alloc(8);
  /** What read() reads into, the same memory each time (kept warm). */
  private out?: Buffer;

  private constructor(
    private fd: number,
    readonly bytes: number,
  ) {}

  /**
   * Opens the ring an agent of process `pid` offered and tells it so in the header
   * (the agent then switches to it); undefined when it is not what the hello said.
   */
  static attach(pid: number, offer: RingOffer): SharedRing | undefined {
    if (pid <= 0 || offer.bytes < BYTES.min || offer.bytes > BYTES.max) return undefined;
    const where = `/proc/${pid}/fd/${offer.fd}`;
    let fd = -1;
    try {
      // the agent's memfd and nothing else: a path given by an agent is never opened
      if (!readlinkSync(where).startsWith('/memfd:zmq-debug-ring')) return undefined;
      fd = openSync(where, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY);
      const st = fstatSync(fd);
      const head = Buffer.alloc(56);
      if (!st.isFile() || st.size !== HEADER + offer.bytes || readSync(fd, head, 0, head.length, 0) !== head.length) throw new Error('not a ring');
      const ok =
        head.toString('latin1', AT.magic, AT.magic + 8) === 'ZMQDRING' &&
        head.readUInt32LE(AT.version) === 1 &&
        Number(head.readBigUInt64LE(AT.bytes)) === offer.bytes &&
        head.toString('latin1', AT.nonce, AT.nonce + 32) === offer.nonce;
      if (!ok) throw new Error('not the ring offered');
      const ring = new SharedRing(fd, offer.bytes);
      ring.put(AT.attached, 1);
      return ring;
    } catch {
      if (fd >= 0) closeSync(fd);
      return undefined;
    }
  }

  /**
   * The next bytes the agent wrote, at most `max`, empty when there are none;
   * undefined when the indices make no sense (the ring cannot be trusted). A
   * view of the ring's read buffer, valid until the next read: copy what is kept.
   * `atFrame`: the reader is at a frame's start (a zero length there sends it
   * back to the ring's beginning).
   */
  read(max: number, atFrame: boolean): Buffer | undefined {
    const w = this.written();
    if (w === undefined || w < this.readAt || w - this.readAt > this.bytes) return undefined;
    let at = this.readAt % this.bytes;
    if (atFrame && w - this.readAt >= 4 && at <= this.bytes - 4) {
      this.get(HEADER + at, 4);
      if (this.word.readUInt32BE(0) === 0) {
        this.readAt += this.bytes - at;
        at = 0;
        if (w < this.readAt) return undefined;
      }
    }
    const n = Math.min(max, w - this.readAt);
    if (!this.out || this.out.length < n) this.out = Buffer.allocUnsafeSlow(Math.max(n, max));
    const out = this.out.subarray(0, n);
    const first = Math.min(n, this.bytes - at);
    if (first && readSync(this.fd, out, 0, first, HEADER + at) !== first) return undefined;
    if (n > first && readSync(this.fd, out, first, n - first, HEADER) !== n - first) return undefined;
    return out;
  }

  /** The bytes `read` returned were taken: the agent may write over them. */
  consumed(n: number): void {
    this.readAt += n;
    this.put(AT.read, this.readAt);
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  /** The agent's write index, read until two reads agree (it is written with one store, read here with a copy). */
  private written(): number | undefined {
    for (let i = 0; i < 4; i++) {
      this.get(AT.write, 8);
      const a = this.word.readBigUInt64LE(0);
      this.get(AT.write, 8);
      if (a === this.word.readBigUInt64LE(0)) return Number(a);
    }
    return undefined;
  }

  private get(at: number, n: number): void {
    if (readSync(this.fd, this.word, 0, n, at) !== n) throw new Error('the ring was cut');
  }

  private put(at: number, v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    writeSync(this.fd, b, 0, 8, at);
  }
}
