/**
 * Request latency as text, one rendering for the CLI's summary, the Sessions
 * view and the topology map (host and webview). Browser-safe: no Node, no VS Code.
 * The figures come from core/topology/latency.ts (LatencyStats) or the map
 * protocol (MapLatency): both fit LatencyFigures.
 */

export interface LatencyFigures {
  requests: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Requests still without reply, replies without request. */
  pending?: number;
  unmatched?: number;
  /** counts[i]: round trips ≤ boundsMs[i] (and above the previous bound); one more count for above every bound. */
  histogram?: { boundsMs: readonly number[]; counts: readonly number[] };
}

/** "0.8 ms", "20 ms", "1234 ms": tenths below 10 ms. */
export function formatMs(v: number): string {
  return `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;
}

/** For an edge label or a tree row: "p50 20 ms · p99 80 ms". */
export function latencyBrief(l: LatencyFigures): string {
  return `p50 ${formatMs(l.p50Ms)} · p99 ${formatMs(l.p99Ms)}`;
}

/** The whole summary: "60 requests, p50 20 ms, p95 80 ms, p99 80 ms, max 81 ms, 1 pending, 2 unmatched". */
export function latencySummary(l: LatencyFigures): string {
  return (
    `${l.requests} request${l.requests === 1 ? '' : 's'}, p50 ${formatMs(l.p50Ms)}, p95 ${formatMs(l.p95Ms)}, p99 ${formatMs(l.p99Ms)}, max ${formatMs(l.maxMs)}` +
    (l.pending ? `, ${l.pending} pending` : '') +
    (l.unmatched ? `, ${l.unmatched} unmatched` : '')
  );
}

const bound = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);

/**
 * The histogram as text lines, from the first bucket that holds round trips
 * to the last: "≤ 20 ms   ████████████        40". Bars scale to the fullest
 * bucket (`width` characters); a bucket with any round trip shows at least one.
 */
export function latencyHistogramLines(h: NonNullable<LatencyFigures['histogram']>, width = 20): string[] {
  const { boundsMs, counts } = h;
  const first = counts.findIndex((c) => c > 0);
  if (first < 0) return [];
  let last = counts.length - 1;
  while (last > first && !counts[last]) last--;
  const labels: string[] = [];
  for (let i = first; i <= last; i++) labels.push(i < boundsMs.length ? `≤ ${bound(boundsMs[i])}` : `> ${bound(boundsMs[boundsMs.length - 1])}`);
  const labelWidth = Math.max(...labels.map((l) => l.length));
  const max = Math.max(...counts);
  const countWidth = String(max).length;
  const out: string[] = [];
  for (let i = first; i <= last; i++) {
    const n = counts[i];
    const bar = n ? '█'.repeat(Math.max(1, Math.round((n / max) * width))) : '';
    out.push(`${labels[i - first].padEnd(labelWidth)}  ${bar.padEnd(width)}  ${String(n).padStart(countWidth)}`);
  }
  return out;
}
