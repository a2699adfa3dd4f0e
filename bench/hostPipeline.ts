/**
 * The extension host's spy pipeline in plain Node, stage by stage: what one
 * 16 B message costs in CPU (this process's, microseconds) from the spy's read
 * to the viewer's post, as the extension composes it (src/extension/extension.ts):
 *
 *   spy + capture   PubSpy (ZMTP-native read and decode) → Capture.appendWire
 *                   (copy into the store, topic counting, session counters)
 *   + topology      TopologyModel reading every appended record (the map, the doctor)
 *   + viewer        FramesViewController: scan, batching, and the post, serialised
 *                   as VS Code serialises a webview message (JSON)
 *
 * The same pyzmq publisher (no HWM: a slow subscriber slows it rather than
 * losing messages) feeds every configuration; rounds alternate so that the
 * machine's load hits them alike. A stage's cost is its configuration's
 * CPU/msg minus the one before. For a function-level view run it under
 * `node --cpu-prof` (see docs/performance.md).
 *
 *   npx tsx bench/hostPipeline.ts [--count N] [--runs N]
 *
 * `--in-process` measures the two readers alone, without sockets: a full window
 * of 100,000 spy messages (16 B, appended as the spy appends them: batches of
 * one read, one timestamp each) read by a new TopologyModel and by the
 * viewer's query (FramesQuery.update), CPU ns per record, median of `runs`.
 */
import { Capture } from '../src/core/capture/capture';
import { PubSpy } from '../src/core/sessions/spy';
import { SessionManager } from '../src/core/sessions/sessionManager';
import { TopologyModel } from '../src/core/topology/topology';
import { FramesViewController } from '../src/viewers/framesViewController';
import { FramesQuery } from '../src/viewers/framesQuery';
import { go, startPublisher, type Publisher } from './spyIngest';
import { median, numberArg, printAndExit } from './util';

export const STAGES = ['spy+capture', '+topology', '+viewer'] as const;
type Stage = (typeof STAGES)[number];

/** b"END" as the capture lends it. */
const isEnd = (f: Uint8Array) => f.length === 3 && f[0] === 0x45 && f[1] === 0x4e && f[2] === 0x44;

/** One round of `count` messages through the pipeline up to `stage`: CPU µs per message, and what the viewer posted. */
export async function pipelineRound(pub: Publisher, count: number, stage: Stage): Promise<{ cpuUsPerMsg: number; posts: number; postedBytes: number; turns: number }> {
  const depth = STAGES.indexOf(stage);
  // the extension's default window (settings.captureLimits)
  const capture = new Capture({ maxRecords: 100_000 });
  const sessions = new SessionManager(capture);
  const topology = depth >= 1 ? new TopologyModel(capture, sessions) : undefined;
  let posts = 0;
  let postedBytes = 0;
  const viewer =
    depth >= 2
      ? new FramesViewController(capture, {
          post: (m) => {
            posts++;
            // a webview message crosses to the renderer serialised
            postedBytes += JSON.stringify(m).length;
          },
        })
      : undefined;
  viewer?.handle({ type: 'ready' });
  const spy = new PubSpy({ id: 'spy-1', endpoints: [`tcp://127.0.0.1:${pub.pubPort}`], capture, receiveHighWaterMark: 0 });
  sessions.add(spy);
  await go(pub.syncPort);
  const cpu0 = process.cpuUsage();
  // turns of the event loop that appended (the readers run once per turn); not listened to
  // without a reader, as a listener costs the capture a setImmediate per turn
  let turns = 0;
  const turnCount = depth >= 1 ? capture.onDidAppend(() => turns++) : undefined;
  const done = new Promise<void>((resolve) => {
    const sub = capture.onDidAppend(() => {
      const last = capture.peek(capture.stats().lastSeq);
      if (last?.kind === 'message' && isEnd(last.frames[0])) {
        sub.dispose();
        resolve();
      }
    });
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    done,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the end marker never arrived within 120 s (${capture.stats().totalMessages} of ${count + 1})`)), 120_000))),
  ]).finally(() => clearTimeout(timer));
  // the viewer's last batch (it posts at most every 125 ms while flooded)
  if (viewer) await new Promise((r) => setTimeout(r, 200));
  const cpu = process.cpuUsage(cpu0);
  const received = capture.stats().totalMessages - 1;
  turnCount?.dispose();
  await spy.stop();
  viewer?.dispose();
  topology?.dispose();
  sessions.dispose();
  capture.dispose();
  if (received !== count) throw new Error(`captured ${received} of ${count}`);
  return { cpuUsPerMsg: (cpu.user + cpu.system) / count, posts, postedBytes, turns };
}

export async function runHostPipelineBench(opts: { count: number; runs: number; log?: (line: string) => void }) {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[pipeline] ${l}\n`));
  const pub = await startPublisher(opts.count, 16, (opts.runs + 1) * STAGES.length);
  const cpu: Record<Stage, number[]> = { 'spy+capture': [], '+topology': [], '+viewer': [] };
  try {
    // one uncounted round of each, so that the counted ones run optimized code
    for (const s of STAGES) {
      await pipelineRound(pub, opts.count, s);
      await pub.loopRate();
    }
    for (let i = 0; i < opts.runs; i++) {
      const line: string[] = [];
      for (const s of STAGES) {
        const r = await pipelineRound(pub, opts.count, s);
        await pub.loopRate();
        cpu[s].push(r.cpuUsPerMsg);
        const posted = r.posts ? `, ${r.posts} posts, ${Math.round(r.postedBytes / 1024)} KiB` : '';
        const perTurn = r.turns ? `${Math.round(opts.count / r.turns)} msg/turn` : '';
        line.push(`${s} ${r.cpuUsPerMsg.toFixed(3)} µs/msg${perTurn || posted ? ` (${perTurn}${posted})` : ''}`);
      }
      log(`run ${i + 1}: ${line.join(', ')}`);
    }
  } finally {
    pub.stop();
  }
  const m = STAGES.map((s) => median(cpu[s]));
  const spread = (s: Stage) => `${Math.min(...cpu[s]).toFixed(3)}–${Math.max(...cpu[s]).toFixed(3)}`;
  return {
    host_pipeline_spy_capture_us_per_msg_16b: +m[0].toFixed(3),
    host_pipeline_topology_us_per_msg_16b: +(m[1] - m[0]).toFixed(3),
    host_pipeline_viewer_us_per_msg_16b: +(m[2] - m[1]).toFixed(3),
    host_pipeline_total_us_per_msg_16b: +m[2].toFixed(3),
    host_pipeline_spread: STAGES.map((s) => `${s} ${spread(s)}`).join('; '),
  };
}

/** A capture holding `count` 16 B messages as a spy appends them (one batch per read of 64 KiB, one ts per batch, `topics` topics in turn). */
export function spyCapture(count: number, topics = 1): Capture {
  const capture = new Capture({ maxRecords: count });
  const stream = { session: 'spy-1', source: 'spy' as const, endpoint: 'tcp://127.0.0.1:5556', direction: 'in' as const, connection: undefined, socketType: 'SUB', peerSocketType: undefined, identity: undefined, reqRepEnvelope: false };
  const perRead = Math.floor(65536 / 18);
  const bytes = new Uint8Array(perRead * 18);
  const batch = { count: 0, start: new Uint32Array(perRead), end: new Uint32Array(perRead), frames: new Uint32Array(perRead).fill(1), payload: new Uint32Array(perRead).fill(16) };
  let ts = 1_700_000_000_000;
  for (let sent = 0; sent < count; ts += 7) {
    const n = Math.min(perRead, count - sent);
    for (let i = 0; i < n; i++, sent++) {
      const o = i * 18;
      bytes.set(Buffer.from(`t${sent % topics} ${String(sent).padStart(13, '0')}`.slice(0, 16)), o + 2);
      bytes[o] = 0;
      bytes[o + 1] = 16;
      batch.start[i] = o;
      batch.end[i] = o + 18;
    }
    batch.count = n;
    capture.appendWire(stream, ts, bytes, batch);
  }
  return capture;
}

/** CPU ns per record of the topology model's and the viewer query's first read of a full window (see the header). */
export function inProcessStages(opts: { count: number; runs: number; topics: number }) {
  const capture = spyCapture(opts.count, opts.topics);
  const cpuNs = (f: () => void) => {
    const t0 = process.cpuUsage();
    f();
    const t = process.cpuUsage(t0);
    return ((t.user + t.system) * 1000) / opts.count;
  };
  const topology: number[] = [];
  const viewer: number[] = [];
  // the first of each is not counted (unoptimized code)
  for (let i = 0; i <= opts.runs; i++) {
    const t = cpuNs(() => new TopologyModel(capture).dispose());
    const v = cpuNs(() => new FramesQuery(capture).update());
    if (i > 0) topology.push(t), viewer.push(v);
  }
  capture.dispose();
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
  return {
    topology_ns_per_record: +median(topology).toFixed(1),
    topology_range: range(topology),
    viewer_ns_per_record: +median(viewer).toFixed(1),
    viewer_range: range(viewer),
  };
}

if (require.main === module) {
  if (process.argv.includes('--in-process')) {
    printAndExit(Promise.resolve(inProcessStages({ count: numberArg('count', 100_000), runs: numberArg('runs', 9), topics: numberArg('topics', 1) })));
  } else printAndExit(runHostPipelineBench({ count: numberArg('count', 1_000_000), runs: numberArg('runs', 3) }));
}
