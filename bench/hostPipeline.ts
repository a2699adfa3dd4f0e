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
 */
import { Capture } from '../src/core/capture/capture';
import { PubSpy } from '../src/core/sessions/spy';
import { SessionManager } from '../src/core/sessions/sessionManager';
import { TopologyModel } from '../src/core/topology/topology';
import { FramesViewController } from '../src/viewers/framesViewController';
import { go, startPublisher, type Publisher } from './spyIngest';
import { median, numberArg, printAndExit } from './util';

export const STAGES = ['spy+capture', '+topology', '+viewer'] as const;
type Stage = (typeof STAGES)[number];

/** b"END" as the capture lends it. */
const isEnd = (f: Uint8Array) => f.length === 3 && f[0] === 0x45 && f[1] === 0x4e && f[2] === 0x44;

/** One round of `count` messages through the pipeline up to `stage`: CPU µs per message, and what the viewer posted. */
export async function pipelineRound(pub: Publisher, count: number, stage: Stage): Promise<{ cpuUsPerMsg: number; posts: number; postedBytes: number }> {
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
  await spy.stop();
  viewer?.dispose();
  topology?.dispose();
  sessions.dispose();
  capture.dispose();
  if (received !== count) throw new Error(`captured ${received} of ${count}`);
  return { cpuUsPerMsg: (cpu.user + cpu.system) / count, posts, postedBytes };
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
        line.push(`${s} ${r.cpuUsPerMsg.toFixed(3)} µs/msg${r.posts ? ` (${r.posts} posts, ${Math.round(r.postedBytes / 1024)} KiB)` : ''}`);
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

if (require.main === module) {
  printAndExit(runHostPipelineBench({ count: numberArg('count', 1_000_000), runs: numberArg('runs', 3) }));
}
