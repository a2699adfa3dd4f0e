/**
 * Request latency: round-trip times of request/reply pairs seen through a tap
 * (REQ/REP and DEALER/ROUTER families), per connection: p50/p95/p99 over the
 * latest samples and a histogram over all of them.
 *
 * A request is a message sent by the requesting side (REQ or DEALER towards REP
 * or ROUTER); its reply is the next message the other way. Replies are matched
 * to requests first in, first out — exact for REQ/REP (one request at a time),
 * and for DEALER/ROUTER servers that answer in order; a server that answers out
 * of order (several workers behind a ROUTER) makes single samples inexact, the
 * distribution stays roughly right. Everything is bounded: pending requests,
 * the sample window.
 *
 * REQ/REP is request/reply by construction. A DEALER/ROUTER pair is only when
 * its messages alternate (request, reply, request, ...): the first time one side
 * sends twice in a row (heartbeats, a stream of stats, pipelined requests) the
 * connection is not measured any more and has no figures, rather than round
 * trips made of unrelated messages.
 */
import { CaptureRecord } from '../capture/records';
import { normalizeSocketType } from '../zmq/socketTypes';

/** Upper bounds (ms, inclusive) of the histogram's buckets; the last bucket is everything above. */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] as const;

export interface LatencyStats {
  /** Requests answered (round trips measured). */
  requests: number;
  /** Requests still without reply. */
  pending: number;
  /** Replies with no request to match (capture started mid-exchange) and requests forgotten when too many were pending. */
  unmatched: number;
  lastMs: number;
  minMs: number;
  meanMs: number;
  maxMs: number;
  /** Percentiles (nearest rank) over the latest samples (see LatencyOptions.window). */
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** counts[i]: round trips ≤ LATENCY_BUCKETS_MS[i] (and above the previous bound); the last count is above every bound. */
  histogram: { boundsMs: readonly number[]; counts: number[] };
}

export interface LatencyOptions {
  /** Samples kept for percentiles. Default 4096. */
  window?: number;
  /** Requests kept waiting for their reply. Default 10000. */
  maxPending?: number;
  /** Closed connections whose figures are kept (the oldest closed are forgotten). Default 200. */
  maxClosed?: number;
}

const REQUESTERS = new Set(['REQ', 'DEALER']);
const REPLIERS = new Set(['REP', 'ROUTER']);

/**
 * Which way requests go between a connecting peer (client) and the target,
 * from their socket types, or undefined when they are not a request/reply pair.
 */
export function requestDirection(clientType: string | undefined, targetType: string | undefined): 'toTarget' | 'fromTarget' | undefined {
  const c = clientType ? normalizeSocketType(clientType) : undefined;
  const t = targetType ? normalizeSocketType(targetType) : undefined;
  if (!c || !t) return undefined;
  if (REQUESTERS.has(c) && REPLIERS.has(t)) return 'toTarget';
  if (REPLIERS.has(c) && REQUESTERS.has(t)) return 'fromTarget';
  return undefined;
}

/** The round trips of one connection. */
export class ConnectionLatency {
  private readonly pending: number[] = [];
  private pendingHead = 0;
  private readonly samples: Float64Array;
  private sampleCount = 0;
  private requests = 0;
  private unmatched = 0;
  private sum = 0;
  private min = Infinity;
  private max = 0;
  private last = 0;
  private readonly counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  private readonly maxPending: number;

  constructor(o: LatencyOptions = {}) {
    this.samples = new Float64Array(Math.max(1, o.window ?? 4096));
    this.maxPending = Math.max(1, o.maxPending ?? 10000);
  }

  request(ts: number): void {
    if (this.pending.length - this.pendingHead >= this.maxPending) {
      this.pendingHead++;
      this.unmatched++;
    }
    this.pending.push(ts);
  }

  reply(ts: number): void {
    if (this.pendingHead >= this.pending.length) {
      this.unmatched++;
      return;
    }
    const sent = this.pending[this.pendingHead++];
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    this.add(Math.max(0, ts - sent));
  }

  /** The connection closed: its pending requests will never be answered. */
  close(): void {
    this.unmatched += this.pending.length - this.pendingHead;
    this.pending.length = 0;
    this.pendingHead = 0;
  }

  private add(ms: number): void {
    this.samples[this.sampleCount++ % this.samples.length] = ms;
    this.requests++;
    this.sum += ms;
    this.last = ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]) i++;
    this.counts[i]++;
  }

  stats(): LatencyStats | undefined {
    if (this.requests === 0 && this.pending.length === this.pendingHead) return undefined;
    const n = Math.min(this.sampleCount, this.samples.length);
    const sorted = this.samples.slice(0, n).sort();
    return {
      requests: this.requests,
      pending: this.pending.length - this.pendingHead,
      unmatched: this.unmatched,
      lastMs: this.last,
      minMs: this.requests ? this.min : 0,
      meanMs: this.requests ? this.sum / this.requests : 0,
      maxMs: this.max,
      p50Ms: percentile(sorted, 50),
      p95Ms: percentile(sorted, 95),
      p99Ms: percentile(sorted, 99),
      histogram: { boundsMs: LATENCY_BUCKETS_MS, counts: [...this.counts] },
    };
  }
}

/** Nearest-rank percentile of ascending `sorted` (0 when empty). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

interface RequestReplyConnection {
  latency: ConnectionLatency;
  reqDir: 'toTarget' | 'fromTarget';
  /** DEALER/ROUTER: request/reply only while the directions alternate. */
  mustAlternate: boolean;
  lastDirection?: 'toTarget' | 'fromTarget';
  /** One side sent twice in a row: not request/reply, no figures. */
  notRequestReply: boolean;
}

/**
 * Round trips of every tap connection in a stream of capture records, keyed
 * `session#connection` (the topology's connection id). Reads the socket types
 * from the messages themselves (sender `socketType`, receiver `peerSocketType`).
 */
export class RequestLatency {
  private readonly conns = new Map<string, RequestReplyConnection>();
  /** Closed connections, oldest first: each keeps a sample window, so only the latest maxClosed stay. */
  private readonly closed = new Set<string>();

  constructor(private readonly options: LatencyOptions = {}) {}

  private forgetOldClosed(): void {
    const max = Math.max(0, this.options.maxClosed ?? 200);
    for (const id of this.closed) {
      if (this.closed.size <= max) break;
      this.closed.delete(id);
      this.conns.delete(id);
    }
  }

  observe(r: CaptureRecord): void {
    if ((r.kind !== 'message' && r.kind !== 'connection') || r.connection === undefined || !r.session) return;
    const id = `${r.session}#${r.connection}`;
    if (r.kind === 'connection') {
      this.closed.delete(id);
      if (r.state === 'open') this.conns.delete(id); // a new connection under a reused number (a cleared capture)
      else if (this.conns.has(id)) {
        this.conns.get(id)!.latency.close();
        this.closed.add(id);
        this.forgetOldClosed();
      }
      return;
    }
    if (r.kind !== 'message' || (r.direction !== 'toTarget' && r.direction !== 'fromTarget')) return;
    let c = this.conns.get(id);
    if (!c) {
      if (!r.socketType || !r.peerSocketType) return;
      const [client, target] = r.direction === 'toTarget' ? [r.socketType, r.peerSocketType] : [r.peerSocketType, r.socketType];
      const reqDir = requestDirection(client, target);
      if (!reqDir) return;
      const strict = normalizeSocketType(client) === 'REQ' || normalizeSocketType(target) === 'REP';
      c = { latency: new ConnectionLatency(this.options), reqDir, mustAlternate: !strict, notRequestReply: false };
      this.conns.set(id, c);
    }
    if (c.notRequestReply) return;
    if (c.mustAlternate) {
      if (c.lastDirection === r.direction) {
        c.notRequestReply = true;
        return;
      }
      c.lastDirection = r.direction;
    }
    if (r.direction === c.reqDir) c.latency.request(r.ts);
    else c.latency.reply(r.ts);
  }

  /** Stats of one connection (`session#connection`), or undefined when it carried no request/reply. */
  stats(id: string): LatencyStats | undefined {
    const c = this.conns.get(id);
    return c && !c.notRequestReply ? c.latency.stats() : undefined;
  }

  /** Every connection with round trips or pending requests. */
  all(): Map<string, LatencyStats> {
    const out = new Map<string, LatencyStats>();
    for (const [id, c] of this.conns) {
      if (c.notRequestReply) continue;
      const s = c.latency.stats();
      if (s) out.set(id, s);
    }
    return out;
  }

  clear(): void {
    this.conns.clear();
    this.closed.clear();
  }
}
