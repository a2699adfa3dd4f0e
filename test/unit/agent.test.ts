import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capture } from '../../src/core/capture/capture';
import { CapturedEvent, CapturedMessage, CaptureRecord, ProcessRecord, SocketRecord } from '../../src/core/capture/records';
import { ExampleRunner } from '../../src/core/examples/exampleRunner';
import { Collector } from '../../src/core/sessions/collector';
import { AGENT_FIXTURES, killAllRuns, run, start, texts } from './helpers/agentRun';
import { freePort, PYTHON, until } from './helpers/peers';

const fixture = (name: string) => join(AGENT_FIXTURES, name);
const all = (c: Capture) => [...c.records()];
const messages = (c: Capture, pid?: number) => all(c).filter((r): r is CapturedMessage => r.kind === 'message' && (pid === undefined || r.pid === pid));
const sockets = (c: Capture, pid?: number) => all(c).filter((r): r is SocketRecord => r.kind === 'socket' && (pid === undefined || r.pid === pid));
const processes = (c: Capture) => all(c).filter((r): r is ProcessRecord => r.kind === 'process');
const opens = (c: Capture, pid: number) => sockets(c, pid).filter((r) => r.op === 'open');

/** Waits until the collector saw the process with this pid exit (its agent's last reports are in). */
async function exited(c: Capture, pid: number, timeoutMs = 5000): Promise<void> {
  await until(() => processes(c).some((p) => p.pid === pid && p.state === 'exited'), `process ${pid} to exit in the capture`, timeoutMs);
}

describe('agents inside real programs, reporting to a collector', function () {
  this.timeout(60000);
  let capture: Capture;
  let collector: Collector;
  let env: Record<string, string>;
  const tmp: string[] = [];
  beforeEach(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture });
    env = collector.environment({});
  });
  afterEach(async () => {
    await killAllRuns();
    await collector.stop();
    collector.dispose();
    for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 and hands out the address, a random token, PYTHONPATH and NODE_OPTIONS', () => {
    assert.match(collector.address, /^127\.0\.0\.1:\d+$/);
    assert.equal(env.ZMQ_DEBUG_COLLECTOR, collector.address);
    assert.match(env.ZMQ_DEBUG_TOKEN, /^[0-9a-f]{48}$/);
    assert.match(env.PYTHONPATH, /agents[/\\]python$/);
    assert.match(env.NODE_OPTIONS, /^--require .*preload\.js$/);
    const merged = collector.environment({ PYTHONPATH: '/mine', NODE_OPTIONS: '--max-old-space-size=100' });
    assert.ok(merged.PYTHONPATH.endsWith(':/mine'));
    assert.ok(merged.NODE_OPTIONS.startsWith('--max-old-space-size=100 --require '));
    assert.doesNotMatch(collector.label, new RegExp(env.ZMQ_DEBUG_TOKEN));
  });

  it('REQ/REP seed programs: the same output, every socket and every message, tcp://*:PORT resolved', async function () {
    const [p1, p2] = [await freePort(), await freePort()];
    // side by side: without the agent on p1, with it on p2
    const plainServer = start(PYTHON, ['-u', fixture('reqrep_server.py'), p1]);
    const agentServer = start(PYTHON, ['-u', fixture('reqrep_server.py'), p2], env);
    const [plain, observed] = await Promise.all([
      run(PYTHON, ['-u', fixture('reqrep_client.py'), p1]),
      run(PYTHON, ['-u', fixture('reqrep_client.py'), p2], env),
    ]);
    assert.equal(observed.code, plain.code);
    assert.equal(observed.stdout.replaceAll(String(p2), 'PORT'), plain.stdout.replaceAll(String(p1), 'PORT'));
    assert.equal(observed.stderr, '');
    assert.match(observed.stdout, /Received reply {2}9 \[ b'World from/);
    await exited(capture, observed.pid);
    const serverPid = agentServer.proc.pid!;
    const nine = (out: string) => out.split('\n').filter((l) => l.startsWith('Received request')).length === 9;
    await until(() => nine(agentServer.stdout()) && nine(plainServer.stdout()), 'both servers to print 9 requests');
    assert.equal(agentServer.stdout(), plainServer.stdout());
    // the server's REP: bound to tcp://*:p2, reported with its real address
    const [rep] = opens(capture, serverPid);
    assert.equal(rep.socketType, 'REP');
    const bind = sockets(capture, serverPid).find((r) => r.op === 'bind')!;
    assert.equal(bind.requested, `tcp://*:${p2}`);
    assert.equal(bind.endpoint, `tcp://0.0.0.0:${p2}`);
    const [req] = opens(capture, observed.pid);
    assert.equal(req.socketType, 'REQ');
    assert.ok(sockets(capture, observed.pid).some((r) => r.op === 'connect' && r.endpoint === `tcp://localhost:${p2}`));
    // 9 requests out of the client, in to the server; 9 replies back
    const c = messages(capture, observed.pid);
    assert.deepEqual(c.filter((m) => m.direction === 'out').map(texts), Array(9).fill(['Hello']));
    assert.deepEqual(c.filter((m) => m.direction === 'in').map(texts), Array(9).fill([`World from ${p2}`]));
    await until(() => messages(capture, serverPid).filter((m) => m.direction === 'out').length === 9, 'the server to have replied 9 times');
    const s = messages(capture, serverPid);
    assert.equal(s.filter((m) => m.direction === 'in').length, 9);
    assert.ok(s.every((m) => m.socketType === 'REP' && m.source === 'agent' && m.process === 'reqrep_server.py' && m.socket === `${serverPid}.1`));
    const proc = processes(capture).find((p) => p.pid === observed.pid && p.state === 'started')!;
    assert.equal(proc.process, 'reqrep_client.py');
    assert.deepEqual(proc.argv!.slice(-2), [fixture('reqrep_client.py'), String(p2)]);
    assert.equal(proc.cwd, AGENT_FIXTURES);
    assert.match(proc.runtime!, /^python 3\.\d+\.\d+ pyzmq \S+ libzmq \S+$/);
    assert.equal(collector.stats().malformed, 0);
  });

  it('PUB/SUB seed programs: the topic subscription, and every published message as the publisher printed it', async function () {
    const port = await freePort();
    const pub = start(PYTHON, ['-u', fixture('pub_server.py'), port], env);
    const sub = start(PYTHON, ['-u', fixture('sub_client.py'), port], env);
    const subPid = sub.proc.pid!;
    const pubPid = pub.proc.pid!;
    await until(() => pub.stdout().split('\n').length > 3, 'three publications', 10000);
    await until(() => sockets(capture, subPid).some((r) => r.op === 'subscribe'), 'the subscription');
    const subscribe = sockets(capture, subPid).find((r) => r.op === 'subscribe')!;
    assert.equal(Buffer.from(subscribe.topic!).toString(), '10001');
    assert.equal(subscribe.socketType, 'SUB');
    await until(() => messages(capture, pubPid).length >= 3, 'three messages in the capture');
    const printed = pub.stdout().trim().split('\n');
    const sent = messages(capture, pubPid).map((m) => texts(m)[0]);
    assert.deepEqual(sent.slice(0, 3), printed.slice(0, 3));
    assert.ok(messages(capture, pubPid).every((m) => m.direction === 'out' && m.socketType === 'PUB' && m.endpoint === `tcp://0.0.0.0:${port}`));
    // whatever the subscriber received is a message the publisher sent, with the topic it asked for
    for (const m of messages(capture, subPid)) {
      assert.equal(m.direction, 'in');
      assert.ok(texts(m)[0].startsWith('10001 ') && sent.includes(texts(m)[0]));
    }
  });

  it('inproc:// between two threads of one program: same output, multipart frames, EFSM out of turn', async () => {
    const plain = await run(PYTHON, [fixture('inproc_threads.py')]);
    const observed = await run(PYTHON, [fixture('inproc_threads.py')], env);
    assert.equal(observed.stdout, plain.stdout);
    assert.equal(observed.code, 0);
    assert.equal(observed.stderr, '');
    await exited(capture, observed.pid);
    const pid = observed.pid;
    assert.deepEqual(opens(capture, pid).map((s) => s.socketType), ['REP', 'REQ']);
    const m = messages(capture, pid);
    assert.equal(m.length, 12);
    const req = `${pid}.2`;
    assert.deepEqual(m.filter((x) => x.socket === req && x.direction === 'out').map(texts), [['job', '0'], ['job', '1'], ['job', '2']]);
    assert.deepEqual(m.filter((x) => x.socket === req && x.direction === 'in').map(texts)[2], ['done', 'job', '2']);
    assert.ok(m.every((x) => x.endpoint === 'inproc://work'));
    const efsm = all(capture).find((r): r is CapturedEvent => r.kind === 'event' && r.type === 'recv:error')!;
    assert.equal(efsm.code, 'EFSM');
    assert.equal(efsm.socket, req);
    assert.equal(efsm.count, 1);
    assert.ok(sockets(capture, pid).filter((r) => r.op === 'close').length === 2);
    // the live model: process → sockets → endpoints, with counts, failures and state
    const p = collector.model.processes().find((x) => x.pid === pid)!;
    assert.equal(p.name, 'inproc_threads.py');
    assert.equal(p.state, 'exited');
    assert.equal(p.agent, 'python');
    const [rep, reqSocket] = [...p.sockets.values()];
    assert.deepEqual([rep.type, rep.state, rep.received.messages, rep.sent.messages], ['REP', 'closed', 3, 3]);
    assert.deepEqual(rep.endpoints.map((e) => [e.endpoint, e.role, e.state]), [['inproc://work', 'bind', 'active']]);
    assert.deepEqual(reqSocket.failures.map((f) => [f.op, f.code, f.count]), [['recv', 'EFSM', 1]]);
    assert.equal(reqSocket.options.sndhwm, 1000);
  });

  it('sends that fail at the high-water mark: EAGAIN counted on the socket, with the HWM and routing id it was given', async () => {
    const plain = await run(PYTHON, [fixture('hwm_eagain.py')]);
    const observed = await run(PYTHON, [fixture('hwm_eagain.py')], env);
    assert.equal(observed.stdout, plain.stdout);
    await exited(capture, observed.pid);
    const pid = observed.pid;
    const failedCount = Number(/failed (\d+)/.exec(observed.stdout)![1]);
    assert.ok(failedCount > 0);
    const fails = all(capture).filter((r): r is CapturedEvent => r.kind === 'event' && r.pid === pid && r.type === 'send:error');
    assert.deepEqual(fails.map((f) => f.code), ['EAGAIN']);
    assert.equal(fails[0].count, failedCount);
    assert.equal(messages(capture, pid).length, 10 - failedCount);
    const options = sockets(capture, pid).filter((r) => r.op === 'option');
    assert.deepEqual(options.map((o) => [o.option, o.value ?? Buffer.from(o.bytes!).toString()]), [['sndhwm', 2], ['routing_id', 'pusher']]);
    const model = [...collector.model.sockets()].find((x) => x.process.pid === pid)!.socket;
    assert.deepEqual(model.failures.map((f) => [f.op, f.code, f.count]), [['send', 'EAGAIN', failedCount]]);
    assert.equal(model.options.sndhwm, 2);
  });

  it('ipc:// between two processes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zmq-agent-'));
    tmp.push(dir);
    const path = join(dir, 'pair.sock');
    const server = start(PYTHON, [fixture('ipc_pair.py'), 'bind', path], env);
    const client = await run(PYTHON, [fixture('ipc_pair.py'), 'connect', path], env);
    const srv = await server.done;
    assert.equal(client.stdout, 'ping 0 back\nping 1 back\nping 2 back\n');
    assert.equal(srv.code, 0);
    await exited(capture, client.pid);
    await exited(capture, srv.pid);
    const sent = messages(capture, client.pid).filter((m) => m.direction === 'out');
    const got = messages(capture, srv.pid).filter((m) => m.direction === 'in');
    assert.deepEqual(sent.map(texts), got.map(texts));
    assert.ok([...sent, ...got].every((m) => m.endpoint === `ipc://${path}`));
  });

  it('a Node program with zeromq v6 (NODE_OPTIONS --require): sockets, multipart messages, a receive that timed out', async () => {
    const plain = await run(process.execPath, [fixture('node_pushpull.js')]);
    const observed = await run(process.execPath, [fixture('node_pushpull.js')], env);
    assert.equal(observed.stdout, plain.stdout);
    assert.equal(observed.code, 0);
    assert.equal(observed.stderr, '');
    await exited(capture, observed.pid);
    const pid = observed.pid;
    assert.deepEqual(opens(capture, pid).map((s) => s.socketType), ['PUSH', 'PULL', 'SUB', 'PULL']);
    const bind = sockets(capture, pid).find((r) => r.op === 'bind')!;
    assert.equal(bind.requested, 'tcp://127.0.0.1:*');
    assert.match(bind.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    const m = messages(capture, pid);
    assert.deepEqual(m.filter((x) => x.direction === 'out').map(texts), [['task', '0'], ['task', '1'], ['task', '2']]);
    assert.deepEqual(m.filter((x) => x.direction === 'in').map(texts), [['task', '0'], ['task', '1'], ['task', '2']]);
    assert.equal(Buffer.from(sockets(capture, pid).find((r) => r.op === 'subscribe')!.topic!).toString(), 'weather');
    const timeout = all(capture).find((r): r is CapturedEvent => r.kind === 'event' && r.type === 'recv:error')!;
    assert.equal(timeout.code, 'EAGAIN');
    assert.equal(processes(capture).find((p) => p.pid === pid)!.process, 'node_pushpull.js');
  });

  it('zmq.asyncio sockets: the same sockets and multipart messages, whatever the event loop does inside', async () => {
    const plain = await run(PYTHON, [fixture('asyncio_pushpull.py')]);
    const observed = await run(PYTHON, [fixture('asyncio_pushpull.py')], env);
    assert.equal(observed.stdout, plain.stdout);
    assert.equal(observed.stderr, '');
    await exited(capture, observed.pid);
    const pid = observed.pid;
    // the asyncio socket and its shadow are one socket
    assert.deepEqual(opens(capture, pid).map((s) => s.socketType), ['PULL', 'PUSH']);
    const m = messages(capture, pid);
    const want = [['async', '0'], ['async', '1'], ['async', '2']];
    assert.deepEqual(m.filter((x) => x.direction === 'out').map(texts), want);
    assert.deepEqual(m.filter((x) => x.direction === 'in').map(texts), want);
  });

  it('a Node program sending as fast as it can: it ends as without the agent, every report captured or counted dropped', async () => {
    const r = await run(process.execPath, [fixture('node_flood.js')], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^100000 in \d+ ms\n$/);
    await exited(capture, r.pid);
    const st = collector.stats();
    assert.equal(st.messages + st.agentDropped, 200000);
    assert.ok(st.messages >= 1000);
  });

  it("tornado's ZMQStream and a zmq.devices ThreadDevice: their sockets; the messages the program itself sends and receives", async () => {
    const plain = await run(PYTHON, [fixture('zmqstream_devices.py')]);
    const observed = await run(PYTHON, [fixture('zmqstream_devices.py')], env);
    assert.equal(observed.stdout, plain.stdout);
    assert.equal(observed.stderr, '');
    await exited(capture, observed.pid);
    const pid = observed.pid;
    // the device makes its sockets in a thread of its own: any order
    assert.deepEqual(opens(capture, pid).map((s) => s.socketType).sort(), ['DEALER', 'REP', 'REQ', 'ROUTER']);
    const m = messages(capture, pid);
    // the REP behind the ZMQStream and the REQ; and what the device moves, in on one side and out of the other
    assert.deepEqual(m.filter((x) => x.socketType === 'REP' && x.direction === 'out').map(texts), [['echo', 'hello'], ['echo', 'hello']]);
    assert.deepEqual(m.filter((x) => x.socketType === 'REQ' && x.direction === 'in').map(texts), [['echo', 'hello'], ['echo', 'hello']]);
    const moved = m.filter((x) => x.socketType === 'ROUTER' || x.socketType === 'DEALER').map((x) => `${x.socketType} ${x.direction}`);
    for (const way of ['ROUTER in', 'DEALER out', 'DEALER in', 'ROUTER out']) assert.equal(moved.filter((x) => x === way).length, 2, way);
  });

  it('an example from the catalog started with the collector environment: its processes and sockets appear, in both languages', async () => {
    const runner = new ExampleRunner({ stopGraceMs: 1000 });
    try {
      for (const language of ['python', 'node'] as const) {
        const started = await runner.start('pair', { language, intervalMs: 20, env: collector.environment(process.env) });
        const pids = started.processes.map((p) => p.pid!);
        await until(() => pids.every((pid) => messages(capture, pid).length >= 2), `${language} pair messages`, 15000);
        for (const pid of pids) assert.deepEqual(opens(capture, pid).map((s) => s.socketType), ['PAIR']);
        await runner.stop(started.id);
      }
    } finally {
      await runner.dispose();
    }
  });

  it('chains to the sitecustomize it hides', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zmq-agent-site-'));
    tmp.push(dir);
    writeFileSync(join(dir, 'sitecustomize.py'), 'import builtins\nbuiltins.CHAINED = "yes"\n');
    const r = await run(PYTHON, ['-c', 'print(CHAINED)'], { ...env, PYTHONPATH: `${env.PYTHONPATH}:${dir}` });
    assert.equal(r.stdout, 'yes\n');
    assert.equal(r.stderr, '');
  });

  it('a program that forks: the child is a process of its own, with its own sockets', async () => {
    const plain = await run(PYTHON, ['-u', fixture('forks.py')]);
    const observed = await run(PYTHON, ['-u', fixture('forks.py')], env);
    assert.equal(observed.stdout, plain.stdout);
    assert.equal(observed.code, 0);
    await exited(capture, observed.pid);
    await until(() => processes(capture).filter((p) => p.state === 'exited').length === 2, 'both processes to exit');
    const child = processes(capture).find((p) => p.state === 'started' && p.pid !== observed.pid)!;
    assert.equal(child.ppid, observed.pid);
    assert.deepEqual(opens(capture, child.pid!).map((s) => s.socketType), ['PUSH', 'PULL']);
    assert.deepEqual(messages(capture, child.pid!).map(texts), [['from the child'], ['from the child']]);
    assert.deepEqual(opens(capture, observed.pid).map((s) => s.socketType), ['PAIR']);
  });

  it('a program that exits at once: its socket, bind and last message still arrive; its exit code is kept', async () => {
    const r = await run(PYTHON, [fixture('exits_at_once.py')], env);
    assert.equal(r.code, 3);
    assert.equal(r.stdout + r.stderr, '');
    await exited(capture, r.pid);
    assert.deepEqual(messages(capture, r.pid).map(texts), [['last words']]);
    assert.match(sockets(capture, r.pid).find((s) => s.op === 'bind')!.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  });

  it('no collector listening: the program runs as without the agent, silently', async () => {
    const port = await freePort();
    const dead = { ...env, ZMQ_DEBUG_COLLECTOR: `127.0.0.1:${port}` };
    for (const [cmd, file] of [
      [PYTHON, 'inproc_threads.py'],
      [process.execPath, 'node_pushpull.js'],
    ]) {
      const plain = await run(cmd, [fixture(file)]);
      const observed = await run(cmd, [fixture(file)], dead);
      assert.equal(observed.stdout, plain.stdout, file);
      assert.equal(observed.stderr, '', file);
      assert.equal(observed.code, plain.code, file);
    }
  });

  it('the collector stopped mid-run: the program goes on unharmed', async () => {
    const r = start(PYTHON, [fixture('flood.py'), 300000, 16], env);
    await until(() => collector.stats().messages > 1000, 'messages to arrive');
    await collector.stop();
    const res = await r.done;
    assert.equal(res.code, 0);
    assert.equal(res.stdout, '300000 messages\n');
    assert.match(res.stderr, /^RATE [\d.]+\n$/);
  });

  it('1,000,000 messages as fast as possible: the program ends, every report is captured or counted as dropped', async function () {
    this.timeout(120000);
    const n = 1_000_000;
    const r = await run(PYTHON, [fixture('flood.py'), n, 16], env, 110000);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${n} messages\n`);
    await exited(capture, r.pid, 20000);
    const st = collector.stats();
    // a send and a receive per message: each one is in the capture or in the drop count
    assert.equal(st.messages + st.agentDropped, 2 * n);
    assert.ok(st.messages > 0);
    assert.equal(capture.stats().dropped, st.agentDropped);
    assert.equal(st.malformed, 0);
  });
});

describe('collector: untrusted input', function () {
  this.timeout(20000);
  let capture: Capture;
  let collector: Collector;
  beforeEach(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture, maxFrameBytes: 1 << 20, helloTimeoutMs: 300 });
  });
  afterEach(async () => {
    await collector.stop();
    collector.dispose();
  });

  const json = (o: unknown) => {
    const body = Buffer.from('J' + JSON.stringify(o));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    return Buffer.concat([head, body]);
  };

  /** Connects, writes `data`, resolves when the collector closed the connection (or after `waitMs`). */
  async function send(data: Buffer[], waitMs = 2000): Promise<boolean> {
    const { connect } = await import('node:net');
    const [host, port] = collector.address.split(':');
    return new Promise<boolean>((resolve) => {
      const s = connect(Number(port), host, () => {
        for (const d of data) s.write(d);
      });
      const t = setTimeout(() => {
        s.destroy();
        resolve(false);
      }, waitMs);
      s.on('error', () => undefined);
      s.on('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  const hello = (token: string) => json({ type: 'hello', token, agent: 'test', pid: 42 });
  const token = () => collector.environment({}).ZMQ_DEBUG_TOKEN;

  it('rejects a wrong token, a missing hello and a silent peer; records nothing', async () => {
    assert.equal(await send([hello('0'.repeat(48))]), true);
    assert.equal(await send([json({ type: 'process', pid: 1 })]), true);
    assert.equal(await send([]), true); // closed after helloTimeoutMs
    assert.equal(collector.stats().rejected, 3);
    assert.equal(collector.stats().agents, 0);
    assert.equal(capture.stats().total, 0);
    assert.equal(collector.model.processes().length, 0);
  });

  it('counts malformed reports and skips them; closes on a bad frame or an oversized one; keeps serving', async () => {
    const badM = Buffer.from([0, 0, 0, 5, 0x4d, 9, 9, 9, 9]);
    const badJson = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('J{x')]);
    // reports that cannot be read are skipped, the connection stays
    assert.equal(await send([hello(token()), badJson, json({ type: 'socket', socket: 'x' }), json({ type: 'nope' })], 300), false);
    assert.equal(collector.stats().malformed, 3);
    assert.equal(await send([hello(token()), badM]), true);
    assert.equal(collector.stats().malformed, 4);
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE((1 << 20) + 1);
    assert.equal(await send([hello(token()), huge]), true);
    assert.equal(collector.stats().oversized, 1);
    assert.equal(await send([Buffer.from([0, 0, 0, 0])]), true);
    // and a good agent still gets through
    assert.equal(
      await send([hello(token()), json({ type: 'process', pid: 7, name: 'ok.py', argv: ['python3', 'ok.py'], cwd: '/' }), json({ type: 'socket', op: 'open', socket: 1, socketType: 'PUB' })], 300),
      false,
    );
    await until(() => processes(capture).some((p) => p.process === 'ok.py'), 'the good agent');
    assert.equal(sockets(capture)[0].socketType, 'PUB');
    assert.equal(collector.stats().agents, 4);
  });

  it('survives random bytes after a good hello, and random bytes as a hello: no throw, still serving', async () => {
    const { randomBytes } = await import('node:crypto');
    let seed = 1;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 40; i++) {
      const junk = randomBytes(Math.floor(rnd() * 4000));
      // a plausible length now and then, so that the frame parsers see bodies
      if (junk.length > 8 && rnd() < 0.5) {
        junk.writeUInt32BE(junk.length - 4, 0);
        junk[4] = rnd() < 0.5 ? 0x4d : 0x4a;
      }
      await send(i % 2 ? [hello(token()), junk] : [junk], 100);
    }
    assert.equal(collector.state === 'listening' || collector.state === 'receiving', true);
    const before = processes(capture).length;
    await send([hello(token()), json({ type: 'process', pid: 9, name: 'after.py' })], 200);
    await until(() => processes(capture).length > before, 'a good agent after the junk');
  });

  it('turns an agent message into a message record with truncated frames marked', async () => {
    const body = Buffer.alloc(18 + 8 + 3 + 8 + 0);
    body[0] = 0x4d;
    body[1] = 0;
    body.writeUInt32BE(1, 2);
    body.writeDoubleBE(1700000000.5, 6);
    body.writeUInt32BE(2, 14);
    body.writeUInt32BE(3, 18);
    body.writeUInt32BE(3, 22);
    body.write('abc', 26);
    body.writeUInt32BE(100000, 29);
    body.writeUInt32BE(0, 33);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    await send([hello(token()), json({ type: 'socket', op: 'open', socket: 1, socketType: 'PUSH' }), head, body], 300);
    await until(() => messages(capture).length === 1, 'the message');
    const [m] = messages(capture);
    assert.deepEqual(texts(m as CaptureRecord), ['abc', '']);
    assert.deepEqual(m.truncated, { 1: 100000 });
    assert.equal(m.ts, 1700000000500);
    assert.equal(m.socketType, 'PUSH');
    assert.equal(m.socket, '42.1');
  });
});

describe('agent inside a real Jupyter kernel (ipykernel, driven by jupyter_client)', function () {
  this.timeout(90000);
  let capture: Capture;
  let collector: Collector;
  let dir: string;
  before(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture });
    dir = mkdtempSync(join(tmpdir(), 'zmq-agent-kernel-'));
  });
  after(async () => {
    await killAllRuns();
    await collector.stop();
    collector.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows its five channels with their types, an execute_request, its execute_reply and the IOPub stream', async () => {
    const conn = join(dir, 'kernel.json');
    const write = await run(PYTHON, [
      '-c',
      'import sys, json; from jupyter_client.connect import write_connection_file as w; f, c = w(sys.argv[1], ip="127.0.0.1", key=b"test-key"); print(json.dumps(c))',
      conn,
    ]);
    assert.equal(write.code, 0, write.stderr);
    const info = JSON.parse(write.stdout) as Record<string, number>;
    // the kernel keeps its IPython state under HOME: a throwaway one
    const kernel = start(PYTHON, ['-m', 'ipykernel_launcher', '-f', conn], { ...collector.environment({}), HOME: dir, IPYTHONDIR: join(dir, 'ipython') }, 80000);
    // the client gives a kernel 1 s of missed heartbeats before it calls it dead: start it once the
    // kernel says it is up (its heartbeat runs then), not while a loaded machine still imports IPython
    const up = Date.now() + 60000;
    while (!/To connect another client to this kernel/.test(kernel.stdout()) && kernel.proc.exitCode === null && Date.now() < up) await new Promise((r) => setTimeout(r, 100));
    const driver = await run(PYTHON, [fixture('jupyter_driver.py'), conn], { HOME: dir }, 80000);
    assert.equal(driver.code, 0, driver.stderr);
    assert.equal(driver.stdout, 'reply ok\nstream hello from the kernel\n');
    const k = await kernel.done;
    assert.equal(k.code, 0, k.stderr);
    await exited(capture, k.pid, 10000);
    const pid = k.pid;
    const byPort = new Map<number, string>();
    const socketOf = new Map<number, string>();
    for (const b of sockets(capture, pid).filter((r) => r.op === 'bind')) {
      const port = Number(/:(\d+)$/.exec(b.endpoint)?.[1]);
      byPort.set(port, b.socketType!);
      socketOf.set(port, b.socket!);
    }
    assert.equal(byPort.get(info.shell_port), 'ROUTER');
    assert.equal(byPort.get(info.control_port), 'ROUTER');
    assert.equal(byPort.get(info.stdin_port), 'ROUTER');
    assert.match(byPort.get(info.iopub_port)!, /^X?PUB$/);
    assert.match(byPort.get(info.hb_port)!, /^(REP|ROUTER)$/);
    const has = (m: CapturedMessage, s: string) => texts(m).some((f) => f.includes(s));
    const shell = messages(capture, pid).filter((m) => m.socket === socketOf.get(info.shell_port));
    assert.ok(shell.some((m) => m.direction === 'in' && has(m, '"execute_request"') && has(m, "print('hello from the kernel')")), 'execute_request in');
    assert.ok(shell.some((m) => m.direction === 'out' && has(m, '"execute_reply"')), 'execute_reply out');
    assert.ok(
      messages(capture, pid).some((m) => m.direction === 'out' && m.socketType?.endsWith('PUB') && has(m, '"stream"') && has(m, 'hello from the kernel')),
      'IOPub stream out',
    );
  });
});
