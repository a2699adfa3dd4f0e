/**
 * The agents report what the program itself saw: envelopes split out of ROUTER
 * and DEALER messages, failures the program received (not a green or async
 * layer's internal retries), messages libzmq's devices move, forked processes
 * named apart, and only the exits that happened. Real pyzmq programs, real sockets.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Capture } from '../../src/core/capture/capture';
import { CapturedEvent, CapturedMessage, CaptureRecord, ProcessRecord } from '../../src/core/capture/records';
import { Collector } from '../../src/core/sessions/collector';
import { socketDetailLines } from '../../src/core/topology/agentTopology';
import { diagnose } from '../../src/core/topology/doctor';
import { TopologyModel } from '../../src/core/topology/topology';
import { killAllRuns, run } from './helpers/agentRun';
import { CLI, runCli } from './helpers/cli';
import { isAlive, PYTHON, until } from './helpers/peers';

const FIXTURES = join(__dirname, 'fixtures', 'agent-truth');
const fixture = (name: string) => join(FIXTURES, name);
const all = (c: Capture): CaptureRecord[] => [...c.records()];
const messages = (c: Capture) => all(c).filter((r): r is CapturedMessage => r.kind === 'message');
const events = (c: Capture) => all(c).filter((r): r is CapturedEvent => r.kind === 'event');
const processes = (c: Capture) => all(c).filter((r): r is ProcessRecord => r.kind === 'process');
const text = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('latin1') : undefined);

async function exited(c: Capture, pid: number, timeoutMs = 10000): Promise<void> {
  await until(() => processes(c).some((p) => p.pid === pid && p.state === 'exited'), `process ${pid} to exit in the capture`, timeoutMs);
}

describe('agents report what the program saw', function () {
  this.timeout(60000);
  let capture: Capture;
  let collector: Collector;
  let env: Record<string, string>;
  beforeEach(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture });
    env = collector.environment({});
  });
  afterEach(async () => {
    await killAllRuns();
    await collector.stop();
    collector.dispose();
    capture.dispose();
  });

  it('splits the envelope of ROUTER and DEALER messages as the tap does: routing id, delimiter, body', async () => {
    const r = await run(PYTHON, ['-u', fixture('router_envelopes.py')], env);
    assert.equal(r.code, 0, r.stderr);
    await exited(capture, r.pid);
    const ms = messages(capture);
    const router = ms.filter((m) => m.socketType === 'ROUTER');
    assert.equal(router.length, 4);
    const fromReq = router.find((m) => m.direction === 'in' && text(m.frames[0]) === 'req-1')!;
    assert.deepEqual([fromReq.envelopeFrames, text(fromReq.identity)], [2, 'req-1'], 'identity and the empty delimiter');
    const fromDealer = router.find((m) => m.direction === 'in' && text(m.frames[0]) === 'dealer-1')!;
    assert.deepEqual([fromDealer.envelopeFrames, text(fromDealer.identity)], [1, 'dealer-1'], 'the routing id alone: no delimiter');
    const toReq = router.find((m) => m.direction === 'out' && text(m.frames[0]) === 'req-1')!;
    assert.deepEqual([toReq.envelopeFrames, text(toReq.identity), toReq.frames.length], [2, 'req-1', 3]);
    // REQ: libzmq hides the envelope; DEALER: this one has none
    for (const m of ms.filter((x) => x.socketType === 'REQ' || x.socketType === 'DEALER')) assert.equal(m.envelopeFrames, undefined, `${m.socketType} ${m.direction}`);
  });
});

describe('forked processes are named by their parent and their role', function () {
  this.timeout(60000);
  let capture: Capture;
  let collector: Collector;
  beforeEach(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture });
  });
  afterEach(async () => {
    await killAllRuns();
    await collector.stop();
    collector.dispose();
    capture.dispose();
  });

  it('a multiprocessing child says what it runs, a bare fork says whose fork it is', async () => {
    const r = await run(PYTHON, ['-u', fixture('forked_roles.py')], collector.environment({}));
    assert.equal(r.code, 0, r.stderr);
    const [, workerPid, forkPid] = r.stdout.match(/children (\d+) (\d+)/)!.map(Number);
    for (const pid of [r.pid, workerPid, forkPid]) await exited(capture, pid);
    const nameOf = (pid: number) => processes(capture).find((p) => p.pid === pid && p.state === 'started')?.process;
    assert.equal(nameOf(r.pid), 'forked_roles.py');
    assert.equal(nameOf(workerPid), `forked_roles.py ▸ fork ${workerPid} (crunch)`);
    assert.equal(nameOf(forkPid), `forked_roles.py ▸ fork ${forkPid}`);
    // the messages carry the names too
    const from = (t: string) => messages(capture).find((m) => m.direction === 'out' && text(m.frames[0]) === t)?.process;
    assert.equal(from('from crunch'), nameOf(workerPid));
  });
});

describe('zmq-debug run follows every observed process to its real exit', function () {
  this.timeout(60000);
  afterEach(async () => {
    await killAllRuns();
  });

  const records = (out: string) => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; pid?: number; state?: string; ts: number });

  it('waits for a process that outlives the command and records its exit when it happens, not 1.5 s after the command', async () => {
    const t0 = Date.now();
    const r = await run(process.execPath, [CLI, 'run', '--json', '--', PYTHON, '-u', fixture('outlives.py'), '4']);
    assert.equal(r.code, 0, r.stderr);
    const helperPid = Number(r.stderr.match(/helper (\d+)/)![1]);
    const endsAt = Number(r.stderr.match(/helper ends at ([\d.]+)/)![1]) * 1000;
    const exits = records(r.stdout).filter((x) => x.kind === 'process' && x.state === 'exited');
    const helperExit = exits.find((x) => x.pid === helperPid);
    assert.ok(helperExit, `the helper's exit is recorded: ${r.stdout.slice(-500)}`);
    assert.ok(helperExit.ts >= endsAt - 50, `recorded at ${helperExit.ts}, after the helper ended at ${endsAt}`);
    assert.ok(Date.now() - t0 >= 4000, 'run waited for it');
    assert.doesNotMatch(r.stderr, /still running/);
  });

  it('gives up after --wait-exits seconds, names who still runs, and makes up no exit for them', async () => {
    // the helper keeps our stderr open: what run printed is read at run's exit, not at the pipe's close
    const cli = runCli(['run', '--json', '--wait-exits', '1', '--', PYTHON, '-u', fixture('outlives.py'), '8']);
    const code = await cli.code;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const r = { code, stdout: cli.out(), stderr: cli.err() };
    assert.equal(r.code, 0, r.stderr);
    const helperPid = Number(r.stderr.match(/helper (\d+)/)![1]);
    try {
      assert.match(r.stderr, new RegExp(`1 observed process\\(es\\) still running .*outlives\\.py \\(pid ${helperPid}\\)`));
      const recs = records(r.stdout);
      assert.ok(recs.some((x) => x.kind === 'process' && x.pid === helperPid && x.state === 'started'));
      assert.equal(recs.filter((x) => x.kind === 'process' && x.pid === helperPid && x.state === 'exited').length, 0, 'no exit was seen: none is recorded');
      assert.ok(isAlive(helperPid), 'it does still run');
    } finally {
      if (isAlive(helperPid)) process.kill(helperPid, 'SIGKILL');
    }
    const bad = await run(process.execPath, [CLI, 'run', '--wait-exits', 'soon', '--', PYTHON, '-c', 'pass']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--wait-exits must be a number of seconds in \[0, /);
  });
});

describe('green and async layers: only the failures the program received', function () {
  this.timeout(60000);
  let capture: Capture;
  let collector: Collector;
  beforeEach(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture });
  });
  afterEach(async () => {
    await killAllRuns();
    await collector.stop();
    collector.dispose();
    capture.dispose();
  });

  const failures = () => events(capture).filter((e) => e.type.endsWith(':error'));
  const waits = (type: string) =>
    events(capture)
      .filter((e) => e.type === 'send:wait' && messages(capture).some((m) => m.socket === e.socket && m.socketType === type))
      .reduce((n, e) => n + (e.count ?? 1), 0);

  it('gevent: no EAGAIN from the green layer’s own retries; sends held at the HWM are waits; the program’s own NOBLOCK failure stays', async () => {
    const r = await run(PYTHON, ['-u', fixture('green_hwm.py')], collector.environment({}));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /consumed 40/);
    await exited(capture, r.pid);
    const f = failures();
    assert.equal(f.length, 1, `one failure, the program's: ${JSON.stringify(f.map((e) => [e.type, e.code, e.count, e.socket]))}`);
    assert.deepEqual([f[0].type, f[0].code, f[0].count], ['recv:error', 'EAGAIN', 1]);
    assert.ok(waits('PUSH') >= 1, 'the PUSH waited at its HWM');
    assert.equal(messages(capture).filter((m) => m.direction === 'in').length, 40, 'every message received, once');
    const push = [...collector.model.sockets()].find((x) => x.socket.type === 'PUSH')!.socket;
    assert.deepEqual(push.failures, []);
    assert.ok((push.sendWaits ?? 0) >= 1);
    // the map's details say it as a wait
    const model = new TopologyModel(capture, undefined, { throttleMs: 10 });
    try {
      const facts = model.snapshot().agents.sockets.find((x) => x.type === 'PUSH')!;
      assert.equal(facts.sendWaits, push.sendWaits);
      assert.deepEqual(facts.failures, []);
      assert.ok(socketDetailLines(facts).includes(`Sends that waited at the high-water mark (then went): ${push.sendWaits}`));
    } finally {
      model.dispose();
    }
  });

  it('asyncio: sends held at the HWM are waits, not refused sends', async () => {
    const r = await run(PYTHON, ['-u', fixture('asyncio_hwm.py')], collector.environment({}));
    assert.equal(r.code, 0, r.stderr);
    await exited(capture, r.pid);
    assert.deepEqual(failures().map((e) => [e.type, e.code]), []);
    assert.ok(waits('PUSH') >= 1, 'the PUSH waited at its HWM');
    assert.equal(messages(capture).filter((m) => m.direction === 'out').length, 30);
  });
});

describe('messages that devices move are seen, each on the socket it came in on and the one it went out of', function () {
  this.timeout(60000);
  let capture: Capture;
  let collector: Collector;
  beforeEach(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture });
  });
  afterEach(async () => {
    await killAllRuns();
    await collector.stop();
    collector.dispose();
    capture.dispose();
  });

  it('zmq.proxy, a ThreadDevice(QUEUE), a ThreadMonitoredQueue and monitored_queue called directly: in on the frontend, out of the backend, the replies back', async () => {
    const r = await run(PYTHON, ['-u', fixture('devices.py')], collector.environment({}));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /monitor saw \[b'in', b'out'\]/);
    await exited(capture, r.pid);
    const ms = messages(capture);
    const on = (type: string, dir: 'in' | 'out', body: string) => ms.filter((m) => m.socketType === type && m.direction === dir && text(m.frames[m.frames.length - 1]) === body);
    // the proxy: every tick the PUB sent came in on the XSUB and went out of the XPUB
    // (the PUB's first ticks are dropped until the XSUB's subscription reaches it: slow joiner)
    const ticksOut = ms.filter((m) => m.socketType === 'PUB' && m.direction === 'out' && m.frames.length === 1).length;
    const ticksIn = on('SUB', 'in', 'tick').length;
    assert.equal(ticksIn, 3);
    assert.ok(on('XSUB', 'in', 'tick').length >= ticksIn && on('XSUB', 'in', 'tick').length <= ticksOut, 'the ticks in on the XSUB');
    assert.equal(on('XPUB', 'out', 'tick').length, on('XSUB', 'in', 'tick').length, 'each out of the XPUB');
    // the subscription went the other way: in on the XPUB, out of the XSUB
    assert.ok(ms.some((m) => m.socketType === 'XPUB' && m.direction === 'in' && m.frames[0][0] === 1));
    for (const name of ['queue', 'monitored', 'direct']) {
      const reqIn = on('ROUTER', 'in', `ping ${name}`);
      const reqOut = on('DEALER', 'out', `ping ${name}`);
      assert.equal(reqIn.length, 1, `${name}: the request in on the ROUTER`);
      assert.equal(reqOut.length, 1, `${name}: and out of the DEALER`);
      assert.equal(reqIn[0].envelopeFrames, 2, 'with its envelope');
      assert.equal(on('DEALER', 'in', `ping ${name} pong`).length, 1, `${name}: the reply in on the DEALER`);
      assert.equal(on('ROUTER', 'out', `ping ${name} pong`).length, 1, `${name}: and out of the ROUTER`);
    }
    // the monitored queue's PUB sent both, prefixed
    const monOut = ms.filter((m) => m.socketType === 'PUB' && m.direction === 'out' && m.frames.length > 1).map((m) => text(m.frames[0]));
    assert.deepEqual(monOut, ['in', 'out', 'in', 'out'], 'both monitored queues');
  });
});

describe('the doctor and paths the agents cannot see', function () {
  this.timeout(60000);
  let capture: Capture;
  let collector: Collector;
  let model: TopologyModel;
  beforeEach(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture });
    model = new TopologyModel(capture, undefined, { throttleMs: 10 });
  });
  afterEach(async () => {
    await killAllRuns();
    model.dispose();
    await collector.stop();
    collector.dispose();
    capture.dispose();
  });

  it('zmq.proxy_steerable keeps libzmq’s loop: its sockets are marked unseen and the doctor says so, reporting no loss through them', async () => {
    const r = await run(PYTHON, ['-u', fixture('steerable.py')], collector.environment({}));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sub got 3/);
    await until(() => model.snapshot().agents.processes.some((p) => p.pid === r.pid && p.state === 'exited'), 'the program to exit', 10000);
    const s = model.snapshot();
    const unseen = s.agents.sockets.filter((x) => x.unseenBy).map((x) => `${x.type} ${x.unseenBy}`).sort();
    assert.deepEqual(unseen, ['PAIR zmq.proxy_steerable', 'XPUB zmq.proxy_steerable', 'XSUB zmq.proxy_steerable']);
    const found = diagnose(s, { subscribeGraceMs: 200 });
    const info = found.filter((d) => d.rule === 'unseen-path');
    assert.equal(info.length, 1);
    assert.equal(info[0].severity, 'info');
    assert.match(info[0].message, /^XSUB \S+ in steerable\.py .* are run by zmq\.proxy_steerable, whose loop inside libzmq moves messages where the agent cannot see them/);
    assert.ok(info[0].edgeIds.length >= 2, 'the links through the device');
    assert.deepEqual(found.filter((d) => d.rule === 'slow-joiner' || d.rule === 'sub-near-miss' || d.rule === 'send-dropped'), []);
    // the devices the agent runs itself are seen: no such finding
    const seen = await run(PYTHON, ['-u', fixture('devices.py')], collector.environment({}));
    assert.equal(seen.code, 0, seen.stderr);
    await until(() => model.snapshot().agents.processes.some((p) => p.pid === seen.pid && p.state === 'exited'), 'the program to exit', 10000);
    assert.equal(diagnose(model.snapshot()).filter((d) => d.rule === 'unseen-path' && d.message.includes('devices.py')).length, 0);
    // ZMQ_DEBUG_AGENT_DEVICES=native: libzmq's loops, each device said to be unseen
    const native = await run(PYTHON, ['-u', fixture('devices.py')], { ...collector.environment({}), ZMQ_DEBUG_AGENT_DEVICES: 'native' });
    assert.equal(native.code, 0, native.stderr);
    await until(() => model.snapshot().agents.processes.some((p) => p.pid === native.pid && p.state === 'exited'), 'the program to exit', 10000);
    const by = diagnose(model.snapshot())
      .filter((d) => d.rule === 'unseen-path' && d.message.includes(`(pid ${native.pid}`))
      .map((d) => /run by (\S+),/.exec(d.message)![1])
      .sort();
    assert.deepEqual(by, ['zmq.device', 'zmq.devices.monitored_queue', 'zmq.proxy']);
    assert.equal(messages(capture).filter((m) => m.pid === native.pid && m.socketType === 'XSUB').length, 0, 'nothing seen through the native proxy');
  });
});
