/**
 * Message and byte counts per second, for the viewer's timeline chart. Fed by
 * the query's scan (one call per matching message, no extra pass), bounded
 * (the newest MAX_SECONDS seconds) and downsampled to at most `maxPoints`
 * points when read.
 */
import { TimelineSeries } from '../shared/protocol/frames';

const MAX_SECONDS = 24 * 3600;

export class Timeline {
  private first = Infinity;
  private last = -Infinity;
  private readonly counts = new Map<number, number>();
  private readonly bytes = new Map<number, number>();

  /** `n` messages of `size` bytes in all at `ts` (a scan adds a run of messages read at one time at once). */
  add(ts: number, size: number, n = 1): void {
    const s = Math.floor(ts / 1000);
    if (s === this.last) {
      // the common case (messages in time order): no new bucket
      this.counts.set(s, this.counts.get(s)! + n);
      this.bytes.set(s, this.bytes.get(s)! + size);
      return;
    }
    this.counts.set(s, (this.counts.get(s) ?? 0) + n);
    this.bytes.set(s, (this.bytes.get(s) ?? 0) + size);
    if (s < this.first) this.first = s;
    if (s > this.last) {
      this.last = s;
      if (this.last - this.first >= MAX_SECONDS) this.prune((this.last - MAX_SECONDS + 1) * 1000);
    }
  }

  /** Forgets seconds before `ts` (records evicted from the capture). */
  prune(ts: number): void {
    const s = Math.floor(ts / 1000);
    if (s <= this.first) return;
    if (s > this.last) {
      this.clear();
      return;
    }
    if (this.counts.size < s - this.first) {
      for (const k of this.counts.keys()) if (k < s) this.drop(k);
    } else for (let k = this.first; k < s; k++) this.drop(k);
    this.first = s;
    if (!this.counts.size) this.clear();
  }

  private drop(k: number): void {
    this.counts.delete(k);
    this.bytes.delete(k);
  }

  clear(): void {
    this.counts.clear();
    this.bytes.clear();
    this.first = Infinity;
    this.last = -Infinity;
  }

  get empty(): boolean {
    return this.counts.size === 0;
  }

  /** Rates per second, in buckets of whole seconds so that there are at most `maxPoints`. */
  series(maxPoints = 600): TimelineSeries {
    if (!this.counts.size) return { start: 0, bucketMs: 1000, messages: [], bytes: [] };
    const span = this.last - this.first + 1;
    const per = Math.max(1, Math.ceil(span / maxPoints));
    const n = Math.ceil(span / per);
    const messages = new Array<number>(n).fill(0);
    const bytes = new Array<number>(n).fill(0);
    for (const [k, c] of this.counts) {
      const i = Math.floor((k - this.first) / per);
      messages[i] += c / per;
      bytes[i] += (this.bytes.get(k) ?? 0) / per;
    }
    return { start: this.first * 1000, bucketMs: per * 1000, messages, bytes };
  }
}
