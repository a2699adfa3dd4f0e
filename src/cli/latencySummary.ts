/** The request latency summary `zmq-debug tap` writes to stderr when it ends (stdout stays the records). */
import { Capture } from '../core/capture/capture';
import { RequestLatency } from '../core/topology/latency';
import { latencySummary as summaryText } from '../shared/latencyText';

/** One line per tap connection that carried request/reply pairs, from the records the capture still holds. */
export function latencySummary(capture: Capture): string[] {
  const l = new RequestLatency();
  for (const r of capture.records()) l.observe(r);
  const lines: string[] = [];
  for (const [id, s] of l.all()) if (s.requests) lines.push(`latency ${id}: ${summaryText(s)}`);
  return lines;
}
