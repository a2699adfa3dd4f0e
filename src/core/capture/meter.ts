/** Message and byte counts with rates over a sliding window of whole seconds (topology and agent facts). */

export interface RateFacts {
  messages: number;
  bytes: number;
  /** Messages per second over the sliding window. */
  rate: number;
  /** Bytes per second over the sliding window. */
  byteRate: number;
  lastTs: number;
}

export class WindowMeter {
  private readonly secs: number[];
  private readonly counts: number[];
  private readonly sizes: number[];
  messages = 0;
  bytes = 0;
  firstTs = 0;
  lastTs = 0;

  constructor(private readonly window: number) {
    this.secs = new Array(window).fill(-1);
    this.counts = new Array(window).fill(0);
    this.sizes = new Array(window).fill(0);
  }

  /** `n` messages of `bytes` bytes in all at `ts` (a run of messages read at one time counts as n hits). */
  hit(ts: number, bytes: number, n = 1): void {
    const s = Math.floor(ts / 1000);
    const i = s % this.window;
    if (this.secs[i] !== s) {
      this.secs[i] = s;
      this.counts[i] = 0;
      this.sizes[i] = 0;
    }
    this.counts[i] += n;
    this.sizes[i] += bytes;
    this.messages += n;
    this.bytes += bytes;
    if (!this.firstTs) this.firstTs = ts;
    if (ts > this.lastTs) this.lastTs = ts;
  }

  facts(now: number): RateFacts {
    const s = Math.floor(now / 1000);
    let n = 0;
    let b = 0;
    for (let i = 0; i < this.window; i++) {
      if (this.secs[i] > s - this.window && this.secs[i] <= s) {
        n += this.counts[i];
        b += this.sizes[i];
      }
    }
    // a stream that started a moment ago is averaged over its own age, not the whole window
    const span = Math.min(this.window, Math.max(1, (now - this.firstTs) / 1000));
    return { messages: this.messages, bytes: this.bytes, rate: n / span, byteRate: b / span, lastTs: this.lastTs };
  }
}
