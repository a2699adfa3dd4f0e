/**
 * Spy ingest: the PUB spy (ZMTP-native path) with capture on, against the same
 * pyzmq publisher as two references, side by side in one run, rounds
 * alternating: a raw `zeromq` Subscriber receive loop in this process (what
 * the spy was built on before), and a pyzmq SUB in a process of its own (libzmq
 * at full speed: the fastest subscriber there is). The publisher has no HWM, so
 * a slow subscriber slows it down rather than losing messages, and every rate
 * is messages received per second from the first to the last. Also the spy's
 * CPU time per message (this process's), which machine load skews less.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Capture } from '../src/core/capture/capture';
import { PubSpy } from '../src/core/sessions/spy';
import { zmq } from '../src/core/zmq/zmqLoader';
import { freePort, median, numberArg, printAndExit, PYTHON } from './util';

export interface Publisher {
  pubPort: number;
  syncPort: number;
  /** The rate of the publisher's send loop in its next unread round (rounds are read in order). */
  loopRate(): Promise<number>;
  stop(): void;
}

export async function startPublisher(count: number, size: number, rounds: number): Promise<Publisher> {
  const [pubPort, syncPort] = [await freePort(), await freePort()];
  const proc = spawn(PYTHON, ['-u', join(__dirname, 'peers', 'sync_pub.py'), pubPort, syncPort, count, size, rounds].map(String), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', () => out.includes('bound') && resolve());
    proc.on('exit', (code) => reject(new Error(`publisher exited ${code}`)));
  });
  let read = 0;
  const loopRate = async () => {
    const until = Date.now() + 5000;
    for (;;) {
      const rates = [...out.matchAll(/looprate (\d+)/g)];
      if (rates.length > read) return Number(rates[read++][1]);
      if (Date.now() > until) throw new Error(`the publisher did not say its rate: ${out.slice(-300)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { pubPort, syncPort, loopRate, stop: () => proc.kill('SIGKILL') };
}

/** Tells the publisher to start a round once our subscription has propagated. */
export async function go(syncPort: number): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  const req = new (zmq().Request)();
  req.connect(`tcp://127.0.0.1:${syncPort}`);
  await req.send('ready');
  await req.receive();
  req.close();
}

/** b"END" (a Buffer from zeromq.js, a Uint8Array view from the capture). */
const isEnd = (f: Uint8Array) => f.length === 3 && f[0] === 0x45 && f[1] === 0x4e && f[2] === 0x44;

async function rawRound(pub: Publisher, count: number): Promise<number> {
  const sub = new (zmq().Subscriber)({ receiveHighWaterMark: 0 });
  sub.connect(`tcp://127.0.0.1:${pub.pubPort}`);
  sub.subscribe();
  await go(pub.syncPort);
  let n = 0;
  let start = 0;
  for await (const [frame] of sub) {
    if (n === 0) start = performance.now();
    if (isEnd(frame)) break;
    n++;
  }
  const ms = performance.now() - start;
  sub.close();
  if (n !== count) throw new Error(`raw loop got ${n} of ${count}`);
  return (n / ms) * 1000;
}

const PY_SUB = `
import sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
s.setsockopt(zmq.RCVHWM, 0)
s.connect('tcp://127.0.0.1:' + sys.argv[1])
s.setsockopt(zmq.SUBSCRIBE, b'')
print('connected', flush=True)
r = s.recv
n = 0
m = r()
t0 = time.perf_counter()
c0 = time.process_time()
while m != b'END':
    n += 1
    m = r()
# process_time: CPU of every thread of the process (libzmq's I/O thread included)
print('rate', (n - 1) / (time.perf_counter() - t0), n, (time.process_time() - c0) / n * 1e9, flush=True)
`;

/** A pyzmq SUB in its own process; its rate from its first message to END, and its CPU per message. */
export async function libzmqRound(pub: Publisher, count: number): Promise<{ rate: number; cpuNsPerMsg: number }> {
  const proc = spawn(PYTHON, ['-u', '-c', PY_SUB, String(pub.pubPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  try {
    await new Promise<void>((resolve, reject) => {
      const check = () => out.includes('connected') && resolve();
      proc.stdout!.on('data', check);
      proc.on('exit', (code) => reject(new Error(`pyzmq SUB exited ${code}`)));
    });
    await go(pub.syncPort);
    const m = await new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const r = /rate ([\d.]+) (\d+) ([\d.]+)/.exec(out);
        if (r) resolve(r);
      };
      proc.stdout!.on('data', check);
      proc.on('exit', (code) => reject(new Error(`pyzmq SUB exited ${code}: ${out}`)));
    });
    // its first message starts its clock and is not counted in the rate
    if (Number(m[2]) !== count) throw new Error(`pyzmq SUB got ${m[2]} of ${count}`);
    return { rate: Number(m[1]), cpuNsPerMsg: Number(m[3]) };
  } finally {
    proc.kill('SIGKILL');
  }
}

export async function spyRound(pub: Publisher, count: number, native = true): Promise<{ rate: number; cpuNsPerMsg: number }> {
  const capture = new Capture({ maxRecords: 100_000 });
  const spy = new PubSpy({ id: 'bench', endpoints: [`tcp://127.0.0.1:${pub.pubPort}`], capture, receiveHighWaterMark: 0, native });
  await go(pub.syncPort);
  const cpu0 = process.cpuUsage();
  let start = 0;
  let countedFrom = 0;
  const done = new Promise<number>((resolve) => {
    capture.onDidAppend(() => {
      const st = capture.stats();
      if (!start && st.totalMessages > 0) {
        // the clock starts at the first tick that saw messages; those are not counted
        start = performance.now();
        countedFrom = st.totalMessages;
      }
      const last = capture.peek(st.lastSeq);
      if (last?.kind === 'message' && isEnd(last.frames[0])) resolve(performance.now());
    });
  });
  // bounded: a lost end marker must fail the round with what was captured, not hang the part
  let timer: ReturnType<typeof setTimeout> | undefined;
  const end = await Promise.race([
    done,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the end marker never arrived within 120 s: the spy captured ${capture.stats().totalMessages} of ${count + 1}`)), 120_000))),
  ]).finally(() => clearTimeout(timer));
  const cpu = process.cpuUsage(cpu0);
  const received = capture.stats().totalMessages - 1;
  await spy.stop();
  if (received !== count) throw new Error(`spy captured ${received} of ${count}`);
  return { rate: ((received + 1 - countedFrom) / (end - start)) * 1000, cpuNsPerMsg: ((cpu.user + cpu.system) * 1000) / count };
}

export async function runSpyIngestBench(opts: { count: number; runs: number; log?: (line: string) => void }) {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[spy] ${l}\n`));
  const result: Record<string, number> = {};
  for (const [label, size] of [['16b', 16], ['1k', 1024]] as const) {
    // one uncounted spy round first, so that the counted ones run optimized code
    const pub = await startPublisher(opts.count, size, opts.runs * 3 + 1);
    try {
      await spyRound(pub, opts.count);
      await pub.loopRate();
      const raw: number[] = [];
      const spy: number[] = [];
      const lib: number[] = [];
      const cpu: number[] = [];
      const libCpu: number[] = [];
      // each subscriber's rate over what the publisher's loop offered in that round
      const spyKept: number[] = [];
      const libKept: number[] = [];
      const spyLoop: number[] = [];
      for (let i = 0; i < opts.runs; i++) {
        // alternate, so that a change in machine load hits every side alike
        raw.push(await rawRound(pub, opts.count));
        await pub.loopRate();
        const s = await spyRound(pub, opts.count);
        const sLoop = await pub.loopRate();
        spy.push(s.rate);
        cpu.push(s.cpuNsPerMsg);
        spyLoop.push(sLoop);
        spyKept.push(s.rate / sLoop);
        const l = await libzmqRound(pub, opts.count);
        const lLoop = await pub.loopRate();
        lib.push(l.rate);
        libCpu.push(l.cpuNsPerMsg);
        libKept.push(l.rate / lLoop);
        log(`${size} B run ${i + 1}: spy ${Math.round(s.rate)} msg/s of ${sLoop} offered (${Math.round(s.cpuNsPerMsg)} ns CPU/msg), pyzmq SUB ${Math.round(lib[i])} of ${lLoop} (${Math.round(l.cpuNsPerMsg)} ns CPU/msg), raw zeromq.js ${Math.round(raw[i])}`);
      }
      result[`spy_raw_msgs_per_s_${label}`] = Math.round(median(raw));
      result[`spy_libzmq_msgs_per_s_${label}`] = Math.round(median(lib));
      result[`spy_msgs_per_s_${label}`] = Math.round(median(spy));
      result[`spy_ingest_ratio_${label}`] = +(median(spy) / median(raw)).toFixed(3);
      result[`spy_vs_libzmq_ratio_${label}`] = +(median(spy) / median(lib)).toFixed(3);
      result[`spy_cpu_ns_per_msg_${label}`] = Math.round(median(cpu));
      // the same for the pyzmq SUB (all its threads): what the fastest subscriber costs, whatever the load
      result[`spy_libzmq_cpu_ns_per_msg_${label}`] = Math.round(median(libCpu));
      // whether a subscriber was the limit: its rate over the publisher's send loop's in the same
      // round (about 1: it kept up, and the rate was the publisher's, which the machine's load sets)
      result[`spy_pub_loop_msgs_per_s_${label}`] = Math.round(median(spyLoop));
      result[`spy_kept_up_ratio_${label}`] = +median(spyKept).toFixed(3);
      result[`spy_libzmq_kept_up_ratio_${label}`] = +median(libKept).toFixed(3);
      // spread: each spy round over the reference rounds next to it
      const vsLib = spy.map((r, i) => r / lib[i]);
      const vsRaw = spy.map((r, i) => r / raw[i]);
      result[`spy_vs_libzmq_pair_min_${label}`] = +Math.min(...vsLib).toFixed(3);
      result[`spy_vs_libzmq_pair_max_${label}`] = +Math.max(...vsLib).toFixed(3);
      result[`spy_ingest_pair_min_${label}`] = +Math.min(...vsRaw).toFixed(3);
      result[`spy_ingest_pair_max_${label}`] = +Math.max(...vsRaw).toFixed(3);
    } finally {
      pub.stop();
    }
  }
  return result;
}

if (require.main === module) {
  printAndExit(runSpyIngestBench({ count: numberArg('count', 1_000_000), runs: numberArg('runs', 5) }));
}
