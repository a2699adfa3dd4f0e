/**
 * CLI spy: `zmq-debug spy --json tcp://... > file` (the built CLI, dist/cli.js,
 * in a process of its own, stdout redirected to a file) against a pyzmq PUB
 * with default options (SNDHWM 1000) that sends 16 B messages as fast as it can
 * for `seconds`, counting what it handed to send(). A subscriber that cannot
 * keep up makes libzmq drop at the HWM, silently: the ratio is message records
 * written to the file divided by messages sent. After the publisher is done the
 * CLI gets the time it needs to write what it holds (until the file stops
 * growing), then SIGTERM. Also the CLI's CPU time per message sent, and as a
 * reference, in rounds alternating with the CLI's, what a pyzmq SUB receives
 * from the same publisher (received ÷ sent), and what the cheapest possible
 * subscriber receives (drainRound): the publisher's Python loop hands send()
 * about twice what its own libzmq puts on the wire, and drops the rest at its
 * HWM whoever subscribes (see docs/performance.md).
 *
 *   npx tsx bench/cliSpy.ts [--seconds S] [--runs N]
 *
 * BENCH_CLI=path/to/cli.js runs another build of the CLI (a copy of an older
 * dist/cli.js kept in dist/, to measure before and after side by side).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, median, numberArg, printAndExit, PYTHON } from './util';

const ROOT = join(__dirname, '..');
const CLI = process.env.BENCH_CLI || join(ROOT, 'dist', 'cli.js');

/**
 * A round failed for a reason outside the product: one of the bench's own peers
 * (a publisher, a reference subscriber) died or never got going, or a UI step
 * of code-server did not happen in time. Such a round is re-run (and counted);
 * any other error is the product's and fails the part.
 */
export class HarnessError extends Error {}

/** `p`, marked handled: a round that ends early may never await it; who awaits it still gets its error. */
export function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

export interface TimedPublisher {
  port: number;
  /** Resolves with the count it sent once its `seconds` are over. */
  sent: Promise<number>;
  /** Resolves when it started sending (its subscriber's handshake done). */
  sending: Promise<void>;
  /** Stops it (the round is over, or failed). */
  stop(): void;
  /** Kills it as a crash would (BENCH_FAULTS=host-publisher: the round must be re-run, not the part lost). */
  crash(): void;
}

/**
 * bench/peers/timed_pub.py on a free port (libzmq's default SNDHWM unless
 * `sndhwm`; as fast as it can unless `rate` messages a second): resolves once
 * it is bound. Its promises never go unhandled: a
 * round that fails early and stops it leaves `sending` and `sent` unawaited,
 * and their rejection must not crash the part (it hid the round's real error).
 */
export async function startTimedPublisher(seconds: number, size: number, sndhwm?: number, rate?: number): Promise<TimedPublisher> {
  const port = await freePort();
  // (0: the default HWM; a rate paces it, see timed_pub.py)
  const hwmArg = sndhwm === undefined && rate === undefined ? [] : [String(sndhwm ?? 0), ...(rate === undefined ? [] : [String(rate)])];
  const proc = spawn(PYTHON, ['-u', join(__dirname, 'peers', 'timed_pub.py'), String(port), String(seconds), String(size), ...hwmArg], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let stopped = false;
  // first, so that a check sees the data it is called for
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  // 'close': after its last output was read
  const ended = new Promise<string>((resolve) => {
    proc.on('close', (code, signal) => resolve(stopped ? 'it was stopped' : `it exited ${code ?? signal}`));
    proc.on('error', (e) => resolve(`it could not run: ${e.message}`));
  });
  const waitFor = (re: RegExp, what: string) => {
    const found = new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (m) resolve(m);
      };
      proc.stdout!.on('data', check);
      void ended.then((why) => {
        check();
        reject(new HarnessError(`the publisher never printed "${what}": ${why} (its output: ${JSON.stringify(out.trim())})`));
      });
      check();
    });
    return handled(found);
  };
  await waitFor(/bound/, 'bound');
  return {
    port,
    sending: handled(waitFor(/sending/, 'sending').then(() => undefined)),
    sent: handled(waitFor(/sent (\d+)/, 'sent N').then((m) => Number(m[1]))),
    stop: () => {
      stopped = true;
      proc.kill('SIGKILL');
    },
    crash: () => proc.kill('SIGKILL'),
  };
}

/** Waits until `size()` has not changed for `quietMs` (at most `maxMs`). */
export async function untilStable(size: () => number, quietMs: number, maxMs: number): Promise<void> {
  const end = Date.now() + maxMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < end) {
    const s = size();
    if (s !== last) {
      last = s;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const MESSAGE_LINE = Buffer.from('{"kind":"message"');

/** Message records in a JSON Lines file (read in chunks: it can be larger than a string may be). */
export function countMessageLines(file: string): number {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(16 << 20);
  let n = 0;
  let keep = 0;
  try {
    for (;;) {
      const got = readSync(fd, buf, keep, buf.length - keep, null);
      const end = keep + got;
      let at = buf.indexOf(MESSAGE_LINE);
      while (at >= 0 && at + MESSAGE_LINE.length <= end) {
        n++;
        at = buf.indexOf(MESSAGE_LINE, at + MESSAGE_LINE.length);
      }
      if (!got) return n;
      // the last few bytes may begin a match that the next read completes
      keep = Math.min(MESSAGE_LINE.length - 1, end);
      buf.copy(buf, 0, end - keep, end);
      buf.fill(0, keep);
    }
  } finally {
    closeSync(fd);
  }
}

/** CPU time (user + system) of a process so far, from /proc (Linux; NaN elsewhere). */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 (1-based), in clock ticks (100 per second on Linux)
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

async function cliRound(seconds: number, size: number, dir: string, i: number): Promise<{ sent: number; written: number; cpuNsPerMsg: number }> {
  const pub = await startTimedPublisher(seconds, size);
  const file = join(dir, `spy-${i}.jsonl`);
  const fd = openSync(file, 'w');
  const cli = spawn(process.execPath, [CLI, 'spy', '--json', `tcp://127.0.0.1:${pub.port}`], { stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  let err = '';
  cli.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((r) => {
    cli.on('exit', (code) => r(code));
    cli.on('error', (e) => {
      err += `cannot run the CLI: ${e.message}`;
      r(null);
    });
  });
  try {
    const sent = await pub.sent;
    await untilStable(() => statSync(file).size, 1000, 60_000);
    const cpuMs = cpuMsOf(cli.pid!);
    cli.kill('SIGTERM');
    await exited;
    const written = countMessageLines(file);
    if (!written) throw new Error(`the CLI wrote no message: ${err.slice(0, 300)}`);
    return { sent, written, cpuNsPerMsg: (cpuMs * 1e6) / sent };
  } finally {
    pub.stop();
    cli.kill('SIGKILL');
    rmSync(file, { force: true });
  }
}

const PY_COUNTING_SUB = `
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
s.connect('tcp://127.0.0.1:' + sys.argv[1])
s.setsockopt(zmq.SUBSCRIBE, b'')
r = s.recv
r()
n = 1
s.setsockopt(zmq.RCVTIMEO, 1500)
try:
    while True:
        r()
        n += 1
except zmq.Again:
    pass
print('got', n, flush=True)
`;

/**
 * A timed publisher and a subscriber process (`argv(port)`: its command and
 * arguments) that prints "got N" when the stream stops: what it received of what was sent.
 */
async function subscriberRound(seconds: number, size: number, name: string, argv: (port: number) => string[], sndhwm?: number): Promise<{ sent: number; received: number }> {
  const pub = await startTimedPublisher(seconds, size, sndhwm);
  const [command, ...args] = argv(pub.port);
  const sub = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  sub.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  // listened for at once (it may end before the publisher does), and handled if the round fails first
  const received = new Promise<number>((resolve, reject) => {
    sub.on('close', (code, signal) => {
      const m = /got (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
      else reject(new HarnessError(`${name} exited ${code ?? signal} without a count: ${JSON.stringify(out.trim())}`));
    });
    sub.on('error', (e) => reject(new HarnessError(`${name} could not run: ${e.message}`)));
  });
  void handled(received);
  try {
    const sent = await pub.sent;
    return { sent, received: await received };
  } finally {
    pub.stop();
    sub.kill('SIGKILL');
  }
}

/** The reference: a pyzmq SUB (default options) on the same kind of publisher, counting what it receives. */
export const pyzmqRound = (seconds: number, size: number) => subscriberRound(seconds, size, 'pyzmq SUB', (port) => [PYTHON, '-u', '-c', PY_COUNTING_SUB, String(port)]);

/**
 * The ceiling: bench/peers/drain_sub.py, a subscriber that only reads its
 * socket (received ÷ sent). With the default HWM the publisher drops what its
 * own libzmq does not put on the wire in time, whoever subscribes: on two
 * cores this is far below 1, and no subscriber can beat it.
 */
export const drainRound = (seconds: number, size: number, sndhwm?: number) =>
  subscriberRound(seconds, size, 'drain subscriber', (port) => [PYTHON, '-u', join(__dirname, 'peers', 'drain_sub.py'), String(port), String(size)], sndhwm);

/**
 * The CLI's ceiling: the same drain in a Node process of its own (bench/peers/nodeDrain.ts), as the CLI is:
 * the most any reader in a Node process gets of the same publisher (received ÷ sent).
 */
export const nodeDrainRound = (seconds: number, size: number) =>
  subscriberRound(seconds, size, 'Node drain', (port) => [process.execPath, ...process.execArgv, join(__dirname, 'peers', 'nodeDrain.ts'), String(port), String(size)]);

export async function runCliSpyBench(opts: { seconds: number; runs: number; log?: (line: string) => void }) {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[cli] ${l}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'zmq-debug-bench-'));
  try {
    const ratios: number[] = [];
    const sent: number[] = [];
    const cpu: number[] = [];
    const lib: number[] = [];
    const drain: number[] = [];
    const nodeDrain: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      // alternating with the references, so that a change in machine load hits all alike
      const p = await pyzmqRound(opts.seconds, 16);
      lib.push(p.received / p.sent);
      const d = await drainRound(opts.seconds, 16);
      drain.push(d.received / d.sent);
      const n = await nodeDrainRound(opts.seconds, 16);
      nodeDrain.push(n.received / n.sent);
      const r = await cliRound(opts.seconds, 16, dir, i);
      ratios.push(r.written / r.sent);
      sent.push(r.sent);
      cpu.push(r.cpuNsPerMsg);
      log(`16 B run ${i + 1}: sent ${r.sent} in ${opts.seconds} s, written ${r.written} (${(r.written / r.sent).toFixed(3)}), CLI CPU ${Math.round(r.cpuNsPerMsg)} ns/msg sent; pyzmq SUB got ${p.received} of ${p.sent} (${(p.received / p.sent).toFixed(3)}); drain got ${d.received} of ${d.sent} (${(d.received / d.sent).toFixed(3)}); Node drain got ${n.received} of ${n.sent} (${(n.received / n.sent).toFixed(3)})`);
    }
    const result: Record<string, number> = {
      cli_spy_json_ratio_16b: +median(ratios).toFixed(3),
      cli_spy_json_pair_min_16b: +Math.min(...ratios).toFixed(3),
      cli_spy_json_pair_max_16b: +Math.max(...ratios).toFixed(3),
      cli_spy_json_sent_per_s_16b: Math.round(median(sent) / opts.seconds),
      // what the fastest plain subscriber gets from the same publisher on this machine (informational, no target)
      cli_spy_json_pyzmq_sub_ratio_16b: +median(lib).toFixed(3),
      // the ceiling: what a subscriber that only reads its socket gets (see drainRound), and our share of it
      cli_spy_json_drain_ratio_16b: +median(drain).toFixed(3),
      cli_spy_json_vs_drain_16b: +(median(ratios) / median(drain)).toFixed(3),
      // the CLI's own ceiling: the same drain in a Node process of its own, over the drain's
      cli_spy_json_node_drain_ceiling_vs_drain_16b: +(median(nodeDrain) / median(drain)).toFixed(3),
    };
    if (cpu.every((c) => !Number.isNaN(c))) result.cli_spy_json_cpu_ns_per_msg_16b = Math.round(median(cpu));
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  printAndExit(runCliSpyBench({ seconds: numberArg('seconds', 10), runs: numberArg('runs', 3) }));
}
