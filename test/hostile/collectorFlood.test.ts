/**
 * The collector under connections that never prove the token: any local
 * process can connect to it, hold connections idle, trickle a hello, send
 * wrong tokens or announce a huge first frame. None of that may keep a real
 * program's agent out, or grow the collector's memory (docs/collector-limits.md).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capture } from '../../src/core/capture/capture';
import { Collector } from '../../src/core/sessions/collector';
import { CLI, runCli } from '../unit/helpers/cli';
import { PYTHON, until } from '../unit/helpers/peers';
import { listeningPorts, MiB, watchPeakRss } from './helpers/procMemory';

/** A frame of the agents' wire format: `[u32 BE length][body]`. */
function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}
const json = (o: unknown) => frame(Buffer.from('J' + JSON.stringify(o)));
const hello = (token: string, pid = 42) => json({ type: 'hello', token, agent: 'test', version: 1, pid });
const WRONG_TOKEN = 'f'.repeat(48);

/**
 * Hostile connections to host:port, all closed by close(): `holders` idle ones
 * reopened 20 ms after the collector closes them (so they keep holding slots),
 * `tricklers` that send a wrong-token hello one byte every 100 ms, a wrong
 * token every 10 ms, and `huge` connections announcing a 64 MiB first frame
 * and streaming it.
 */
function flood(port: number, o: { holders: number; tricklers: number; wrongTokens: boolean; huge: number }) {
  const socks = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let opened = 0;
  const open = (onConnect: (s: Socket) => void, reopen: boolean) => {
    if (stopped) return;
    const s = connect(port, '127.0.0.1', () => onConnect(s));
    opened++;
    socks.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      socks.delete(s);
      if (reopen && !stopped) {
        const t = setTimeout(() => (timers.delete(t), open(onConnect, reopen)), 20);
        timers.add(t);
      }
    });
  };
  for (let i = 0; i < o.holders; i++) open(() => undefined, true);
  const trickle = hello(WRONG_TOKEN);
  for (let i = 0; i < o.tricklers; i++) {
    open((s) => {
      let at = 0;
      const t = setInterval(() => {
        if (s.destroyed || at >= trickle.length) return clearInterval(t);
        s.write(trickle.subarray(at, ++at));
      }, 100);
      timers.add(t as unknown as NodeJS.Timeout);
    }, true);
  }
  if (o.wrongTokens) {
    const t = setInterval(() => open((s) => s.end(hello(WRONG_TOKEN)), false), 10);
    timers.add(t as unknown as NodeJS.Timeout);
  }
  // one 64 MiB body, shared by every writer (written, never copied, by this process)
  const body = Buffer.alloc(64 * MiB, 0x4a);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  for (let i = 0; i < o.huge; i++) open((s) => (s.write(head), s.write(body)), false);
  return {
    opened: () => opened,
    close() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      for (const s of socks) s.destroy();
    },
  };
}

describe('hostile: the collector under connections without the token', function () {
  this.timeout(120000);
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function startCollector(extra: Partial<ConstructorParameters<typeof Collector>[0]> = {}) {
    const capture = new Capture();
    const collector = await Collector.start({ capture, ...extra });
    cleanups.push(async () => {
      await collector.stop();
      collector.dispose();
      capture.dispose();
    });
    const port = Number(collector.address.split(':')[1]);
    const token = collector.environment({}).ZMQ_DEBUG_TOKEN;
    return { capture, collector, port, token };
  }

  /** Connects, writes `data`; resolves true when the collector closed the connection, false if still open after waitMs. */
  function send(port: number, data: Buffer[], waitMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        for (const d of data) s.write(d);
      });
      const t = setTimeout(() => (s.destroy(), resolve(false)), waitMs);
      s.on('error', () => undefined);
      s.on('close', () => (clearTimeout(t), resolve(true)));
    });
  }

  it('a first frame longer than the hello may be is refused on its 4-byte length, before its body is buffered', async () => {
    // a minute to say hello: only the length check can close the connection in time
    const { collector, port, token } = await startCollector({ helloTimeoutMs: 60000 });
    const head = Buffer.alloc(4);
    head.writeUInt32BE(64 * MiB);
    assert.equal(await send(port, [head, Buffer.alloc(256 * 1024)], 5000), true, 'the connection announcing a 64 MiB hello is closed');
    const st = collector.stats();
    assert.equal(st.oversized, 1);
    assert.equal(st.rejected, 1);
    assert.equal(st.agents, 0);
    // an agent's own first frame still fits
    assert.equal(await send(port, [hello(token), json({ type: 'process', pid: 42, name: 'ok.py' })], 300), false);
    await until(() => collector.stats().agents === 1, 'the agent');
  });

  it('a trickled hello and an idle connection are closed when the time to authenticate ends', async () => {
    const { collector, port } = await startCollector({ helloTimeoutMs: 500 });
    const idle = send(port, [], 10000);
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    const bytes = hello(WRONG_TOKEN);
    let at = 0;
    const t = setInterval(() => !s.destroyed && at < bytes.length && s.write(bytes.subarray(at, ++at)), 50);
    await closed;
    clearInterval(t);
    assert.equal(await idle, true);
    assert.ok(at < bytes.length, `closed before the trickled hello was complete (${at} of ${bytes.length} bytes)`);
    assert.equal(collector.stats().rejected, 2);
  });

  it('connections holding every pre-authentication slot are evicted for an agent, counted, and never take an agent slot', async () => {
    const { collector, capture, port, token } = await startCollector({ maxUnauthenticated: 16, maxUnauthenticatedPerPeer: 8, maxAgents: 4 });
    const f = flood(port, { holders: 300, tricklers: 10, wrongTokens: true, huge: 0 });
    cleanups.push(() => f.close());
    await until(() => f.opened() > 300 && collector.stats().evicted > 100, 'the holders to fill the slots');
    // four agents, each connecting while the slots are held
    const agents = [1, 2, 3, 4].map((pid) => send(port, [hello(token, pid), json({ type: 'process', pid, name: `agent${pid}.py` })], 1000));
    assert.deepEqual(await Promise.all(agents), [false, false, false, false], 'no agent was closed');
    const pids = [...capture.records()].filter((r) => r.kind === 'process' && r.state === 'started').map((r) => r.pid);
    assert.deepEqual(pids.sort(), [1, 2, 3, 4]);
    const st = collector.stats();
    assert.equal(st.agents, 4);
    assert.equal(st.refused, 0);
    assert.ok(st.evicted > 100, `evictions counted (${st.evicted})`);
    assert.ok(st.rejected > 0, `wrong tokens counted (${st.rejected})`);
    assert.equal(capture.stats().totalMessages, 0);
  });

  it('an agent over maxAgents is turned away and counted, whatever waits to authenticate', async () => {
    const { collector, port, token } = await startCollector({ maxAgents: 2 });
    const open = [1, 2].map((pid) => send(port, [hello(token, pid)], 1500));
    await until(() => collector.stats().agents === 2, 'two agents');
    assert.equal(await send(port, [hello(token, 3)], 1500), true, 'the third agent is closed');
    assert.deepEqual(await Promise.all(open), [false, false]);
    assert.equal(collector.stats().refused, 1);
  });

  it("an agent's large frame arriving in small reads is joined once, not copied again on every read", async () => {
    const { collector, capture, port, token } = await startCollector();
    const size = 16 * MiB;
    const body = Buffer.alloc(18 + 8 + size);
    body[0] = 0x4d;
    body[1] = 0;
    body.writeUInt32BE(1, 2);
    body.writeDoubleBE(Date.now() / 1000, 6);
    body.writeUInt32BE(1, 14);
    body.writeUInt32BE(size, 18);
    body.writeUInt32BE(size, 22);
    const copied = { bytes: 0 };
    const concat = Buffer.concat;
    // Buffer.concat is how a collector joins reads: count what it copies while this frame comes in
    Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
      const b = concat(list, total);
      copied.bytes += b.length;
      return b;
    }) as typeof Buffer.concat;
    cleanups.push(() => void (Buffer.concat = concat));
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    cleanups.push(() => void s.destroy());
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write(hello(token));
    await until(() => collector.stats().agents === 1, 'the agent');
    const whole = frame(body);
    // small writes, each its own read on the collector's side more often than not
    for (let at = 0; at < whole.length; at += 64 * 1024) {
      if (!s.write(whole.subarray(at, at + 64 * 1024))) await new Promise((r) => s.once('drain', r));
    }
    await until(() => capture.stats().totalMessages === 1, 'the 16 MiB message', 60000);
    Buffer.concat = concat;
    assert.equal(capture.stats().retainedBytes >= size, true);
    assert.ok(copied.bytes <= 3 * whole.length, `bytes copied while joining the reads: ${(copied.bytes / MiB).toFixed(0)} MiB for a ${(whole.length / MiB).toFixed(0)} MiB frame`);
  });

  describe('a real pyzmq program under `zmq-debug run` while the collector is flooded', function () {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'zmqdbg-flood-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('is recorded fully (200 messages each way, its process and sockets), the collector staying under 200 MiB', async () => {
      const go = join(dir, 'go');
      const prog = join(dir, 'prog.py');
      // zmq is imported (and the agent starts reporting) only once the flood is on
      writeFileSync(
        prog,
        [
          'import os, sys, time',
          `while not os.path.exists(${JSON.stringify(go)}): time.sleep(0.02)`,
          'import zmq',
          'ctx = zmq.Context()',
          'pull = ctx.socket(zmq.PULL)',
          'port = pull.bind_to_random_port("tcp://127.0.0.1")',
          'push = ctx.socket(zmq.PUSH)',
          'push.connect("tcp://127.0.0.1:%d" % port)',
          'for i in range(200): push.send(b"msg %d" % i)',
          'got = [pull.recv() for i in range(200)]',
          'print("received", len(got), file=sys.stderr)',
          'push.close(); pull.close(); ctx.term()',
        ].join('\n'),
      );
      assert.ok(CLI);
      const cli = runCli(['run', '--json', '--', PYTHON, prog]);
      cleanups.push(async () => void (await cli.stop()));
      const pid = cli.proc.pid!;
      let ports: number[] = [];
      await until(() => (ports = listeningPorts(pid)).length > 0, 'the collector of `zmq-debug run` to listen');
      const rss = watchPeakRss(pid);
      cleanups.push(() => void rss.stop());
      const f = flood(ports[0], { holders: 300, tricklers: 20, wrongTokens: true, huge: 8 });
      cleanups.push(() => f.close());
      // the slots are held: the old collector refused beyond 256 connections from here on
      await until(() => f.opened() > 600, 'the flood to hold the slots', 30000);
      writeFileSync(go, '');
      const code = await cli.code;
      const peak = rss.stop();
      f.close();
      assert.equal(code, 0, cli.err());
      assert.match(cli.err(), /received 200/);
      const records = cli
        .out()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { kind: string; direction?: string; state?: string; op?: string; socketType?: string });
      const msgs = records.filter((r) => r.kind === 'message');
      assert.equal(msgs.filter((r) => r.direction === 'out').length, 200, `every message sent; stderr: ${cli.err()}`);
      assert.equal(msgs.filter((r) => r.direction === 'in').length, 200, 'every message received');
      assert.ok(records.some((r) => r.kind === 'process' && r.state === 'started'));
      assert.deepEqual(records.filter((r) => r.kind === 'socket' && r.op === 'open').map((r) => r.socketType).sort(), ['PULL', 'PUSH']);
      // the flood is counted where the user sees it
      assert.match(cli.err(), /closed \d+ connection\(s\) that did not say hello to make room/);
      assert.match(cli.err(), /refused \d+ connection\(s\), 0 malformed and [1-9]\d* oversized/);
      // eight 64 MiB first frames refused on their length: nothing of them is held
      assert.ok(peak < 200 * MiB, `peak RSS of zmq-debug run: ${(peak / MiB).toFixed(0)} MiB (limit 200 MiB)`);
    });
  });
});
