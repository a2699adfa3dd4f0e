/**
 * Soak: a spy on a pyzmq PUB and a tap between a pyzmq PUSH and PULL, both at
 * full speed into one capture at its limits (the product's defaults), with a
 * reader that reads every batch as the viewer does and snapshot exports one
 * after the other, for `seconds` (60 in `npm run bench`). RSS is sampled every
 * 250 ms once the capture is full and has run 10 s; start and end are the
 * medians of the first and the last 5 s (single samples swing with each export's
 * snapshot and each GC). A capture whose every buffer is bounded grows by no
 * more than noise (target ratio ≤ 1.1).
 *
 *   npx tsx bench/soak.ts [--seconds N]
 */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Capture, DEFAULT_LIMITS } from '../src/core/capture/capture';
import { writeExport } from '../src/core/capture/exportWriter';
import { PubSpy } from '../src/core/sessions/spy';
import { ZmtpTap } from '../src/core/sessions/tap';
import { freePort, median, numberArg, printAndExit, PYTHON } from './util';

const FLOOD_PUB = join(__dirname, '..', 'test', 'unit', 'peers', 'flood_pub.py');

const PULL = `
import zmq, sys
ctx = zmq.Context()
s = ctx.socket(zmq.PULL)
s.bind('tcp://127.0.0.1:' + sys.argv[1])
print('bound', flush=True)
while True: s.recv()
`;

const PUSH = `
import zmq, sys
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.connect('tcp://127.0.0.1:' + sys.argv[1])
msg = bytes(range(256)) * 4
while True: s.send(msg)
`;

export interface SoakResult {
  soak_seconds: number;
  soak_rss_start_mb: number;
  soak_rss_end_mb: number;
  soak_rss_max_mb: number;
  soak_rss_growth_ratio: number;
  soak_messages: number;
  soak_evicted: number;
  soak_exports: number;
  /** Every session still running and every peer still alive at the end. */
  soak_ok: boolean;
}

function start(args: string[]): { proc: ChildProcess; ready: Promise<void> } {
  const proc = spawn(PYTHON, ['-u', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (/bound/.test(out)) resolve();
    });
    proc.on('exit', (code) => reject(new Error(`python exited ${code}: ${err.slice(-1000)}`)));
  });
  ready.catch(() => undefined);
  return { proc, ready };
}

const rssMb = () => Math.round(process.memoryUsage.rss() / 2 ** 20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoak(opts: { seconds: number; log?: (l: string) => void }): Promise<SoakResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[soak] ${l}\n`));
  const capture = new Capture(DEFAULT_LIMITS);
  const procs: ChildProcess[] = [];
  let spy: PubSpy | undefined;
  let tap: ZmtpTap | undefined;
  try {
    const pubPort = await freePort();
    const pub = start([FLOOD_PUB, String(pubPort)]);
    procs.push(pub.proc);
    const pullPort = await freePort();
    const pull = start(['-c', PULL, String(pullPort)]);
    procs.push(pull.proc);
    await Promise.all([pub.ready, pull.ready]);
    spy = new PubSpy({ id: 'spy', endpoints: [`tcp://127.0.0.1:${pubPort}`], topics: [], capture });
    tap = new ZmtpTap({ target: `127.0.0.1:${pullPort}`, id: 'tap' }, capture);
    const { port } = await tap.listen();
    const push = start(['-c', PUSH, String(port)]);
    procs.push(push.proc);

    // the viewer's reader: the newest records of each batch, read as they come
    let read = 0;
    const sub = capture.onDidAppend(({ toSeq }) => {
      for (const r of capture.since(Math.max(read, toSeq - 1000))) read = r.seq;
    });
    // Export Capture… over and over while the sources keep appending (to a sink
    // that takes a tick per write), so that a snapshot is always held: the steady
    // state includes the chunks an export keeps alive
    let exports = 0;
    let exporting = true;
    const sink = () => new Writable({ highWaterMark: 1 << 20, write: (_c, _e, done) => setImmediate(done) });
    const exportLoop = (async () => {
      while (exporting) {
        await writeExport([...capture.records()], sink(), { totals: () => capture.stats() });
        exports++;
        await sleep(100);
      }
    })();
    const full = () => {
      const st = capture.stats();
      return st.retained >= capture.currentLimits.maxRecords || st.retainedBytes >= capture.currentLimits.maxBytes * 0.99;
    };
    const fillBy = Date.now() + 30_000;
    while (!full() && Date.now() < fillBy) await sleep(100);
    if (!full()) throw new Error(`the capture did not fill in 30 s (${capture.stats().retained} records)`);
    // a warm-up at the limit: JIT, pools and the first exports settle
    await sleep(10_000);
    const startMessages = capture.stats().totalMessages;
    const startEvicted = capture.stats().evicted;
    log(`capture full; running ${opts.seconds} s`);
    // RSS swings by tens of MB with each export's snapshot and each GC: start and
    // end are the medians of the samples of the first and the last 5 s
    const samples: { t: number; rss: number }[] = [];
    const t0 = Date.now();
    const end = t0 + opts.seconds * 1000;
    let nextLog = Date.now() + 10_000;
    while (Date.now() < end) {
      await sleep(250);
      samples.push({ t: Date.now(), rss: rssMb() });
      if (Date.now() >= nextLog) {
        nextLog += 10_000;
        const st = capture.stats();
        log(`RSS ${rssMb()} MB, ${st.totalMessages - startMessages} messages, ${st.retained} retained, ${exports} exports`);
      }
    }
    const window = Math.min(5000, (opts.seconds * 1000) / 3);
    const startRss = median(samples.filter((x) => x.t - t0 <= window).map((x) => x.rss));
    const endRss = median(samples.filter((x) => end - x.t <= window).map((x) => x.rss));
    const maxRss = Math.max(...samples.map((x) => x.rss));
    const st = capture.stats();
    const ok = spy.state !== 'error' && tap.state !== 'error' && procs.every((p) => p.exitCode === null && p.signalCode === null);
    exporting = false;
    await exportLoop;
    sub.dispose();
    return {
      soak_seconds: opts.seconds,
      soak_rss_start_mb: startRss,
      soak_rss_end_mb: endRss,
      soak_rss_max_mb: maxRss,
      soak_rss_growth_ratio: +(endRss / startRss).toFixed(3),
      soak_messages: st.totalMessages - startMessages,
      soak_evicted: st.evicted - startEvicted,
      soak_exports: exports,
      soak_ok: ok,
    };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await spy?.stop();
    await tap?.stop();
    capture.dispose();
  }
}

if (require.main === module) {
  printAndExit(runSoak({ seconds: numberArg('seconds', 60) }));
}
