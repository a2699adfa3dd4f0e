/**
 * The native agent (LD_PRELOAD interposer of libzmq): a C PUSH → PULL pair
 * (two threads of one process, tcp on 127.0.0.1, Debian's libzmq) at full
 * speed, with the interposer and a collector capturing, divided by the same
 * without it: per pair of rounds (their order alternating) the ratio, the
 * median of 5 with the lowest and highest. The interposer looks at 12,500
 * messages per 50 ms per process (its gate, see docs/native-agent.md) and
 * counts the rest as dropped. Then the same pair paced at 100,000 messages a
 * second: the share of its reports (a send and a receive per message) that
 * reached the capture.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capture } from '../src/core/capture/capture';
import { Collector } from '../src/core/sessions/collector';
import { nativeAgentLibrary } from '../src/core/sessions/nativeAgent';
import { BENCH_SIZES, median, numberArg, printAndExit } from './util';

function build(): { program: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'zmq-native-bench-'));
  const program = join(dir, 'native_push_pull');
  execFileSync('gcc', ['-O2', '-o', program, join(__dirname, 'peers', 'native_push_pull.c'), '-lzmq', '-lpthread']);
  return { program, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One round: messages per second the PULL received. */
async function round(program: string, count: number, size: number, env: Record<string, string>, rate = 0): Promise<number> {
  const base = { ...process.env };
  delete base.ZMQ_DEBUG_COLLECTOR;
  delete base.ZMQ_DEBUG_TOKEN;
  delete base.LD_PRELOAD;
  const child = spawn(program, [String(count), String(size), ...(rate ? [String(rate)] : [])], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise((r) => child.on('exit', r));
  const m = /RATE (\d+)/.exec(out);
  if (code !== 0 || !m) throw new Error(`native_push_pull failed (${code}): ${out}`);
  return Number(m[1]);
}

/** A round with the interposer reporting to a capturing collector; what the collector got. */
async function observed(program: string, count: number, size: number, rate = 0): Promise<{ rate: number; captured: number; dropped: number }> {
  const capture = new Capture();
  const collector = await Collector.start({ capture });
  try {
    const env = collector.environment({});
    if (!env.LD_PRELOAD) throw new Error('no native agent library: build it first (node esbuild.mjs)');
    const r = await round(program, count, size, env, rate);
    // the last reports arrive as the process exits
    const end = Date.now() + 3000;
    while (collector.state === 'receiving' && Date.now() < end) await new Promise((res) => setTimeout(res, 20));
    const st = collector.stats();
    return { rate: r, captured: st.messages, dropped: st.agentDropped };
  } finally {
    await collector.stop();
    collector.dispose();
    capture.dispose();
  }
}

export async function runNativeAgentBench(o: { count: number; runs: number; pacedCount: number }): Promise<Record<string, number>> {
  if (!nativeAgentLibrary()) throw new Error('no native agent library loads here: build it first (node esbuild.mjs)');
  const { program, dispose } = build();
  const result: Record<string, number> = {};
  try {
    for (const [size, key] of BENCH_SIZES) {
      const ratios: number[] = [];
      const plainRates: number[] = [];
      let captured = 0;
      let dropped = 0;
      for (let i = 0; i < o.runs; i++) {
        // the order alternates, so that a drift of the machine's load does not favour one side
        let plain = i % 2 === 0 ? await round(program, o.count, size, {}) : 0;
        const w = await observed(program, o.count, size);
        if (i % 2 === 1) plain = await round(program, o.count, size, {});
        plainRates.push(plain);
        ratios.push(w.rate / plain);
        captured += w.captured;
        dropped += w.dropped;
        process.stderr.write(`[bench]   native ${key} round ${i + 1}: ${plain} msg/s without, ${w.rate} with (${(w.rate / plain).toFixed(2)}), ${w.captured} captured, ${w.dropped} dropped\n`);
      }
      result[`native_agent_overhead_ratio_${key}`] = +median(ratios).toFixed(3);
      result[`native_agent_overhead_ratio_${key}_min`] = +Math.min(...ratios).toFixed(3);
      result[`native_agent_overhead_ratio_${key}_max`] = +Math.max(...ratios).toFixed(3);
      result[`native_pushpull_msgs_per_s_${key}`] = Math.round(median(plainRates));
      result[`native_agent_fullspeed_captured_share_${key}`] = +(captured / (captured + dropped || 1)).toFixed(3);
    }
    // paced: every report of the rate a program may well run at is wanted
    const shares: number[] = [];
    for (let i = 0; i < Math.min(3, o.runs); i++) {
      const w = await observed(program, o.pacedCount, 16, 100_000);
      shares.push(w.captured / (2 * o.pacedCount));
      process.stderr.write(`[bench]   native paced 100k/s round ${i + 1}: ${w.rate} msg/s, ${w.captured} of ${2 * o.pacedCount} reports captured, ${w.dropped} dropped\n`);
    }
    result.native_agent_paced_captured_share_16b = +median(shares).toFixed(4);
  } finally {
    dispose();
  }
  return result;
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  printAndExit(runNativeAgentBench({ count: numberArg('count', quick ? 100_000 : 1_000_000), runs: numberArg('runs', 5), pacedCount: numberArg('paced', quick ? 50_000 : 300_000) }));
}
