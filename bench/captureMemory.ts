/**
 * Capture memory: bytes of heap (JS heap + array buffers) per retained message,
 * and the cost of the eviction path (appends into a full window vs into an
 * empty one), measured side by side. Needs `node --expose-gc`.
 */
import { Capture } from '../src/core/capture/capture';
import { CapturedMessage } from '../src/core/capture/records';
import { median } from './util';

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with node --expose-gc');
  g();
  g();
}

function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function message(i: number, size: number): CapturedMessage {
  // a fresh Buffer per message, as zeromq hands them to the spy
  const frame = Buffer.allocUnsafe(size).fill(i & 0xff);
  return { kind: 'message', seq: 0, ts: Date.now(), session: 'spy-1', source: 'spy', endpoint: 'tcp://127.0.0.1:5556', direction: 'in', frames: [frame], socketType: 'SUB' };
}

async function bytesPerMessage(count: number, size: number): Promise<number> {
  // a disposed capture's chunks are held weakly for the next one, and a WeakRef keeps its
  // target until the end of the job that made it: end the job, so that the GC frees them
  // and this capture's memory is all counted
  await new Promise((r) => setImmediate(r));
  gc();
  const before = used();
  const capture = new Capture({ maxRecords: count, maxBytes: Number.MAX_SAFE_INTEGER });
  for (let i = 0; i < count; i++) capture.append(message(i, size));
  gc();
  const after = used();
  if (capture.stats().retained !== count) throw new Error('not all retained');
  const { reusedChunks, reusedRings } = capture.storeStats();
  if (reusedChunks || reusedRings) throw new Error(`the capture reused ${reusedChunks} chunks and ${reusedRings} rings of an earlier one: they would not be counted`);
  const per = (after - before) / count;
  capture.clear();
  return per;
}

/**
 * ns per append: into a window that never fills, a full one that evicts on every
 * append, and a full one whose every record is also read as it comes (the CLI, a
 * live viewer). Read records pin their chunk until the GC frees it (see
 * recordStore.ts), so the last one allocates fresh chunks instead of recycling:
 * the cost of records that are safe to hold.
 */
function evictionCost(count: number, size: number): { appendNs: number; evictingAppendNs: number; evictingReadAppendNs: number } {
  const run = (maxRecords: number, read: boolean) => {
    const capture = new Capture({ maxRecords, maxBytes: Number.MAX_SAFE_INTEGER });
    let sum = 0;
    const t = performance.now();
    for (let i = 0; i < count; i++) {
      const r = capture.append(message(i, size));
      if (read) sum += (capture.get(r.seq) as CapturedMessage).frames[0][0];
    }
    const ns = ((performance.now() - t) * 1e6) / count;
    if (maxRecords < count && capture.stats().evicted !== count - maxRecords) throw new Error('eviction count is wrong');
    if (read && sum < 0) throw new Error('unreachable: keeps the reads');
    return ns;
  };
  const plain: number[] = [];
  const evicting: number[] = [];
  const reading: number[] = [];
  for (let i = 0; i < 3; i++) {
    plain.push(run(count, false));
    gc();
    evicting.push(run(10_000, false));
    gc();
    reading.push(run(10_000, true));
    gc();
  }
  return { appendNs: median(plain), evictingAppendNs: median(evicting), evictingReadAppendNs: median(reading) };
}

export async function runCaptureMemoryBench(opts: { count: number; runs: number }) {
  const out: Record<string, number> = {};
  for (const [label, size] of [['16b', 16], ['1k', 1024]] as const) {
    const runs: number[] = [];
    for (let i = 0; i < opts.runs; i++) runs.push(await bytesPerMessage(opts.count, size));
    out[`capture_bytes_per_msg_${label}`] = Math.round(median(runs));
    out[`capture_bytes_target_${label}`] = 2 * size + 100;
    const e = evictionCost(Math.min(opts.count, 500_000), size);
    out[`capture_append_ns_${label}`] = Math.round(e.appendNs);
    out[`capture_evicting_append_ns_${label}`] = Math.round(e.evictingAppendNs);
    out[`capture_evicting_append_read_ns_${label}`] = Math.round(e.evictingReadAppendNs);
  }
  return out;
}
