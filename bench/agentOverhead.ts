/**
 * Agent overhead: pyzmq PUSH → PULL throughput (two processes, tcp on
 * 127.0.0.1) with the zmq-debug agent in both and a collector capturing, divided
 * by the same without the agent, side by side in one run: per pair of rounds
 * (their order alternating), the median of the pairs' ratios, with the lowest
 * and highest. The agents look at 250 messages per 50 ms per process (bursts of 5,000) and
 * count the rest (see docs/agents.md).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Capture } from '../src/core/capture/capture';
import { Collector } from '../src/core/sessions/collector';
import { freePort, median, printAndExit, PYTHON } from './util';

const PEER = join(__dirname, 'peers', 'push_pull.py');

/** One round: messages per second the PULL side measured. */
async function round(count: number, size: number, env: Record<string, string>): Promise<number> {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const base = { ...process.env };
  delete base.ZMQ_DEBUG_COLLECTOR;
  delete base.ZMQ_DEBUG_TOKEN;
  const pull = spawn(PYTHON, [PEER, 'pull', endpoint, String(count)], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  pull.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const check = () => out.includes('bound') && resolve();
    pull.stdout!.on('data', check);
    pull.on('exit', (c) => reject(new Error(`PULL exited ${c}: ${out}`)));
  });
  const push = spawn(PYTHON, [PEER, 'push', endpoint, String(count), String(size)], { env: { ...base, ...env }, stdio: 'inherit' });
  const [code] = await Promise.all([new Promise((r) => pull.on('exit', r)), new Promise((r) => push.on('exit', r))]);
  const m = /RATE ([\d.]+)/.exec(out);
  if (code !== 0 || !m) throw new Error(`PULL failed (${code}): ${out}`);
  return Number(m[1]);
}

export async function runAgentOverheadBench(o: { count: number; runs: number }): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const [size, key] of [
    [16, '16b'],
    [1024, '1k'],
  ] as const) {
    const ratios: number[] = [];
    const plainRates: number[] = [];
    const agentRates: number[] = [];
    let captured = 0;
    let dropped = 0;
    for (let i = 0; i < o.runs; i++) {
      // the order alternates, so that a drift of the machine's load does not favour one side
      let plain = i % 2 === 0 ? await round(o.count, size, {}) : 0;
      const capture = new Capture();
      const collector = await Collector.start({ capture });
      const withAgent = await round(o.count, size, collector.environment({}));
      await new Promise((r) => setTimeout(r, 200));
      captured += collector.stats().messages;
      dropped += collector.stats().agentDropped;
      await collector.stop();
      collector.dispose();
      capture.dispose();
      if (i % 2 === 1) plain = await round(o.count, size, {});
      plainRates.push(plain);
      agentRates.push(withAgent);
      ratios.push(withAgent / plain);
      process.stderr.write(`[bench]   agent ${key} round ${i + 1}: ${Math.round(plain)} msg/s without, ${Math.round(withAgent)} with (${(withAgent / plain).toFixed(2)})\n`);
    }
    result[`agent_overhead_ratio_${key}`] = +median(ratios).toFixed(3);
    result[`agent_overhead_ratio_${key}_min`] = +Math.min(...ratios).toFixed(3);
    result[`agent_overhead_ratio_${key}_max`] = +Math.max(...ratios).toFixed(3);
    result[`agent_pushpull_msgs_per_s_${key}`] = Math.round(median(plainRates));
    // share of the reports (a send and a receive per message) that reached the capture
    result[`agent_captured_share_${key}`] = +(captured / (captured + dropped || 1)).toFixed(3);
  }
  return result;
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  printAndExit(runAgentOverheadBench({ count: quick ? 100_000 : 1_000_000, runs: 3 }));
}
