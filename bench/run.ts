/**
 * `npm run bench`: every performance figure with its reference measured side by
 * side in the same run, median of at least 3 runs (5 for the tap). Prints a table, or with --json
 * one JSON object whose keys are stable (see README, "Performance").
 *
 *   npm run bench [-- --json] [-- --only spy,tap,capture,viewer,activation] [-- --quick]
 *
 * --quick uses 100,000 messages instead of 1,000,000 (for a smoke run, not for numbers).
 *
 * Each part runs in a process of its own (this script again, with --part), so
 * that no part measures what an earlier one left behind: the spy benchmark
 * leaves a zeromq context and a grown heap that made the tap's rounds after it
 * dearer. A part loads only its own module, for the same reason.
 */
import { spawnSync } from 'node:child_process';
import { median } from './util';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const onlyArg = args.indexOf('--only');
const only = onlyArg >= 0 ? new Set(args[onlyArg + 1].split(',')) : undefined;
const PARTS = ['spy', 'tap', 'capture', 'viewer', 'activation'];
const partArg = args.indexOf('--part');
/** Set in a child process: the one part it runs. */
const part = partArg >= 0 ? args[partArg + 1] : undefined;
const want = (name: string) => name === part;
const COUNT = quick ? 100_000 : 1_000_000;
const RUNS = 3;
/** The tap rounds are short and swing most with machine load (two cores, four Python threads): more of them. */
const TAP_RUNS = 5;

const TARGETS: Record<string, { op: '>=' | '<=' | '<'; value: number | string }> = {
  spy_ingest_ratio_16b: { op: '>=', value: 0.9 },
  spy_ingest_ratio_1k: { op: '>=', value: 0.9 },
  tap_ratio_16b: { op: '>=', value: 0.8 },
  tap_ratio_1k: { op: '>=', value: 0.8 },
  capture_bytes_per_msg_16b: { op: '<=', value: 'capture_bytes_target_16b' },
  capture_bytes_per_msg_1k: { op: '<=', value: 'capture_bytes_target_1k' },
  viewer_p95_frame_ms: { op: '<', value: 50 },
  viewer_decoded_filter_1m_ms: { op: '<', value: 1000 },
  activation_ms: { op: '<', value: 50 },
};

function log(line: string) {
  // progress goes to stderr so that --json output stays one JSON object
  process.stderr.write(`[bench] ${line}\n`);
}

/** Runs one part in a fresh process; its progress goes to our stderr, its figures come back as JSON. */
function runPart(name: string): Record<string, number | boolean> {
  const child = spawnSync(process.execPath, [...process.execArgv, __filename, '--part', name, ...(quick ? ['--quick'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`the ${name} benchmark failed (exit ${child.status ?? child.signal})`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as Record<string, number | boolean>;
}

async function main() {
  const result: Record<string, number | boolean> = {};
  const started = Date.now();
  if (!part) {
    for (const name of PARTS) if (!only || only.has(name)) Object.assign(result, runPart(name));
    report(result, started);
    return;
  }
  if (want('spy')) {
    log(`spy ingest: PUB spy + capture vs raw zeromq receive loop, ${COUNT} messages of 16 B and 1 KiB, ${RUNS} runs each`);
    const { runSpyIngestBench } = await import('./spyIngest');
    Object.assign(result, await runSpyIngestBench({ count: COUNT, runs: RUNS }));
  }
  if (want('tap')) {
    log(`tap: pyzmq PUSH→tap→PULL (decoding + capture) vs PUSH→PULL direct, ${COUNT} messages, ${TAP_RUNS} runs each`);
    const { runTapBench } = await import('./tapThroughput');
    Object.assign(result, await runTapBench({ count: COUNT, runs: TAP_RUNS, bigHeapMb: 256 }));
  }
  if (want('capture')) {
    log(`capture memory: heap per retained message, ${COUNT} messages, ${RUNS} runs`);
    const { runCaptureMemoryBench } = await import('./captureMemory');
    Object.assign(result, runCaptureMemoryBench({ count: COUNT, runs: RUNS }));
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
    log(`activation: activate() inside a real VS Code extension host, ${RUNS} runs`);
    const { measureActivationOnce } = await import('./activation');
    const times = [];
    for (let i = 0; i < RUNS; i++) times.push(measureActivationOnce());
    result.activation_ms = +median(times).toFixed(1);
  }
  // a part: its figures, as one JSON line for the parent
  process.stdout.write(JSON.stringify(result) + '\n');
}

function report(result: Record<string, number | boolean>, started: number): void {
  result.bench_seconds = Math.round((Date.now() - started) / 1000);
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  console.log(`${'figure'.padEnd(34)} ${'value'.padStart(12)}  target`);
  for (const [k, v] of Object.entries(result)) {
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
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
