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
 * The ceiling's rounds alternate with them: the same peers through the
 * cheapest relays there are (no decoding, no capture), one in Node and one in
 * C, to show what one more TCP hop costs on this machine.
 *
 * The tap and the Node relay run in a process of their own that starts no
 * child (peers/tapHost.ts), as the C relay does and as the product's tap does:
 * in the bench's process every Python peer started would make each page the tap
 * writes afterwards fault again (copy-on-write). `--in-process` runs them here,
 * as before, to compare.
 *
 *   npx tsx bench/tapThroughput.ts [--count N] [--runs N] [--big-heap-mb MB] [--ceilings 0] [--16b-only] [--in-process]
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localRelayHost, type ProcessUsage, type RelayHost } from './peers/tapHost';
import { freePort, median, numberArg, printAndExit, PYTHON } from './util';

const ROOT = join(__dirname, '..');

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
  /** Also the ceiling's rounds (a bare relay in Node and one in C); default true. */
  ceilings?: boolean;
  /** The tap and the Node relay in the bench's own process (which starts the peers), not in peers/tapHost.ts. Default false. */
  inProcess?: boolean;
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
  /**
   * The ceiling: the same rounds through a bare relay in Node (the tap's relay
   * without decoding or capture, bench/peers/bareRelay.ts) and one in C
   * (bench/peers/tcp_relay.c), over direct; and their CPU per message.
   */
  tap_relay_ceiling_ratio_16b?: number;
  tap_relay_ceiling_ratio_1k?: number;
  tap_c_relay_ceiling_ratio_16b?: number;
  tap_c_relay_ceiling_ratio_1k?: number;
  tap_relay_cpu_ns_per_msg_16b?: number;
  tap_relay_cpu_ns_per_msg_1k?: number;
  tap_c_relay_cpu_ns_per_msg_16b?: number;
  tap_c_relay_cpu_ns_per_msg_1k?: number;
}

/** What sits between the PUSH and the PULL in a round. */
type Via = 'direct' | 'tap' | 'node-relay' | 'c-relay';

/** The C relay, compiled once per bench run (gcc, as the native agent's peer is). */
function buildCRelay(): { program: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'zmq-tap-relay-'));
  const program = join(dir, 'tcp_relay');
  execFileSync('gcc', ['-O2', '-o', program, join(__dirname, 'peers', 'tcp_relay.c'), '-lpthread']);
  return { program, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** User + system CPU of a process (all its threads) so far, in ns, and its page faults. */
function processUsage(pid: number): ProcessUsage {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  // fields 10, 12, 14 and 15 of stat (minflt, majflt, utime, stime), 2 fewer after "pid (comm) "; times in clock ticks (100 a second)
  return { cpuNs: (Number(fields[11]) + Number(fields[12])) * 1e7, faults: Number(fields[7]) + Number(fields[9]) };
}

function python(source: string, args: (string | number)[]): { proc: ChildProcess; waitFor(re: RegExp): Promise<RegExpExecArray> } {
  return watch(spawn(PYTHON, ['-u', '-c', source, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** A child whose output can be waited for. */
function watch(proc: ChildProcess): { proc: ChildProcess; waitFor(re: RegExp): Promise<RegExpExecArray> } {
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
        const onExit = (code: number | null) => reject(new Error(`${proc.spawnfile} exited ${code} before ${re}: ${err.slice(-1000)}`));
        proc.stdout!.on('data', check);
        proc.on('exit', onExit);
        check();
      }),
  };
}

/**
 * peers/tapHost.ts, started once for the whole part (it starts no child: see
 * the header). TAP_HOST_NODE_ARGS: more node options for it (e.g. `--cpu-prof`).
 */
async function separateHost(): Promise<RelayHost & { dispose(): void }> {
  const nodeArgs = (process.env.TAP_HOST_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(__dirname, 'peers', 'tapHost.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2000)));
  const waiting: { resolve(a: Record<string, unknown>): void; reject(e: Error): void }[] = [];
  let gone: Error | undefined;
  proc.on('exit', (code) => {
    gone = new Error(`the tap's process exited ${code}: ${err}`);
    for (const w of waiting.splice(0)) w.reject(gone);
  });
  proc.stdin!.on('error', () => undefined); // its exit says why
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const answer = JSON.parse(out.slice(0, nl)) as Record<string, unknown>;
      out = out.slice(nl + 1);
      const w = waiting.shift();
      if (answer.error) w?.reject(new Error(`the tap's process: ${String(answer.error)}`));
      else w?.resolve(answer);
    }
  });
  const ask = (command: object) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      if (gone) return reject(gone);
      waiting.push({ resolve, reject });
      proc.stdin!.write(`${JSON.stringify(command)}\n`);
    });
  return {
    open: async (via, target) => Number((await ask({ op: 'open', via, target })).port),
    usage: async () => (await ask({ op: 'usage' })) as unknown as ProcessUsage,
    close: async (count) => Number((await ask({ op: 'close', count })).captured),
    ballast: async (mb) => void (await ask({ op: 'ballast', mb })),
    // stdin's end lets it exit on its own (and write a --cpu-prof profile)
    dispose: () => void proc.stdin!.end(),
  };
}

/** One round; returns messages per second as measured by the receiver. */
async function round(host: RelayHost, count: number, size: number, via: Via, cRelay?: string): Promise<{ rate: number; captured: number; cpuNsPerMsg: number; faults: number }> {
  const throughTap = via === 'tap';
  const pullPort = await freePort();
  const pull = python(PULL, [pullPort, count]);
  let push: ReturnType<typeof python> | undefined;
  let relayProc: ReturnType<typeof spawnRelay> | undefined;
  let opened = false;
  try {
    await pull.waitFor(/bound/);
    let port = pullPort;
    if (via === 'tap' || via === 'node-relay') {
      opened = true;
      port = await host.open(via, pullPort);
    } else if (via === 'c-relay') {
      relayProc = spawnRelay(cRelay!, pullPort);
      port = Number((await relayProc.waitFor(/port (\d+)/))[1]);
    }
    // the relay's process's CPU (the tap's relay, decoding and capture): what the tap
    // costs whatever else the machine is doing (none for a direct round)
    const usage = async () => (relayProc ? processUsage(relayProc.proc.pid!) : opened ? await host.usage() : { cpuNs: 0, faults: 0 });
    const u0 = await usage();
    push = python(PUSH, [port, count, size]);
    const m = await pull.waitFor(/rate ([\d.]+)/);
    const u1 = await usage();
    const cpuNsPerMsg = (u1.cpuNs - u0.cpuNs) / count;
    let captured = 0;
    if (opened) {
      opened = false;
      captured = await host.close(count);
    }
    // every message decoded and captured, not merely relayed
    if (throughTap && captured !== count) throw new Error(`the tap captured ${captured} of ${count} messages`);
    return { rate: Number(m[1]), captured, cpuNsPerMsg, faults: u1.faults - u0.faults };
  } finally {
    push?.proc.kill('SIGKILL');
    pull.proc.kill('SIGKILL');
    relayProc?.proc.kill('SIGKILL');
    if (opened) await host.close(0).catch(() => undefined);
  }
}

function spawnRelay(program: string, targetPort: number): ReturnType<typeof python> {
  return watch(spawn(program, [String(targetPort)], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

export async function runTapBench(opts: TapBenchOptions): Promise<TapBenchResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[tap] ${l}\n`));
  const out: Record<string, number> = {};
  const cRelay = opts.ceilings === false ? undefined : buildCRelay();
  let host: (RelayHost & { dispose?(): void }) | undefined;
  /**
   * `runs` alternating rounds: direct, tap, and (with `ceilings`) the bare
   * relays; rates and CPU per message of each.
   */
  const roundsOf = async (size: number, runs: number, label: string, ceilings: boolean) => {
    const vias: Via[] = ceilings ? ['direct', 'tap', 'node-relay', 'c-relay'] : ['direct', 'tap'];
    const rate = new Map<Via, number[]>(vias.map((v) => [v, []]));
    const cpu = new Map<Via, number[]>(vias.map((v) => [v, []]));
    const faults = new Map<Via, number>();
    for (let i = 0; i < runs; i++) {
      // alternate, so that a change in machine load hits every side alike
      for (const via of vias) {
        const r = await round(host!, opts.count, size, via, cRelay?.program);
        rate.get(via)!.push(r.rate);
        cpu.get(via)!.push(r.cpuNsPerMsg);
        faults.set(via, r.faults);
      }
      const t = (via: Via) => `${Math.round(rate.get(via)![i])} msg/s${via === 'direct' ? '' : ` (CPU ${Math.round(cpu.get(via)![i])} ns/msg, ${faults.get(via)} page faults)`}`;
      log(`${size} B${label} run ${i + 1}: ${vias.map((v) => `${v} ${t(v)}`).join(', ')}`);
    }
    return { direct: rate.get('direct')!, tapped: rate.get('tap')!, cpu: cpu.get('tap')!, rate, cpuOf: cpu };
  };
  try {
    host = opts.inProcess ? localRelayHost() : await separateHost();
    for (const size of opts.sizes ?? [16, 1024]) {
      // one short round first, not counted, so that the counted ones run optimized code
      await round(host, Math.min(opts.count, 100_000), size, 'tap');
      const { direct, tapped, cpu, rate, cpuOf } = await roundsOf(size, opts.runs, '', cRelay !== undefined);
      const key = size === 1024 ? '1k' : `${size}b`;
      out[`tap_msgs_per_s_${key}`] = Math.round(median(tapped));
      out[`direct_msgs_per_s_${key}`] = Math.round(median(direct));
      out[`tap_ratio_${key}`] = +(median(tapped) / median(direct)).toFixed(3);
      out[`tap_cpu_ns_per_msg_${key}`] = Math.round(median(cpu));
      const pairs = tapped.map((t, i) => t / direct[i]);
      out[`tap_pair_ratio_min_${key}`] = +Math.min(...pairs).toFixed(3);
      out[`tap_pair_ratio_max_${key}`] = +Math.max(...pairs).toFixed(3);
      if (cRelay) {
        out[`tap_relay_ceiling_ratio_${key}`] = +(median(rate.get('node-relay')!) / median(direct)).toFixed(3);
        out[`tap_c_relay_ceiling_ratio_${key}`] = +(median(rate.get('c-relay')!) / median(direct)).toFixed(3);
        out[`tap_relay_cpu_ns_per_msg_${key}`] = Math.round(median(cpuOf.get('node-relay')!));
        out[`tap_c_relay_cpu_ns_per_msg_${key}`] = Math.round(median(cpuOf.get('c-relay')!));
      }
    }
    if (opts.bigHeapMb) {
      // Node allocates a fresh buffer for every socket read and V8 marks the whole
      // heap about every 64 MB of them: the bigger the heap, the dearer the relay
      await host.ballast(opts.bigHeapMb);
      const { direct, tapped, cpu } = await roundsOf(1024, Math.min(3, opts.runs), ` (${opts.bigHeapMb} MB heap)`, false);
      out.tap_ratio_1k_big_heap = +(median(tapped) / median(direct)).toFixed(3);
      out.tap_cpu_ns_per_msg_1k_big_heap = Math.round(median(cpu));
      out.big_heap_mb = opts.bigHeapMb;
      await host.ballast(0);
    }
  } finally {
    host?.dispose?.();
    cRelay?.dispose();
  }
  return out as unknown as TapBenchResult;
}

if (require.main === module) {
  printAndExit(
    runTapBench({
      count: numberArg('count', 1_000_000),
      runs: numberArg('runs', 5),
      bigHeapMb: numberArg('big-heap-mb', 0),
      ceilings: numberArg('ceilings', 1) !== 0,
      sizes: process.argv.includes('--16b-only') ? [16] : undefined,
      inProcess: process.argv.includes('--in-process'),
    }),
  );
}
