/**
 * Spy ingest: the PUB spy with capture on vs a raw `zeromq` Subscriber receive
 * loop, against the same pyzmq publisher, side by side in one run.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Capture } from '../src/core/capture/capture';
import { PubSpy } from '../src/core/sessions/spy';
import { zmq } from '../src/core/zmq/zmqLoader';
import { freePort, median, PYTHON } from './util';

interface Publisher {
  pubPort: number;
  syncPort: number;
  stop(): void;
}

async function startPublisher(count: number, size: number, rounds: number): Promise<Publisher> {
  const [pubPort, syncPort] = [await freePort(), await freePort()];
  const proc = spawn(PYTHON, ['-u', join(__dirname, 'peers', 'sync_pub.py'), pubPort, syncPort, count, size, rounds].map(String), { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d) => String(d).includes('bound') && resolve());
    proc.on('exit', (code) => reject(new Error(`publisher exited ${code}`)));
  });
  return { pubPort, syncPort, stop: () => proc.kill('SIGKILL') };
}

/** Tells the publisher to start a round once our subscription has propagated. */
async function go(syncPort: number): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  const req = new (zmq().Request)();
  req.connect(`tcp://127.0.0.1:${syncPort}`);
  await req.send('ready');
  await req.receive();
  req.close();
}

const isEnd = (f: Buffer) => f.length === 3 && f.toString() === 'END';

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

async function spyRound(pub: Publisher, count: number): Promise<number> {
  const capture = new Capture({ maxRecords: 100_000 });
  const spy = new PubSpy({ id: 'bench', endpoints: [`tcp://127.0.0.1:${pub.pubPort}`], capture, receiveHighWaterMark: 0 });
  await go(pub.syncPort);
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
      const last = capture.get(st.lastSeq);
      if (last?.kind === 'message' && isEnd(last.frames[0] as Buffer)) resolve(performance.now());
    });
  });
  const end = await done;
  const received = capture.stats().totalMessages - 1;
  await spy.stop();
  if (received !== count) throw new Error(`spy captured ${received} of ${count}`);
  return ((received + 1 - countedFrom) / (end - start)) * 1000;
}

export async function runSpyIngestBench(opts: { count: number; runs: number }) {
  const result: Record<string, number> = {};
  for (const [label, size] of [['16b', 16], ['1k', 1024]] as const) {
    const pub = await startPublisher(opts.count, size, opts.runs * 2);
    try {
      const raw: number[] = [];
      const spy: number[] = [];
      for (let i = 0; i < opts.runs; i++) {
        raw.push(await rawRound(pub, opts.count));
        spy.push(await spyRound(pub, opts.count));
      }
      result[`spy_raw_msgs_per_s_${label}`] = Math.round(median(raw));
      result[`spy_msgs_per_s_${label}`] = Math.round(median(spy));
      result[`spy_ingest_ratio_${label}`] = +(median(spy) / median(raw)).toFixed(3);
    } finally {
      pub.stop();
    }
  }
  return result;
}
