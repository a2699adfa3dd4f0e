/** The request latency summary `zmq-debug tap` writes to stderr when it ends (stdout stays the records). */
import { Capture } from '../core/capture/capture';
import { RequestLatency } from '../core/topology/latency';

const ms = (v: number) => `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;

/** One line per tap connection that carried request/reply pairs, from the records the capture still holds. */
export function latencySummary(capture: Capture): string[] {
  const l = new RequestLatency();
  for (const r of capture.records()) l.observe(r);
  const lines: string[] = [];
  for (const [id, s] of l.all()) {
    if (!s.requests) continue;
    lines.push(
      `latency ${id}: ${s.requests} request${s.requests === 1 ? '' : 's'}, p50 ${ms(s.p50Ms)}, p95 ${ms(s.p95Ms)}, p99 ${ms(s.p99Ms)}, max ${ms(s.maxMs)}` +
        (s.pending ? `, ${s.pending} pending` : '') +
        (s.unmatched ? `, ${s.unmatched} unmatched` : ''),
    );
  }
  return lines;
}
