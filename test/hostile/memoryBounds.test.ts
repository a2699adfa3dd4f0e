/**
 * Memory that must stay bounded whatever the input: the collector's model of a
 * program that opens and closes sockets without end, the capture's window of
 * messages made of empty frames under a byte limit, and the spy's zeromq.js
 * path (ipc://) given a frame far over its limit. Each states its limit.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Capture } from '../../src/core/capture/capture';
import { CapturedMessage } from '../../src/core/capture/records';
import { Collector } from '../../src/core/sessions/collector';
import { CLI } from '../unit/helpers/cli';
import { freePort, killAllPython, runPython, until } from '../unit/helpers/peers';
import * as z from '../unit/helpers/zmtpBytes';
import { MiB, watchPeakRss } from './helpers/procMemory';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Heap and array buffers in use after a full collection. */
function usedAfterGc(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}
const json = (o: unknown) => frame(Buffer.from('J' + JSON.stringify(o)));

describe('hostile: memory stays bounded', function () {
  this.timeout(180000);
  afterEach(() => killAllPython());

  it('the collector forgets closed sockets: 100,000 opened and closed grow its memory by less than 32 MiB', async () => {
    // a small window, so that what is measured is the collector's model, not the capture
    const capture = new Capture({ maxRecords: 1000 });
    const collector = await Collector.start({ capture });
    try {
      const [host, port] = collector.address.split(':');
      const token = collector.environment({}).ZMQ_DEBUG_TOKEN;
      const s = connect(Number(port), host);
      s.on('error', () => undefined);
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.write(json({ type: 'hello', token, agent: 'test', version: 1, pid: 7 }));
      s.write(json({ type: 'process', pid: 7, name: 'churn.py' }));
      // one socket that stays open throughout, and is still known at the end
      s.write(json({ type: 'socket', op: 'open', socket: 1, socketType: 'PULL' }));
      s.write(json({ type: 'socket', op: 'bind', socket: 1, endpoint: 'tcp://127.0.0.1:5555' }));
      await until(() => collector.stats().agents === 1, 'the agent');
      const before = usedAfterGc();
      const N = 100_000;
      for (let n = 2; n < N + 2; n += 1000) {
        const batch: Buffer[] = [];
        for (let i = n; i < n + 1000; i++) {
          batch.push(json({ type: 'socket', op: 'open', socket: i, socketType: 'PUSH', sndhwm: 1000, rcvhwm: 1000 }));
          batch.push(json({ type: 'socket', op: 'connect', socket: i, endpoint: `tcp://127.0.0.1:${5555 + (i % 100)}` }));
          batch.push(json({ type: 'socket', op: 'close', socket: i }));
        }
        if (!s.write(Buffer.concat(batch))) await new Promise((r) => s.once('drain', r));
      }
      // a late report about a long-forgotten socket, then the last close
      s.write(json({ type: 'error', socket: 5, op: 'send', code: 'EAGAIN', count: 1 }));
      s.write(json({ type: 'socket', op: 'close', socket: 1 }));
      await until(() => capture.stats().total >= 3 * N + 5, 'every report', 120000);
      const grown = usedAfterGc() - before;
      const [p] = collector.model.processes();
      assert.equal(p.name, 'churn.py');
      assert.ok(p.sockets.size <= 257, `sockets in the model: ${p.sockets.size}`);
      assert.equal(p.sockets.get('7.1')!.state, 'closed', 'the first socket is kept while open, and among the recent closed ones after');
      assert.ok(p.sockets.has(`7.${N + 1}`), 'the most recently closed socket is kept');
      assert.ok(!p.sockets.has('7.5'), 'a late report does not bring a forgotten socket back');
      assert.equal(collector.stats().malformed, 0);
      const late = [...capture.records()].find((r) => r.kind === 'event' && r.type === 'send:error');
      assert.ok(late, 'the late report is still recorded');
      assert.ok(grown < 32 * MiB, `memory grown by ${(grown / MiB).toFixed(1)} MiB (limit 32 MiB)`);
      s.destroy();
    } finally {
      await collector.stop();
      collector.dispose();
      capture.dispose();
    }
  });

  it('messages made of empty frames count against maxBytes: a 1 MB window holds at most 1 MB, not 100,000 records', () => {
    const capture = new Capture({ maxBytes: 1_000_000 });
    const empty = new Uint8Array(0);
    const frames = Array.from({ length: 1000 }, () => empty);
    const before = usedAfterGc();
    for (let i = 0; i < 20_000; i++) {
      const r: CapturedMessage = { kind: 'message', seq: 0, ts: 0, session: 'spy', source: 'spy', endpoint: 'tcp://127.0.0.1:5556', direction: 'in', frames };
      capture.append(r);
    }
    const st = capture.stats();
    const grown = usedAfterGc() - before;
    assert.ok(st.retainedBytes <= 1_000_000, `retained ${st.retainedBytes} B`);
    assert.ok(st.retained < 300, `records retained: ${st.retained}`);
    assert.equal(st.evicted, 20_000 - st.retained, 'what left the window is counted');
    assert.ok(grown < 16 * MiB, `memory grown by ${(grown / MiB).toFixed(1)} MiB (limit 16 MiB)`);
    capture.dispose();
  });

  it('the spy over ipc:// (zeromq.js path) refuses a 400 MiB frame, says so, goes on receiving, and stays under 200 MiB', async function () {
    const path = `/tmp/zmq-debug-hostile-${process.pid}.ipc`;
    const pub = runPython(
      `
import sys, time, zmq
s = zmq.Context().socket(zmq.PUB)
s.bind('ipc://' + sys.argv[1])
big = b'x' * (400 << 20)
print('bound', flush=True)
time.sleep(1.5)
for i in range(3): s.send(b'before %d' % i); time.sleep(0.05)
s.send(big, copy=False)
del big
for i in range(200):
    s.send(b'after %d' % i); time.sleep(0.02)
`,
      [path],
    );
    await pub.waitFor('bound');
    const spy = spawn(process.execPath, [CLI, 'spy', `ipc://${path}`, '--json', '--timeout', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    spy.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    let err = '';
    spy.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const rss = watchPeakRss(spy.pid!);
    const code = await new Promise<number | null>((r) => spy.on('exit', (c) => r(c)));
    const peak = rss.stop();
    assert.equal(code, 0, err);
    const records = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { kind: string; type?: string; error?: string; frames?: string[] });
    const texts = records.filter((r) => r.kind === 'message').map((r) => Buffer.from(r.frames![0], 'base64').toString());
    assert.ok(texts.includes('before 0'), `messages before the big one: ${texts.slice(0, 5).join(', ')}`);
    assert.ok(texts.some((t) => t.startsWith('after ')), 'messages after the big one: the spy reconnected');
    assert.ok(!texts.some((t) => t.length > 1000), 'the 400 MiB frame was not captured');
    const refused = records.find((r) => r.kind === 'event' && r.type === 'spy:refused');
    assert.ok(refused, 'a spy:refused record says what happened');
    assert.match(refused.error!, /over 4194304 bytes/);
    assert.ok(peak < 200 * MiB, `peak RSS of zmq-debug spy: ${(peak / MiB).toFixed(0)} MiB (limit 200 MiB)`);
    await until(() => pub.proc.exitCode !== null, 'the publisher to end', 20000).catch(() => undefined);
  });
  it('the tap relays 30 MB of one-byte frames (messages of 100,000 frames) to a real PULL, all of them, staying under 320 MiB', async () => {
    const target = await freePort();
    const messagesSent = 100;
    const pull = runPython(
      `
import sys, zmq
s = zmq.Context().socket(zmq.PULL)
s.bind('tcp://127.0.0.1:%s' % sys.argv[1])
print('bound', flush=True)
n = frames = 0
while True:
    m = s.recv_multipart(copy=False); n += 1; frames += len(m)
    print('received %d messages %d frames' % (n, frames), flush=True)
`,
      [target],
    );
    await pull.waitFor('bound');
    const listen = await freePort();
    const tap = spawn(process.execPath, [CLI, 'tap', '--target', `127.0.0.1:${target}`, '--listen', `127.0.0.1:${listen}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    tap.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((r) => tap.on('exit', (c) => r(c)));
    try {
      await until(() => err.includes('tap listening'), 'the tap to listen');
      const rss = watchPeakRss(tap.pid!);
      // a raw ZMTP PUSH peer: greeting, READY, then messages of 100,000 one-byte frames (3 bytes each on the wire)
      const client = connect(listen, '127.0.0.1');
      client.on('error', () => undefined);
      await new Promise<void>((r) => client.once('connect', () => r()));
      client.write(Buffer.concat([z.greeting(), z.ready({ 'Socket-Type': 'PUSH' })]));
      const one = z.message(Array.from({ length: 100_000 }, () => Buffer.from('x')));
      for (let i = 0; i < messagesSent; i++) if (!client.write(one)) await new Promise((r) => client.once('drain', r));
      await pull.waitFor(`received ${messagesSent} messages ${messagesSent * 100_000} frames`, 120000);
      const peak = rss.stop();
      client.destroy();
      assert.ok(peak < 320 * MiB, `peak RSS of zmq-debug tap: ${(peak / MiB).toFixed(0)} MiB (limit 320 MiB)`);
    } finally {
      tap.kill('SIGINT');
      await exited;
    }
  });
});

