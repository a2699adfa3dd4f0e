/**
 * Tap throughput: pyzmq PUSH → tap → pyzmq PULL, with decoding on and every
 * record appended to a real Capture (as the product does), against the same
 * PUSH → PULL connected directly, side by side in one run (rounds alternate),
 * median of `runs` rounds each. The rate is measured by the receiver, from its
 * first to its last message. On two cores the four Python threads and the tap
 * share the CPUs, so single rounds swing; the spread of the per-pair ratios
 * (each tap round over the direct round just before it) is reported too. A
 * short uncounted tap round per size warms the JIT up first.
 *
 *   npx tsx bench/tapThroughput.ts [--count N] [--runs N] [--big-heap-mb MB]
 */
import { ChildProcess, spawn } from 'node:child_process';
import { Capture } from '../src/core/capture/capture';
import { ZmtpTap } from '../src/core/sessions/tap';
import { freePort, median, numberArg, printAndExit, PYTHON } from './util';

const PULL = `
import zmq, sys, time
n = int(sys.argv[2])
ctx = zmq.Context()
s = ctx.socket(zmq.PULL)
s.setsockopt(zmq.RCVHWM, 0)
s.bind('tcp://127.0.0.1:' + sys.argv[1])
print('bound', flush=True)
r = s.recv
r()
t0 = time.perf_counter()
for _ in range(n - 1): r()
dt = time.perf_counter() - t0
print('rate', (n - 1) / dt, flush=True)
`;

const PUSH = `
import zmq, sys, time
from zmq.utils.monitor import recv_monitor_message
n, size = int(sys.argv[2]), int(sys.argv[3])
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.setsockopt(zmq.SNDHWM, 0)
mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
s.connect('tcp://127.0.0.1:' + sys.argv[1])
recv_monitor_message(mon)
msg = bytes(range(256)) * (size // 256) + bytes(size % 256)
send = s.send
for _ in range(n): send(msg)
print('sent', flush=True)
time.sleep(600)
`;

export interface TapBenchOptions {
  count: number;
  runs: number;
  sizes?: number[];
  /**
   * Then the 1 KiB rounds again with this many MB of live objects in the heap,
   * as in an extension host (0: not run). Informational: no target.
   */
  bigHeapMb?: number;
  log?: (line: string) => void;
}

export interface TapBenchResult {
  tap_ratio_16b: number;
  tap_ratio_1k: number;
  tap_msgs_per_s_16b: number;
  direct_msgs_per_s_16b: number;
  tap_msgs_per_s_1k: number;
  direct_msgs_per_s_1k: number;
  /** CPU time of the tap's process (relay + decoding + capture) per message. */
  tap_cpu_ns_per_msg_16b: number;
  tap_cpu_ns_per_msg_1k: number;
  /** Lowest and highest ratio of one tap round to the direct round paired with it. */
  tap_pair_ratio_min_16b: number;
  tap_pair_ratio_max_16b: number;
  tap_pair_ratio_min_1k: number;
  tap_pair_ratio_max_1k: number;
  /** The 1 KiB figures with `bigHeapMb` of live heap (when run). */
  tap_ratio_1k_big_heap?: number;
  tap_cpu_ns_per_msg_1k_big_heap?: number;
  big_heap_mb?: number;
}

function python(source: string, args: (string | number)[]): { proc: ChildProcess; waitFor(re: RegExp): Promise<RegExpExecArray> } {
  const proc = spawn(PYTHON, ['-u', '-c', source, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return {
    proc,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(out);
          if (m) {
            proc.stdout!.off('data', check);
            proc.off('exit', onExit);
            resolve(m);
          }
        };
        const onExit = (code: number | null) => reject(new Error(`python exited ${code} before ${re}: ${err.slice(-1000)}`));
        proc.stdout!.on('data', check);
        proc.on('exit', onExit);
        check();
      }),
  };
}

/** One round; returns messages per second as measured by the receiver. */
async function round(count: number, size: number, throughTap: boolean, reusedReads = true): Promise<{ rate: number; captured: number; cpuNsPerMsg: number }> {
  const pullPort = await freePort();
  const pull = python(PULL, [pullPort, count]);
  let push: ReturnType<typeof python> | undefined;
  let tap: ZmtpTap | undefined;
  const capture = new Capture({ maxRecords: 100_000 });
  try {
    await pull.waitFor(/bound/);
    let port = pullPort;
    if (throughTap) {
      tap = new ZmtpTap({ target: `127.0.0.1:${pullPort}`, id: 'bench', reusedReads }, capture);
      port = (await tap.listen()).port;
    }
    const cpu0 = process.cpuUsage();
    push = python(PUSH, [port, count, size]);
    const m = await pull.waitFor(/rate ([\d.]+)/);
    // this process's CPU (the tap's relay, decoding and capture; ~0 for a direct round):
    // what the tap costs whatever else the machine is doing
    const cpu = process.cpuUsage(cpu0);
    const cpuNsPerMsg = ((cpu.user + cpu.system) * 1000) / count;
    // every message decoded and captured, not merely relayed
    const until = Date.now() + 5000;
    while (throughTap && capture.stats().totalMessages < count && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    const captured = capture.stats().totalMessages;
    if (throughTap && captured !== count) throw new Error(`the tap captured ${captured} of ${count} messages`);
    return { rate: Number(m[1]), captured, cpuNsPerMsg };
  } finally {
    push?.proc.kill('SIGKILL');
    pull.proc.kill('SIGKILL');
    await tap?.stop();
    capture.dispose();
  }
}

export { round as tapRound };

export async function runTapBench(opts: TapBenchOptions): Promise<TapBenchResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[tap] ${l}\n`));
  const out: Record<string, number> = {};
  /** `runs` alternating pairs of rounds; rates and the tap's CPU per message. */
  const pairsOf = async (size: number, runs: number, label: string) => {
    const direct: number[] = [];
    const tapped: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      // alternate, so that a change in machine load hits both sides alike
      const d = await round(opts.count, size, false);
      const t = await round(opts.count, size, true);
      direct.push(d.rate);
      tapped.push(t.rate);
      cpu.push(t.cpuNsPerMsg);
      log(`${size} B${label} run ${i + 1}: direct ${Math.round(d.rate)} msg/s, tap ${Math.round(t.rate)} msg/s (${t.captured} records captured, tap CPU ${Math.round(t.cpuNsPerMsg)} ns/msg)`);
    }
    return { direct, tapped, cpu };
  };
  for (const size of opts.sizes ?? [16, 1024]) {
    // one short round first, not counted, so that the counted ones run optimized code
    await round(Math.min(opts.count, 100_000), size, true);
    const { direct, tapped, cpu } = await pairsOf(size, opts.runs, '');
    const key = size === 1024 ? '1k' : `${size}b`;
    out[`tap_msgs_per_s_${key}`] = Math.round(median(tapped));
    out[`direct_msgs_per_s_${key}`] = Math.round(median(direct));
    out[`tap_ratio_${key}`] = +(median(tapped) / median(direct)).toFixed(3);
    out[`tap_cpu_ns_per_msg_${key}`] = Math.round(median(cpu));
    const pairs = tapped.map((t, i) => t / direct[i]);
    out[`tap_pair_ratio_min_${key}`] = +Math.min(...pairs).toFixed(3);
    out[`tap_pair_ratio_max_${key}`] = +Math.max(...pairs).toFixed(3);
  }
  if (opts.bigHeapMb) {
    // Node allocates a fresh buffer for every socket read and V8 marks the whole
    // heap about every 64 MB of them: the bigger the heap, the dearer the relay
    const ballast = heapBallast(opts.bigHeapMb);
    const { direct, tapped, cpu } = await pairsOf(1024, Math.min(3, opts.runs), ` (${opts.bigHeapMb} MB heap)`);
    out.tap_ratio_1k_big_heap = +(median(tapped) / median(direct)).toFixed(3);
    out.tap_cpu_ns_per_msg_1k_big_heap = Math.round(median(cpu));
    out.big_heap_mb = opts.bigHeapMb;
    ballast.length = 0;
  }
  return out as unknown as TapBenchResult;
}

/** About `mb` MB of small live objects (what an extension host's heap is made of). */
function heapBallast(mb: number): object[] {
  const objects: object[] = [];
  for (let i = 0; i < (mb * 1024 * 1024) / 80; i++) objects.push({ id: i, name: `object ${i}` });
  return objects;
}

if (require.main === module) {
  printAndExit(runTapBench({ count: numberArg('count', 1_000_000), runs: numberArg('runs', 5), bigHeapMb: numberArg('big-heap-mb', 0) }));
}
