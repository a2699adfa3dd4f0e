/** The frames query's index of matching records (see framesQuery.ts). */

/** A growable, sorted list of seqs with cheap removal at the head. */
export class SeqIndex {
  private data = new Float64Array(1024);
  private head = 0;
  private tail = 0;

  get length(): number {
    return this.tail - this.head;
  }
  at(i: number): number {
    return this.data[this.head + i];
  }
  push(seq: number): void {
    if (this.tail === this.data.length) {
      const len = this.length;
      if (this.head > 0 && len * 2 <= this.data.length) this.data.copyWithin(0, this.head, this.tail);
      else {
        const next = new Float64Array(this.data.length * 2);
        next.set(this.data.subarray(this.head, this.tail));
        this.data = next;
      }
      this.head = 0;
      this.tail = len;
    }
    this.data[this.tail++] = seq;
  }
  /** Drops entries < seq; returns how many. */
  pruneBelow(seq: number): number {
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.data[mid] < seq) lo = mid + 1;
      else hi = mid;
    }
    const n = lo - this.head;
    this.head = lo;
    return n;
  }
  clear(): void {
    this.head = this.tail = 0;
    if (this.data.length > 1 << 16) this.data = new Float64Array(1024);
  }
}
