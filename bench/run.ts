/**
 * `npm run bench`: every performance figure with its reference measured side by
 * side in the same run, median of at least 3 runs (5 for the tap). Prints a table, or with --json
 * one JSON object whose keys are stable (see docs/performance.md).
 *
 *   npm run -s bench [-- --json] [-- --only spy,tap,capture,viewer,activation,soak,agent,native,cli,host,pubhwm] [-- --quick] [-- --install] [-- --no-build]
 *
 * --quick uses 100,000 messages instead of 1,000,000 and a 15 s soak (for a smoke
 * run, not for numbers). With --json stdout carries one JSON object and nothing
 * else (`-s` keeps npm's own banner off stdout); builds and progress go to stderr.
 * A part that fails is reported as `<part>_error` (in the JSON and the table) and
 * the others still print; one that cannot run here (activation without the VS
 * Code server) is skipped with its reason as `<part>_skipped`; --install installs
 * that server first (scripts/install-test-vscode.sh, as npm test does). The exit
 * code is 1 when a part failed.
 *
 * A part's error is its own real one: a promise it left unhandled or an
 * exception thrown outside its flow is caught in its process and reported as
 * `<part>_error` too (not a bare exit code). The host part re-runs a round that
 * failed outside the product (a peer or a UI step of code-server) and says how
 * many it re-ran (spy_in_host_rounds_rerun). To see these paths work without a
 * real failure, BENCH_FAULTS injects some (bench/util.ts fault()):
 *
 *   BENCH_FAULTS=viewer-throw npm run -s bench -- --only viewer,activation --quick
 *   BENCH_FAULTS=host-publisher:1,host-ui:2 npm run -s bench -- --only host --quick
 *
 * (`<part>-throw`: the part throws; `<part>-unhandled`: it leaves a rejected
 * promise unhandled; `host-publisher`: a round's publisher dies before it
 * sends; `host-ui`: a UI step fails.)
 *
 * Each part runs in a process of its own (this script again, with --part), so
 * that no part measures what an earlier one left behind: the spy benchmark
 * leaves a zeromq context and a grown heap that made the tap's rounds after it
 * dearer. A part loads only its own module, for the same reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fault, median } from './util';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const onlyArg = args.indexOf('--only');
const only = onlyArg >= 0 ? new Set(args[onlyArg + 1].split(',')) : undefined;
const PARTS = ['spy', 'tap', 'capture', 'viewer', 'activation', 'soak', 'agent', 'native', 'cli', 'host', 'pubhwm'];
const ROOT = join(__dirname, '..');
/** The VS Code server the activation part runs in (installed by scripts/install-test-vscode.sh, as npm test does). */
const VSCODE_SERVER = join(ROOT, '.vscode-test', 'code-server-4.100.3', 'node_modules', 'code-server', 'lib', 'vscode', 'out', 'server-main.js');
const SOAK_SECONDS = quick ? 15 : 60;
const partArg = args.indexOf('--part');
/** Set in a child process: the one part it runs. */
const part = partArg >= 0 ? args[partArg + 1] : undefined;
const want = (name: string) => name === part;
const COUNT = quick ? 100_000 : 1_000_000;
const RUNS = 3;
/** The tap rounds are short and swing most with machine load (two cores, four Python threads): more of them. */
const TAP_RUNS = 5;

const TARGETS: Record<string, { op: '>=' | '<=' | '<'; value: number | string }> = {
  spy_ingest_ratio_16b: { op: '>=', value: 2.0 },
  spy_ingest_ratio_1k: { op: '>=', value: 2.0 },
  spy_vs_libzmq_ratio_16b: { op: '>=', value: 1.0 },
  spy_vs_libzmq_ratio_1k: { op: '>=', value: 1.0 },
  tap_ratio_16b: { op: '>=', value: 0.9 },
  tap_ratio_1k: { op: '>=', value: 0.9 },
  tap_ratio_1k_big_heap: { op: '>=', value: 0.9 },
  capture_bytes_per_msg_16b: { op: '<=', value: 'capture_bytes_target_16b' },
  capture_bytes_per_msg_1k: { op: '<=', value: 'capture_bytes_target_1k' },
  viewer_p95_frame_ms: { op: '<', value: 50 },
  viewer_decoded_filter_1m_ms: { op: '<', value: 1000 },
  activation_ms: { op: '<', value: 50 },
  soak_rss_growth_ratio: { op: '<=', value: 1.1 },
  agent_overhead_ratio_16b: { op: '>=', value: 0.8 },
  agent_overhead_ratio_1k: { op: '>=', value: 0.8 },
  agent_paced_captured_share_16b: { op: '>=', value: 0.99 },
  agent_paced_captured_share_1k: { op: '>=', value: 0.99 },
  agent_paced_cpu_ratio_16b: { op: '>=', value: 0.8 },
  agent_paced_cpu_ratio_1k: { op: '>=', value: 0.8 },
  native_agent_overhead_ratio_16b: { op: '>=', value: 0.8 },
  native_agent_overhead_ratio_1k: { op: '>=', value: 0.8 },
  native_agent_paced_captured_share_16b: { op: '>=', value: 0.99 },
  cli_spy_json_ratio_16b: { op: '>=', value: 0.8 },
  spy_in_host_captured_ratio_16b: { op: '>=', value: 0.8 },
};

type Figures = Record<string, number | boolean | string>;

function log(line: string) {
  // progress goes to stderr so that --json output stays one JSON object
  process.stderr.write(`[bench] ${line}\n`);
}

/**
 * Runs one part in a fresh process; its progress goes to our stderr, its figures
 * come back as its last stdout line (JSON). Never throws: a failure comes back as
 * `<part>_error`.
 */
function runPart(name: string): Figures {
  const child = spawnSync(process.execPath, [...process.execArgv, __filename, '--part', name, ...(quick ? ['--quick'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const last = (child.stdout ?? '').trim().split('\n').pop() ?? '';
  let figures: Figures | undefined;
  try {
    figures = JSON.parse(last) as Figures;
  } catch {
    // no JSON: it crashed before printing
  }
  if (child.status === 0 && figures) return figures;
  const why = figures?.error ?? child.error?.message ?? `exit ${child.status ?? child.signal}`;
  log(`the ${name} part failed: ${why}`);
  return { [`${name}_error`]: String(why).split('\n')[0].slice(0, 500) };
}

/** Builds the bundles the parts load (and with --install the VS Code server, as npm test does), output on stderr. */
function build(): string | undefined {
  if (args.includes('--install') && (!only || only.has('activation') || only.has('host'))) {
    const r = spawnSync('bash', [join(ROOT, 'scripts/install-test-vscode.sh')], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    if (r.status !== 0) log(`installing the VS Code server failed (exit ${r.status ?? r.signal}): the activation part will be skipped`);
  }
  for (const script of ['esbuild.mjs', 'test/e2e/build.mjs']) {
    const r = spawnSync(process.execPath, [join(ROOT, script)], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    if (r.status !== 0) return `node ${script} failed (exit ${r.status ?? r.signal})`;
  }
  return undefined;
}

async function main() {
  const result: Figures = {};
  const started = Date.now();
  if (!part) {
    for (const name of only ?? []) if (!PARTS.includes(name)) result[`${name}_error`] = `no such part (known: ${PARTS.join(', ')})`;
    // --no-build: the bundles are there already (the bench's own test, a re-run)
    const buildError = args.includes('--no-build') ? undefined : build();
    if (buildError) result.build_error = buildError;
    for (const name of PARTS) if ((!only || only.has(name)) && !buildError) Object.assign(result, runPart(name));
    report(result, started);
    process.exitCode = Object.keys(result).some((k) => k.endsWith('_error')) ? 1 : 0;
    return;
  }
  // a part: its error, as the one JSON line for the parent (also one that escaped its flow)
  const fail = (e: unknown, how = '') => {
    console.error(e);
    process.stdout.write(JSON.stringify({ error: how + (e instanceof Error ? e.message : String(e)) }) + '\n');
    process.exit(1);
  };
  process.on('unhandledRejection', (e) => fail(e, 'unhandled rejection: '));
  process.on('uncaughtException', (e) => fail(e, 'uncaught exception: '));
  try {
    if (fault(`${part}-throw`)) throw new Error(`forced failure of the ${part} part (BENCH_FAULTS=${part}-throw)`);
    if (fault(`${part}-unhandled`)) void Promise.reject(new Error(`forced unhandled rejection in the ${part} part (BENCH_FAULTS=${part}-unhandled)`));
    await runOwnPart(result);
  } catch (e) {
    fail(e);
    return;
  }
  // a part: its figures, as one JSON line for the parent
  process.stdout.write(JSON.stringify(result) + '\n');
}

async function runOwnPart(result: Figures): Promise<void> {
  if (want('host')) {
    const codeServer = join(ROOT, '.vscode-test', 'code-server-4.100.3', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
    if (!existsSync(codeServer)) {
      result.host_skipped = 'code-server is not installed: run npm run bench -- --install, or npm run install:test-vscode (npm test installs it too)';
      log(`host skipped: ${result.host_skipped}`);
      return;
    }
    const seconds = quick ? 3 : 10;
    log(`host: a spy inside code-server with the frames viewer open, a default-options pyzmq PUB sending 16 B messages as fast as it can for ${seconds} s, vs a pyzmq SUB, ${quick ? 1 : RUNS} runs each`);
    const { runHostSpyBench } = await import('./hostSpy');
    Object.assign(result, await runHostSpyBench({ seconds, runs: quick ? 1 : RUNS }));
  }
  if (want('cli')) {
    const seconds = quick ? 3 : 10;
    log(`cli: zmq-debug spy --json > file against a default-options pyzmq PUB sending 16 B messages as fast as it can for ${seconds} s, vs a pyzmq SUB, ${RUNS} runs each`);
    const { runCliSpyBench } = await import('./cliSpy');
    Object.assign(result, await runCliSpyBench({ seconds, runs: RUNS }));
  }
  if (want('pubhwm')) {
    log(`pubhwm: what a pyzmq PUB puts on the wire at SNDHWM 500, 1,000 and 2,000, read by the drain, ${RUNS} runs each`);
    const { runPubHwmBench } = await import('./pubHwm');
    Object.assign(result, await runPubHwmBench({ seconds: quick ? 2 : 3, runs: RUNS }));
  }
  if (want('spy')) {
    log(`spy ingest: PUB spy + capture vs a pyzmq SUB and a raw zeromq receive loop, ${COUNT} messages of 16 B and 1 KiB, ${TAP_RUNS} runs each`);
    const { runSpyIngestBench } = await import('./spyIngest');
    Object.assign(result, await runSpyIngestBench({ count: COUNT, runs: TAP_RUNS }));
  }
  if (want('tap')) {
    log(`tap: pyzmq PUSH→tap→PULL (decoding + capture) vs PUSH→PULL direct, ${COUNT} messages, ${TAP_RUNS} runs each`);
    const { runTapBench } = await import('./tapThroughput');
    Object.assign(result, await runTapBench({ count: COUNT, runs: TAP_RUNS, bigHeapMb: 256 }));
  }
  if (want('capture')) {
    log(`capture memory: heap per retained message, ${COUNT} messages, ${RUNS} runs`);
    const { runCaptureMemoryBench } = await import('./captureMemory');
    Object.assign(result, await runCaptureMemoryBench({ count: COUNT, runs: RUNS }));
  }
  if (want('viewer')) {
    log('viewer: real Chromium, real webview bundle, 100,000 msg/s for 10 s; regex filter over 1,000,000 retained');
    const { runViewerBench } = await import('./viewerBench');
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await runViewerBench({ retained: COUNT }));
    for (const key of Object.keys(runs[0]) as (keyof (typeof runs)[0])[]) {
      const values = runs.map((r) => r[key]);
      result[key] = typeof values[0] === 'boolean' ? values.every(Boolean) : median(values as number[]);
    }
  }
  if (want('activation')) {
    if (!existsSync(VSCODE_SERVER)) {
      result.activation_skipped = 'the VS Code server is not installed: run npm run bench -- --install, or npm run install:test-vscode (npm test installs it too)';
      log(`activation skipped: ${result.activation_skipped}`);
      return;
    }
    log(`activation: activate() inside a real VS Code extension host, ${RUNS} runs`);
    const { measureActivationOnce } = await import('./activation');
    const times = [];
    for (let i = 0; i < RUNS; i++) times.push(measureActivationOnce());
    result.activation_ms = +median(times).toFixed(1);
  }
  if (want('soak')) {
    log(`soak: spy + tap at full speed into a capture at its limits, ${SOAK_SECONDS} s, RSS at start and end`);
    const { runSoak } = await import('./soak');
    Object.assign(result, await runSoak({ seconds: SOAK_SECONDS }));
  }
  if (want('agent')) {
    log(`agent overhead: pyzmq PUSH→PULL with the agents and a collector capturing vs without, ${COUNT} messages, ${TAP_RUNS} runs each`);
    const { runAgentCeilingBench, runAgentOverheadBench, runAgentPacedBench } = await import('./agentOverhead');
    Object.assign(result, await runAgentOverheadBench({ count: COUNT, runs: TAP_RUNS }));
    log(`agent at a real rate: a pyzmq PUSH paced at 100,000 msg/s for ${quick ? 2 : 10} s (its PULL another process, no agent), CPU without vs with the agent, ${quick ? 1 : 5} runs each`);
    Object.assign(result, await runAgentPacedBench({ rate: 100_000, seconds: quick ? 2 : 10, runs: quick ? 1 : 5 }));
    log(`agent at a real rate, 1 KiB, by part: bench-only builds of the native agent that stop after the wrappers, the copy, the hand-over (not written), ${quick ? 2 : 5} s, ${quick ? 1 : 3} runs each`);
    Object.assign(result, await runAgentCeilingBench({ rate: 100_000, seconds: quick ? 2 : 5, runs: quick ? 1 : 3 }));
  }
  if (want('native')) {
    log(`native agent: a C PUSH→PULL pair with the LD_PRELOAD interposer and a collector capturing vs without, ${COUNT} messages, ${TAP_RUNS} runs each; paced at 100,000 msg/s`);
    const { runNativeAgentBench } = await import('./nativeAgent');
    Object.assign(result, await runNativeAgentBench({ count: COUNT, runs: TAP_RUNS, pacedCount: quick ? 50_000 : 300_000 }));
  }
}

function report(result: Figures, started: number): void {
  result.bench_seconds = Math.round((Date.now() - started) / 1000);
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  console.log(`${'figure'.padEnd(34)} ${'value'.padStart(12)}  target`);
  for (const [k, v] of Object.entries(result)) {
    if (typeof v === 'string') {
      console.log(`${k.padEnd(34)} ${(k.endsWith('_error') ? 'FAILED' : 'skipped').padStart(12)}  ${v}`);
      continue;
    }
    const t = TARGETS[k];
    let target = '';
    if (t) {
      const bound = typeof t.value === 'string' ? (result[t.value] as number) : t.value;
      const ok = t.op === '>=' ? (v as number) >= bound : t.op === '<=' ? (v as number) <= bound : (v as number) < bound;
      target = `${t.op} ${bound}  ${ok ? 'met' : 'MISSED'}`;
    }
    console.log(`${k.padEnd(34)} ${String(v).padStart(12)}  ${target}`);
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
