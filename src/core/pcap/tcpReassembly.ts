/**
 * One direction of a TCP connection put back in order: segments arrive as the
 * capture holds them (out of order, retransmitted, overlapping, duplicated by
 * `-i any`), bytes leave in stream order exactly once. A hole the capture never
 * fills is a gap: reported with its size, never filled in; what follows it is
 * still handed on after the gap so the consumer can decide (the ZMTP side stops
 * decoding there). Memory: out-of-order bytes held per direction are bounded by
 * `maxPendingBytes`; beyond it the oldest hole is declared a gap.
 */
import { copyBytes } from '../base/bytes';

export interface TcpHalfConsumer {
  /** In-order bytes (a view valid only during the call). */
  data(bytes: Uint8Array, ts: number): void;
  /** `bytes` bytes of the stream are not in the capture, after `offset` bytes delivered. */
  gap(bytes: number, offset: number, ts: number): void;
}

interface Pending {
  /** Sequence number of the first byte. */
  seq: number;
  bytes: Uint8Array;
  ts: number;
}

/** Signed distance a - b in 32-bit sequence space. */
export const seqDiff = (a: number, b: number): number => (a - b) | 0;

export const DEFAULT_MAX_PENDING_BYTES = 4 * 1024 * 1024;

export class TcpHalf {
  /** The sequence number of the next byte expected; undefined before the first segment. */
  private next: number | undefined;
  /** Bytes delivered so far (the stream offset of `next`). */
  delivered = 0;
  /** Segments (or parts) that were already delivered: retransmissions and duplicates. */
  retransmitted = 0;
  /** Segments that arrived ahead of a hole and waited for it. */
  reordered = 0;
  /** Bytes the capture never held (sum of the gaps). */
  missing = 0;
  /** The sequence number just after the FIN (once one was seen). */
  private finSeq: number | undefined;
  /** Whether the stream began with a SYN (so byte 0 is the first byte the sender sent). */
  sawSyn = false;
  private pending: Pending[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly consumer: TcpHalfConsumer,
    private readonly maxPendingBytes = DEFAULT_MAX_PENDING_BYTES,
  ) {}

  /** Whether every byte up to the FIN was delivered. */
  get finished(): boolean {
    return this.finSeq !== undefined && this.next !== undefined && seqDiff(this.next, this.finSeq) >= 0;
  }

  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** Whether no byte has been seen yet. */
  get empty(): boolean {
    return this.next === undefined;
  }

  syn(seq: number): void {
    if (this.next !== undefined) return; // a retransmitted SYN
    this.next = (seq + 1) >>> 0;
    this.sawSyn = true;
  }

  fin(seqAfterPayload: number): void {
    this.finSeq ??= seqAfterPayload >>> 0;
  }

  /** A segment's payload (a view: copied when it has to wait); `missing` bytes of it were not captured. */
  segment(seq: number, payload: Uint8Array, missing: number, ts: number): void {
    if (payload.length === 0 && missing === 0) return;
    // no SYN seen: the stream starts with the first segment the capture holds
    this.next ??= seq >>> 0;
    let d = seqDiff(seq, this.next);
    if (d < 0) {
      // overlaps what was delivered: keep only the new part, if any
      if (-d >= payload.length + missing) {
        this.retransmitted++;
        return;
      }
      if (-d >= payload.length) {
        missing -= -d - payload.length;
        payload = payload.subarray(payload.length);
      } else payload = payload.subarray(-d);
      seq = this.next;
      d = 0;
    }
    if (d > 0) {
      if (payload.length) this.hold(seq, copyBytes(payload), ts);
      if (missing) this.hold((seq + payload.length) >>> 0, new Uint8Array(0), ts, missing);
      return;
    }
    this.deliver(payload, ts);
    if (missing) this.skip(missing, ts);
    this.drain();
  }

  /** The capture ended (or the connection is dropped): every hole left is a gap, what follows is delivered. */
  flush(): void {
    while (this.pending.length) {
      const first = this.pending[0];
      const d = seqDiff(first.seq, this.next!);
      if (d > 0) this.skip(d, first.ts);
      this.drain();
    }
  }

  private deliver(bytes: Uint8Array, ts: number): void {
    if (!bytes.length) return;
    this.next = (this.next! + bytes.length) >>> 0;
    this.delivered += bytes.length;
    this.consumer.data(bytes, ts);
  }

  private skip(bytes: number, ts: number): void {
    const at = this.delivered;
    this.next = (this.next! + bytes) >>> 0;
    this.delivered += bytes;
    this.missing += bytes;
    this.consumer.gap(bytes, at, ts);
  }

  /** Missing markers use `gapBytes`: a stretch the capture's snap length cut off. */
  private hold(seq: number, bytes: Uint8Array, ts: number, gapBytes = 0): void {
    this.reordered++;
    const p: Pending & { gapBytes?: number } = { seq, bytes, ts };
    if (gapBytes) p.gapBytes = gapBytes;
    let i = this.pending.length;
    while (i > 0 && seqDiff(this.pending[i - 1].seq, seq) > 0) i--;
    this.pending.splice(i, 0, p);
    this.pendingBytes += bytes.length;
    while (this.pendingBytes > this.maxPendingBytes && this.pending.length) {
      // the hole before the oldest waiting segment will not be filled in time: a gap
      const first = this.pending[0];
      this.skip(seqDiff(first.seq, this.next!), first.ts);
      this.drain();
    }
  }

  /** Hands on the waiting segments the stream has reached. */
  private drain(): void {
    while (this.pending.length) {
      const p = this.pending[0] as Pending & { gapBytes?: number };
      let d = seqDiff(p.seq, this.next!);
      if (d > 0) return;
      this.pending.shift();
      this.pendingBytes -= p.bytes.length;
      const size = p.bytes.length + (p.gapBytes ?? 0);
      if (-d >= size) {
        this.retransmitted++;
        continue;
      }
      if (p.gapBytes) {
        this.skip(size + d, p.ts);
        continue;
      }
      this.deliver(p.bytes.subarray(-d), p.ts);
      d = 0;
    }
  }
}
