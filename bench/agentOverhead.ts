/**
 * Agent overhead: pyzmq PUSH → PULL throughput (two processes, tcp on
 * 127.0.0.1) with the zmq-debug agent in both and a collector capturing, divided
 * by the same without the agent, side by side in one run: per pair of rounds
 * (their order alternating), the median of the pairs' ratios, with the lowest
 * and highest. A program above the gate (250,000 messages a second per process where the
 * native agent records pyzmq's messages, 5,000 for the Python agent alone) is sampled, the
 * rest counted (see docs/agents.md). runAgentPacedBench: a PUSH at a real rate with the
 * default gate: pyzmq on the shared libzmq has the native agent record its messages, every
 * one below 250,000 a second.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capture } from '../src/core/capture/capture';
import { Collector } from '../src/core/sessions/collector';
import { NATIVE_AGENT_FILE, nativeAgentLibrary, nativeAgentSourceDir } from '../src/core/sessions/nativeAgent';
import { BENCH_SIZES, freePort, median, numberArg, printAndExit, PYTHON } from './util';

const PEER = join(__dirname, 'peers', 'push_pull.py');
const PACED = join(__dirname, 'peers', 'paced_push.py');
const DISCARD = join(__dirname, 'peers', 'discard_reader.py');

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
    pull.on('close', (c) => reject(new Error(`PULL exited ${c}: ${out}`)));
  });
  const push = spawn(PYTHON, [PEER, 'push', endpoint, String(count), String(size)], { env: { ...base, ...env }, stdio: 'inherit' });
  // 'close', not 'exit': the PULL's last line may still be in its pipe when it exits
  const [code] = await Promise.all([new Promise((r) => pull.on('close', r)), new Promise((r) => push.on('exit', r))]);
  const m = /RATE ([\d.]+)/.exec(out);
  if (code !== 0 || !m) throw new Error(`PULL failed (${code}): ${out}`);
  return Number(m[1]);
}

export async function runAgentOverheadBench(o: { count: number; runs: number }): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const [size, key] of BENCH_SIZES) {
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

/** Environment for a program without any agent (whatever the bench itself was started with). */
export function plainEnv(): NodeJS.ProcessEnv {
  const base = { ...process.env };
  delete base.ZMQ_DEBUG_COLLECTOR;
  delete base.ZMQ_DEBUG_TOKEN;
  return base;
}

/** A child's stdout, whole, and its exit code. */
function output(child: ReturnType<typeof spawn>): Promise<{ code: number | null; out: string }> {
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** What a paced round measured: the program's CPU seconds (all its threads, and by thread) and the messages it sent. */
export interface PacedRound {
  cpu: number;
  sent: number;
  /** the program's own thread, libzmq's threads, every other thread (an agent's reporter) */
  threads: { main: number; io: number; other: number };
}

/**
 * One paced round: the program (a PUSH, its own process) sends `rate` messages a second
 * for `seconds` to a plain PULL in another process (no agent: only the program pays);
 * `env` adds the agent.
 */
export async function pacedRound(rate: number, seconds: number, size: number, env: Record<string, string>): Promise<PacedRound> {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const count = Math.floor(seconds * 1000) * Math.max(1, Math.floor(rate / 1000));
  const pull = spawn(PYTHON, [PACED, 'pull', endpoint, String(count)], { env: plainEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const pulled = output(pull);
  let err = '';
  pull.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  try {
    await new Promise<void>((resolve, reject) => {
      const check = (d: string) => d.includes('bound') && resolve();
      pull.stdout!.on('data', check);
      pulled.then(({ code }) => reject(new Error(`paced PULL exited ${code} before it bound: ${err.slice(-300)}`)), reject);
    });
    const push = spawn(PYTHON, [PACED, 'push', endpoint, String(rate), String(seconds), String(size)], { env: { ...plainEnv(), ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const p = await output(push);
    const m = /SENT (\d+) CPU ([\d.]+)/.exec(p.out);
    if (p.code !== 0 || !m) throw new Error(`paced PUSH failed (${p.code}): ${p.out.slice(-300)}`);
    const t = /THREADS io=([\d.-]+) main=([\d.-]+) other=([\d.-]+)/.exec(p.out);
    // every message reaches the PULL within seconds of the last send, or the round failed
    const late = setTimeout(() => pull.kill('SIGKILL'), 30_000);
    const q = await pulled.finally(() => clearTimeout(late));
    if (q.code !== 0 || !q.out.includes(`GOT ${count}`)) throw new Error(`paced PULL failed (${q.code}): ${q.out.slice(-300)} ${err.slice(-300)}`);
    return { cpu: Number(m[2]), sent: Number(m[1]), threads: { io: Number(t?.[1] ?? NaN), main: Number(t?.[2] ?? NaN), other: Number(t?.[3] ?? NaN) } };
  } finally {
    pull.kill('SIGKILL');
  }
}

/** A paced round's CPU by thread, in µs per message sent, for the bench's log. */
function perThread(r: PacedRound): string {
  const us = (s: number) => ((s * 1e6) / r.sent).toFixed(2);
  return `${us(r.cpu)} µs/msg (main ${us(r.threads.main)}, libzmq ${us(r.threads.io)}, other ${us(r.threads.other)})`;
}

/** bench/peers/discard_reader.py, listening: its port, and its stop. */
async function startDiscardReader(): Promise<{ port: number; stop(): void }> {
  const child = spawn(PYTHON, [DISCARD], { env: plainEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the discard reader did not start in 10 s')), 10_000);
    child.stdout!.setEncoding('utf8').once('data', (d: string) => (clearTimeout(t), resolve(Number(d.trim()))));
    child.on('exit', (code) => (clearTimeout(t), reject(new Error(`the discard reader exited ${code}`))));
  });
  return { port, stop: () => child.kill('SIGKILL') };
}

/**
 * Every message of a program at a real rate (issue 27): a pyzmq PUSH paced at `rate`
 * msg/s for `seconds`, its CPU time (process_time: all its threads) without the agent and
 * with it, side by side (order alternating), and the share of its messages the collector
 * captured. Keys: agent_paced_captured_share_<size>, agent_paced_cpu_ratio_<size>
 * (CPU without ÷ CPU with; median, with _min/_max), agent_paced_cpu_s_<size>_{plain,agent},
 * agent_paced_collector_us_per_msg_<size> (the collector's CPU, in this process, per message captured).
 * At 1 KiB also the agent's own cost, its ceiling: agent_paced_discard_cpu_ratio_1k (with _min/_max), the
 * same agent in a third round of each run whose reports go to a reader that only reads and drops them
 * (discard_reader.py), so that no collector's work shares the machine's cores with the program.
 */
export async function runAgentPacedBench(o: { rate: number; seconds: number; runs: number }): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  const discard = await startDiscardReader();
  try {
    await pacedBySize(o, result, discard.port);
  } finally {
    discard.stop();
  }
  return result;
}

async function pacedBySize(o: { rate: number; seconds: number; runs: number }, result: Record<string, number>, discardPort: number): Promise<void> {
  for (const [size, key] of BENCH_SIZES) {
    const ratios: number[] = [];
    const discardRatios: number[] = [];
    const shares: number[] = [];
    const plainCpu: number[] = [];
    const agentCpu: number[] = [];
    const collectorUs: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const plainFirst = i % 2 === 0;
      const plain = plainFirst ? await pacedRound(o.rate, o.seconds, size, {}) : undefined;
      const capture = new Capture();
      const collector = await Collector.start({ capture });
      try {
        // the default gate (the Python agent alone, without the native agent, samples at 5,000 a second)
        const own = process.cpuUsage();
        const withAgent = await pacedRound(o.rate, o.seconds, size, collector.environment(plainEnv()));
        // the last reports are on their way when the program exits
        for (let t = 0; t < 50 && collector.stats().messages + collector.stats().agentDropped < withAgent.sent; t++) await new Promise((r) => setTimeout(r, 100));
        const s = collector.stats();
        const used = process.cpuUsage(own);
        if (s.messages) collectorUs.push((used.user + used.system) / s.messages);
        const p = plain ?? (await pacedRound(o.rate, o.seconds, size, {}));
        process.stderr.write(`[bench]     CPU by thread: without ${perThread(p)}; with ${perThread(withAgent)}\n`);
        if (key === '1k') {
          const toDiscard = await pacedRound(o.rate, o.seconds, size, { ...collector.environment(plainEnv()), ZMQ_DEBUG_COLLECTOR: `127.0.0.1:${discardPort}` });
          discardRatios.push(p.cpu / toDiscard.cpu);
          process.stderr.write(`[bench]     with the reports dropped by a bare reader: ${perThread(toDiscard)} (${discardRatios.at(-1)!.toFixed(3)})\n`);
        }
        ratios.push(p.cpu / withAgent.cpu);
        shares.push(s.messages / withAgent.sent);
        plainCpu.push(p.cpu);
        agentCpu.push(withAgent.cpu);
        process.stderr.write(
          `[bench]   agent paced ${o.rate}/s ${key} round ${i + 1}: CPU ${p.cpu.toFixed(2)} s without, ${withAgent.cpu.toFixed(2)} s with (${(p.cpu / withAgent.cpu).toFixed(3)}); ` +
            `${s.messages} of ${withAgent.sent} captured, ${s.agentDropped} dropped; collector ${collectorUs.at(-1)?.toFixed(2)} µs CPU a message\n`,
        );
      } finally {
        await collector.stop();
        collector.dispose();
        capture.dispose();
      }
    }
    result[`agent_paced_captured_share_${key}`] = +median(shares).toFixed(4);
    result[`agent_paced_captured_share_${key}_min`] = +Math.min(...shares).toFixed(4);
    result[`agent_paced_cpu_ratio_${key}`] = +median(ratios).toFixed(3);
    result[`agent_paced_cpu_ratio_${key}_min`] = +Math.min(...ratios).toFixed(3);
    result[`agent_paced_cpu_ratio_${key}_max`] = +Math.max(...ratios).toFixed(3);
    result[`agent_paced_cpu_s_${key}_plain`] = +median(plainCpu).toFixed(3);
    result[`agent_paced_cpu_s_${key}_agent`] = +median(agentCpu).toFixed(3);
    if (collectorUs.length) result[`agent_paced_collector_us_per_msg_${key}`] = +median(collectorUs).toFixed(3);
    if (discardRatios.length) {
      result[`agent_paced_discard_cpu_ratio_${key}`] = +median(discardRatios).toFixed(3);
      result[`agent_paced_discard_cpu_ratio_${key}_min`] = +Math.min(...discardRatios).toFixed(3);
      result[`agent_paced_discard_cpu_ratio_${key}_max`] = +Math.max(...discardRatios).toFixed(3);
    }
  }
}

/** Bench-only builds of the native agent (BENCH_CEILING in agent.h), by how much of a message's recording they do. */
const CEILINGS = [
  [1, 'wrappers'],
  [2, 'copied'],
  [3, 'handed_over'],
  [4, 'read'],
] as const;

/** Compiles the ceiling builds into a temporary folder (the shipped library is never one of them). */
function buildCeilings(): { libs: Map<string, string>; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'zmq-agent-ceiling-'));
  const src = nativeAgentSourceDir();
  const sources = readdirSync(src)
    .filter((n) => n.endsWith('.c'))
    .map((n) => join(src, n));
  const libs = new Map<string, string>();
  for (const [level, name] of CEILINGS) {
    mkdirSync(join(dir, name));
    // the same name as the shipped library: the Python agent looks for it in LD_PRELOAD
    const lib = join(dir, name, NATIVE_AGENT_FILE);
    execFileSync('gcc', ['-std=gnu11', '-O2', '-fPIC', '-shared', '-fvisibility=hidden', `-DBENCH_CEILING=${level}`, '-o', lib, ...sources, '-ldl', '-lpthread']);
    libs.set(name, lib);
  }
  return { libs, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * What each part of recording a message costs a paced program (1 KiB, `rate` msg/s): rounds of the program
 * without the agent, with bench-only builds that stop after the wrappers, after the copy, after the hand-over
 * (the reporter discards instead of writing; `read`: after reading it), and with the shipped agent, their order turning each round. Keys:
 * agent_paced_ceiling_cpu_ratio_1k_<build> (CPU without ÷ with that build, median) and
 * agent_paced_cpu_us_per_msg_1k_<build> (median CPU per message sent, all threads; _main: the program's thread).
 */
export async function runAgentCeilingBench(o: { rate: number; seconds: number; runs: number }): Promise<Record<string, number>> {
  const built = buildCeilings();
  const shipped = nativeAgentLibrary();
  if (!shipped) throw new Error('no native agent library loads here: build it first (node esbuild.mjs)');
  const setups = ['plain', ...CEILINGS.map(([, n]) => n), 'agent'];
  const rounds = new Map<string, PacedRound[]>(setups.map((n) => [n, []]));
  const size = 1024;
  try {
    for (let i = 0; i < o.runs; i++) {
      for (let k = 0; k < setups.length; k++) {
        const name = setups[(k + i) % setups.length];
        let r: PacedRound;
        if (name === 'plain') r = await pacedRound(o.rate, o.seconds, size, {});
        else {
          const capture = new Capture();
          const collector = await Collector.start({ capture });
          try {
            const env = collector.environment(plainEnv());
            const lib = built.libs.get(name);
            if (lib) env.LD_PRELOAD = env.LD_PRELOAD!.replace(shipped, lib);
            r = await pacedRound(o.rate, o.seconds, size, env);
            const s = collector.stats();
            process.stderr.write(`[bench]   ceiling ${name} round ${i + 1}: ${s.messages} of ${r.sent} captured, ${s.agentDropped} dropped\n`);
          } finally {
            await collector.stop();
            collector.dispose();
            capture.dispose();
          }
        }
        rounds.get(name)!.push(r);
        process.stderr.write(`[bench]   ceiling ${name} round ${i + 1}: CPU ${r.cpu.toFixed(2)} s, ${perThread(r)}\n`);
      }
    }
  } finally {
    built.dispose();
  }
  const result: Record<string, number> = {};
  const plain = rounds.get('plain')!;
  for (const name of setups) {
    const rs = rounds.get(name)!;
    result[`agent_paced_cpu_us_per_msg_1k_${name}`] = +median(rs.map((r) => (r.cpu * 1e6) / r.sent)).toFixed(3);
    result[`agent_paced_cpu_us_per_msg_1k_${name}_main`] = +median(rs.map((r) => (r.threads.main * 1e6) / r.sent)).toFixed(3);
    if (name !== 'plain') result[`agent_paced_ceiling_cpu_ratio_1k_${name}`] = +median(rs.map((r, i) => plain[i].cpu / r.cpu)).toFixed(3);
  }
  return result;
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  if (process.argv.includes('--ceiling'))
    printAndExit(runAgentCeilingBench({ rate: numberArg('rate', 100_000), seconds: numberArg('seconds', quick ? 2 : 10), runs: numberArg('runs', quick ? 1 : 3) }));
  else if (process.argv.includes('--paced'))
    printAndExit(runAgentPacedBench({ rate: numberArg('rate', 100_000), seconds: numberArg('seconds', quick ? 2 : 10), runs: numberArg('runs', quick ? 1 : 5) }));
  else printAndExit(runAgentOverheadBench({ count: quick ? 100_000 : 1_000_000, runs: 3 }));
}
