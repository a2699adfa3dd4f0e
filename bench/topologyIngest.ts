/**
 * What the topology model costs the capture: the same stream of records
 * (spy messages on 10 topics, and a tap connection with 5 subscribers)
 * appended to a capture with and without a model attached, side by side, plus
 * the cost of one doctor evaluation and one map graph. Synthetic records: this
 * measures our code, not the network.
 *
 *   npx tsx bench/topologyIngest.ts [records]
 */
import { Capture } from '../src/core/capture/capture';
import { diagnose } from '../src/core/topology/doctor';
import { toMapGraph } from '../src/viewers/mapGraph';
import type { CaptureRecord } from '../src/core/capture/records';
import { TopologyModel } from '../src/core/topology/topology';
import { median } from './util';

const N = Number(process.argv[2] ?? 200_000);
const enc = new TextEncoder();
const topics = Array.from({ length: 10 }, (_, i) => enc.encode(`topic.${i} `));
const endpoint = 'tcp://127.0.0.1:5556';

function records(): CaptureRecord[] {
  const out: CaptureRecord[] = [];
  const base = { seq: 0, ts: 0, endpoint };
  for (let c = 1; c <= 5; c++) {
    out.push({ ...base, kind: 'connection', source: 'tap', session: 'tap-1', connection: c, state: 'open', peer: `127.0.0.1:${40000 + c}` });
    out.push({ ...base, kind: 'command', source: 'tap', session: 'tap-1', direction: 'toTarget', connection: c, name: 'READY', properties: { 'Socket-Type': enc.encode('SUB') } });
    out.push({ ...base, kind: 'command', source: 'tap', session: 'tap-1', direction: 'fromTarget', connection: c, name: 'READY', properties: { 'Socket-Type': enc.encode('PUB') } });
    out.push({ ...base, kind: 'command', source: 'tap', session: 'tap-1', direction: 'toTarget', connection: c, name: 'SUBSCRIBE', topic: enc.encode(`topic.${c}`) });
  }
  for (let i = 0; i < N; i++) {
    const frames = [topics[i % 10], enc.encode(String(i))];
    out.push({ ...base, kind: 'message', source: 'spy', session: 'spy-1', direction: 'in', frames, socketType: 'SUB' });
  }
  return out;
}

function run(withModel: boolean): { ms: number; model?: TopologyModel; capture: Capture } {
  const capture = new Capture({ maxRecords: N + 100 });
  const model = withModel ? new TopologyModel(capture, undefined, { throttleMs: 1e9 }) : undefined;
  const rs = records();
  const t0 = performance.now();
  // batches of 1000 with a catch-up in between, as ticks would
  for (let i = 0; i < rs.length; i += 1000) {
    for (const r of rs.slice(i, i + 1000)) capture.append(r);
    (model as unknown as { catchUp?: () => void })?.catchUp?.();
  }
  return { ms: performance.now() - t0, model, capture };
}

const plain: number[] = [];
const withModel: number[] = [];
let last: ReturnType<typeof run> | undefined;
for (let i = 0; i < 3; i++) {
  plain.push(run(false).ms);
  last?.model?.dispose();
  last = run(true);
  withModel.push(last.ms);
}
const m = last!.model!;
const evalMs: number[] = [];
const graphMs: number[] = [];
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  const s = m.snapshot();
  const d = diagnose(s);
  const t1 = performance.now();
  toMapGraph(s, d);
  evalMs.push(t1 - t0);
  graphMs.push(performance.now() - t1);
}
const p = median(plain);
const w = median(withModel);
console.log(`records: ${N} spy messages + 20 tap records, median of 3`);
console.log(`capture alone:        ${p.toFixed(0)} ms (${((N / p) * 1000).toFixed(0)} records/s)`);
console.log(`capture + topology:   ${w.toFixed(0)} ms (${((N / w) * 1000).toFixed(0)} records/s), ratio ${(w / p).toFixed(2)}`);
console.log(`snapshot + doctor:    ${median(evalMs).toFixed(2)} ms; map graph: ${median(graphMs).toFixed(2)} ms`);
m.dispose();
