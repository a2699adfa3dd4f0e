/**
 * Every catalog example, run for a few seconds as real processes (Node with our
 * `zeromq`, and Python with Debian's pyzmq), must show the behaviour its seed
 * document describes: read from the programs' own output and, where the
 * example exposes a PUB, seen through our own spy / monitor spy. After each
 * test every pid the runner started must be gone.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Capture } from '../../src/core/capture/capture';
import { EXAMPLES } from '../../src/core/examples/catalog';
import { ExampleLanguage } from '../../src/core/examples/catalog';
import { allocatePorts, ExampleProcess, ExampleRun, ExampleRunner, findPythonWithZmq } from '../../src/core/examples/exampleRunner';
import { CapturedMessage } from '../../src/core/capture/records';
import { MonitorSpy, PubSpy } from '../../src/core/sessions/spy';
import { ZmtpTap } from '../../src/core/sessions/tap';
import { isAlive, PYTHON, until } from './helpers/peers';

const INTERVAL = 100;

function proc(run: ExampleRun, label: string): ExampleProcess {
  const p = run.processes.find((x) => x.label === label);
  assert.ok(p, `no process '${label}' in ${run.processes.map((x) => x.label).join(', ')}`);
  return p;
}

/** stdout lines of a process. */
function out(p: ExampleProcess): string[] {
  return p.output().filter((l) => l.stream === 'stdout').map((l) => l.text);
}

/** The first capture group of every stdout line matching `re`. */
function grab(p: ExampleProcess, re: RegExp): string[] {
  return out(p).flatMap((t) => {
    const m = re.exec(t);
    return m ? [m[1]] : [];
  });
}

function diagnose(run: ExampleRun): string {
  return run.processes.map((p) => `--- ${p.label} [${p.state}]\n${p.output().slice(-8).map((l) => `${l.stream}: ${l.text}`).join('\n')}`).join('\n');
}

async function waitOutput(run: ExampleRun, what: string, cond: () => boolean, timeoutMs = 8000): Promise<void> {
  try {
    await until(cond, what, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${diagnose(run)}`);
  }
}

/** Captured messages, all or from one kind of source. */
function messages(capture: Capture, source?: CapturedMessage['source']): CapturedMessage[] {
  return capture.since(0).filter((r): r is CapturedMessage => r.kind === 'message' && (source === undefined || r.source === source));
}

const text = (f: Uint8Array) => Buffer.from(f).toString();

describe('examples: catalog', () => {
  it('has the 12 seed systems, each with roles, ports and somewhere to watch', () => {
    assert.equal(EXAMPLES.length, 12);
    assert.equal(new Set(EXAMPLES.map((e) => e.id)).size, 12);
    for (const e of EXAMPLES) {
      assert.match(e.id, /^[a-z]+(-[a-z]+)*$/);
      assert.ok(e.roles.length >= 2, e.id);
      assert.ok(e.observe.length >= 1, e.id);
      for (const o of e.observe) assert.ok(e.ports.includes(o.port), `${e.id}: observe uses undeclared port ${o.port}`);
    }
  });

  it('allocates distinct free ports', async () => {
    const ports = await allocatePorts(8);
    assert.equal(new Set(ports).size, 8);
    for (const p of ports) assert.ok(p > 0 && p < 65536);
  });

  it('finds Debian\'s python3 with pyzmq, and skips candidates that are missing or lack zmq', async () => {
    const found = await findPythonWithZmq(['/nonexistent/python3', '/bin/true', PYTHON]);
    assert.ok(found, 'python3-zmq is installed on this machine');
    assert.equal(found.command, PYTHON);
    assert.match(found.libzmqVersion, /^\d+\.\d+\.\d+$/);
    assert.equal(await findPythonWithZmq(['/nonexistent/python3']), undefined);
  });
});

describe('examples: runner', () => {
  let runner: ExampleRunner;
  let pids: number[] = [];
  let tmp: string | undefined;

  beforeEach(() => {
    runner = new ExampleRunner({ stopGraceMs: 1500 });
    pids = [];
  });

  afterEach(async () => {
    pids.push(...runner.livePids());
    await runner.dispose();
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} still alive after dispose()`);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  it('rejects bad input clearly and leaves nothing running', async () => {
    await assert.rejects(runner.start('no-such-example'), /Unknown example 'no-such-example'.*round-robin/);
    await assert.rejects(runner.start('pair', { language: 'python', python: '/nonexistent/python3' }), /Cannot start \/nonexistent\/python3/);
    await assert.rejects(runner.start('pair', { language: 'cobol' as ExampleLanguage }), /Unknown language/);
    assert.equal(runner.runs.length, 0);
    assert.deepEqual(runner.livePids(), []);
    await assert.rejects(runner.stopProcess('pair#9/server-1'), /No example process/);
  });

  it('tracks role, pid, state and output; stop keeps the process restartable, stop(run) removes the run', async () => {
    const changes: string[] = [];
    runner.onDidChange((e) => changes.push(e.kind === 'process' ? `${e.process.label}:${e.process.state}` : e.kind));
    const seen: string[] = [];
    runner.onDidOutput((e) => seen.push(`${e.process.label}|${e.line.text}`));
    const run = await runner.start('pair', { intervalMs: INTERVAL });
    assert.equal(run.id, 'pair#1');
    assert.deepEqual(run.processes.map((p) => [p.id, p.role, p.instance, p.label]), [
      ['pair#1/server-1', 'server', 1, 'server'],
      ['pair#1/client-1', 'client', 1, 'client'],
    ]);
    const server = proc(run, 'server');
    pids.push(...run.processes.map((p) => p.pid!));
    assert.ok(run.processes.every((p) => p.state === 'running' && p.pid! > 0));
    await waitOutput(run, 'server receiving', () => grab(server, /^server received: (.*)/).length >= 2);
    assert.ok(seen.some((s) => s.startsWith('server|server received')));

    const firstPid = server.pid!;
    await runner.stopProcess(server.id);
    assert.equal(server.state, 'stopped');
    assert.equal(isAlive(firstPid), false);
    assert.ok(changes.includes('server:stopping') && changes.includes('server:stopped'));
    await runner.restartProcess(server.id);
    assert.equal(server.state, 'running');
    assert.notEqual(server.pid, firstPid);
    assert.equal(server.restarts, 1);
    pids.push(server.pid!);
    const before = grab(server, /^server received: (.*)/).length;
    await waitOutput(run, 'restarted server receiving', () => grab(server, /^server received: (.*)/).length > before + 1);

    await runner.stop(run.id);
    assert.equal(runner.runs.length, 0);
    assert.ok(changes.includes('runRemoved'));
    for (const p of run.processes) assert.equal(p.state, 'stopped');
  });

  it('SIGKILLs a process that ignores SIGTERM after the grace period', async () => {
    // A copy of the examples whose push/pull client ignores SIGTERM and stdin's end.
    tmp = mkdtempSync(path.join(tmpdir(), 'zmq-examples-'));
    mkdirSync(path.join(tmp, 'node', 'pushPull'), { recursive: true });
    const stubborn = "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('up'); setInterval(() => {}, 1000);\n";
    writeFileSync(path.join(tmp, 'node', 'pushPull', 'client.js'), stubborn);
    writeFileSync(path.join(tmp, 'node', 'pushPull', 'server.js'), stubborn);
    await runner.dispose();
    runner = new ExampleRunner({ examplesRoot: tmp, stopGraceMs: 300 });
    const run = await runner.start('push-pull');
    const client = proc(run, 'client');
    pids.push(client.pid!, proc(run, 'server').pid!);
    await waitOutput(run, 'stubborn client up', () => out(client).includes('up'));
    const t0 = Date.now();
    await runner.stopProcess(client.id);
    const took = Date.now() - t0;
    assert.equal(client.signal, 'SIGKILL');
    assert.equal(client.state, 'stopped');
    assert.ok(took >= 250 && took < 3000, `stop took ${took} ms`);
    assert.ok(client.output().some((l) => l.stream === 'system' && /SIGKILL/.test(l.text)));
  });

  it('leaves no example process behind when its parent dies without cleaning up', async function () {
    this.timeout(20000);
    // A parent that starts an example, prints the pids and is then SIGKILLed: the
    // children see their stdin end and stop by themselves.
    const script = `
      const { ExampleRunner } = require(${JSON.stringify(path.resolve(__dirname, '../../src/core/examples/exampleRunner.ts'))});
      new ExampleRunner().start('round-robin', { intervalMs: 100 }).then((run) => {
        console.log('PIDS ' + run.processes.map((p) => p.pid).join(','));
      });`;
    const parent = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    parent.stdout!.on('data', (d) => (text += d));
    await until(() => /PIDS [\d,]+\n/.test(text), 'the parent to start the example', 15000);
    const childPids = /PIDS ([\d,]+)/.exec(text)![1].split(',').map(Number);
    pids.push(...childPids);
    assert.equal(childPids.length, 3);
    assert.ok(childPids.every(isAlive));
    parent.kill('SIGKILL');
    await until(() => !childPids.some(isAlive), 'orphaned example processes to exit', 5000);
  });
});

interface Case {
  id: string;
  /** Both languages unless listed. */
  languages?: ExampleLanguage[];
  check(run: ExampleRun, runner: ExampleRunner, capture: Capture): Promise<void>;
  /** Extra checks on what the taps captured (runs with taps only). */
  tapCheck?(run: ExampleRun, capture: Capture): Promise<void>;
}

/** Messages a tap relayed for the bound endpoint `target`, by direction. */
function tapped(capture: Capture, target: string, direction: 'toTarget' | 'fromTarget'): CapturedMessage[] {
  return messages(capture).filter((m) => m.source === 'tap' && m.endpoint === target && m.direction === direction);
}

const CASES: Case[] = [
  {
    id: 'push-pull',
    async check(run) {
      const client = proc(run, 'client');
      const server = proc(run, 'server');
      await waitOutput(run, 'server to finish value 2', () => grab(server, /^value: (\d+)/).length >= 3);
      // Non-blocking: by the time the slow server finished 3 values the client sent well more.
      assert.ok(grab(client, /^sending (\d+)/).length >= 5, diagnose(run));
      assert.deepEqual(grab(server, /^value: (\d+)/).slice(0, 3), ['0', '1', '2']);
    },
  },
  {
    id: 'round-robin',
    async check(run, runner) {
      const w1 = proc(run, 'worker 1');
      const w2 = proc(run, 'worker 2');
      const ventilator = proc(run, 'ventilator');
      const got = (w: ExampleProcess) => grab(w, /^worker \d received (\d+)/).map(Number);
      const sent = () => grab(ventilator, /^sent (\d+)/).map(Number);
      await waitOutput(run, 'both workers to receive', () => got(w1).length >= 2 && got(w2).length >= 2);

      await runner.stopProcess(w1.id);
      const lastBeforeStop = Math.max(...sent());
      await waitOutput(run, 'worker 2 to get 6 more', () => got(w2).filter((x) => x > lastBeforeStop).length >= 6);
      // Everything sent once worker 1 was gone (two messages of slack for the
      // disconnect to travel through the tap and be noticed) went to worker 2.
      const after = sent().filter((x) => x > lastBeforeStop + 2 && x <= lastBeforeStop + 6);
      for (const x of after) assert.ok(got(w2).includes(x), `message ${x} sent after worker 1 stopped did not reach worker 2\n${diagnose(run)}`);
      assert.ok(!got(w1).some((x) => x > lastBeforeStop));

      await runner.restartProcess(w1.id);
      const lastBeforeRestart = Math.max(...sent());
      await waitOutput(
        run,
        'both workers to receive after the restart',
        () => got(w1).filter((x) => x > lastBeforeRestart).length >= 2 && got(w2).filter((x) => x > lastBeforeRestart).length >= 2,
      );
    },
    async tapCheck(run, capture) {
      // The distribution per worker, as the tap sees it: one connection per worker
      // (three with the restarted one), each carrying its share of PUSH → PULL messages.
      const perConnection = new Map<number, number>();
      for (const m of tapped(capture, run.observations[0].endpoint, 'fromTarget')) perConnection.set(m.connection!, (perConnection.get(m.connection!) ?? 0) + 1);
      assert.ok(perConnection.size >= 3, `messages on connections ${JSON.stringify([...perConnection])}`);
      const first = tapped(capture, run.observations[0].endpoint, 'fromTarget')[0];
      assert.equal(first.socketType, 'PUSH');
      assert.equal(first.peerSocketType, 'PULL');
    },
  },
  {
    id: 'req-rep',
    async check(run) {
      const client = proc(run, 'client');
      const replies = () => grab(client, /^received reply \d+ \[ World from (\d+) \]/);
      await waitOutput(run, '6 replies', () => replies().length >= 6);
      const ports = [String(run.ports.server1), String(run.ports.server2)];
      const last = replies().slice(-4);
      assert.ok(last.every((p) => ports.includes(p)), `replies from ${last} but servers on ${ports}`);
      for (let i = 1; i < last.length; i++) assert.notEqual(last[i], last[i - 1], `replies do not alternate: ${last}`);
    },
    async tapCheck(run, capture) {
      // Each tap sits in front of one server and sees only that server's replies.
      for (const [name, o] of [run.observations[0], run.observations[1]].entries()) {
        await until(() => tapped(capture, o.endpoint, 'fromTarget').length >= 2, `replies through tap ${name + 1}`);
        const replies = tapped(capture, o.endpoint, 'fromTarget').map((m) => text(m.frames.at(-1)!));
        assert.ok(replies.every((r) => r === `World from ${o.endpoint.split(':').pop()}`), `tap ${name + 1} saw ${replies}`);
        const request = tapped(capture, o.endpoint, 'toTarget')[0];
        assert.equal(request.socketType, 'REQ');
        assert.equal(request.peerSocketType, 'REP');
        assert.equal(text(request.frames.at(-1)!), 'Hello');
      }
    },
  },
  {
    id: 'retry-client',
    async check(run, runner) {
      const client = proc(run, 'client');
      const server = proc(run, 'server');
      const replies = () => grab(client, /^received reply (\d+)/).length;
      await waitOutput(run, '2 replies', () => replies() >= 2);
      await runner.stopProcess(server.id);
      await waitOutput(run, 'the client to give up and reconnect', () => out(client).includes('closing socket and reconnecting'));
      assert.ok(grab(client, /^no reply within \d+ ms \(retries left (\d+)\)/).includes('0'));
      const before = replies();
      await runner.restartProcess(server.id);
      await waitOutput(run, 'replies after the server restart', () => replies() >= before + 2);
    },
  },
  {
    id: 'pub-sub',
    async check(run, _runner, capture) {
      const spy = new PubSpy({ id: 'spy', endpoints: run.observations.map((o) => o.endpoint), capture });
      try {
        const sub = proc(run, 'subscriber');
        const from = () => grab(sub, /^10001 -?\d+ from (pub\d)/);
        await waitOutput(run, 'topic 10001 from both publishers', () => from().includes('pub1') && from().includes('pub2'), 10000);
        assert.ok(grab(sub, /^(\d+) -?\d+ from/).every((t) => t === '10001'), 'the subscriber got a topic it did not subscribe to');
        // Our spy subscribes to everything: it sees other topics from each publisher, on each endpoint.
        await until(() => new Set(messages(capture, 'spy').map((m) => text(m.frames[0]).split(' ')[0])).size >= 3, 'the spy to see several topics');
        assert.deepEqual(new Set(messages(capture, 'spy').map((m) => m.endpoint)), new Set(run.observations.map((o) => o.endpoint)));
      } finally {
        await spy.stop();
      }
    },
  },
  {
    id: 'pair',
    async check(run) {
      const server = proc(run, 'server');
      const client = proc(run, 'client');
      await waitOutput(run, 'messages both ways', () => grab(server, /^server received: (.*)/).length >= 3 && grab(client, /^client received: (.*)/).length >= 3);
      assert.deepEqual(new Set(grab(server, /^server received: (.*)/)), new Set(['client message to server1', 'client message to server2']));
      assert.deepEqual(new Set(grab(client, /^client received: (.*)/)), new Set(['Server message to client3']));
    },
  },
  {
    id: 'pipeline',
    async check(run) {
      const collector = proc(run, 'collector');
      const results = () => grab(collector, /^result (\d+ from consumer \d+)/);
      await waitOutput(run, 'results from every consumer', () => new Set(results().map((x) => x.split(' ').pop())).size === 3);
      assert.ok(results().every((x) => Number(x.split(' ')[0]) % 2 === 0), 'only even numbers give results');
      await waitOutput(run, 'a totals line', () => grab(collector, /^totals (.*)/).length > 0);
      const totals = JSON.parse(grab(collector, /^totals (.*)/)[0]) as Record<string, number>;
      assert.equal(Object.values(totals).reduce((a, b) => a + b, 0), 10);
    },
  },
  {
    id: 'queue-device',
    async check(run) {
      const servedBy = (label: string) => new Set(grab(proc(run, label), /received reply \d+ \[ World from server (\d) \]/));
      await waitOutput(run, 'each client served by both servers', () => servedBy('client 1').size === 2 && servedBy('client 2').size === 2, 10000);
      assert.ok(grab(proc(run, 'server 1'), /received request: (Hello from \d)/).length > 0);
    },
  },
  {
    id: 'forwarder-device',
    async check(run, _runner, capture) {
      const backend = run.observations.find((o) => o.kind === 'spy')!;
      const spy = new PubSpy({ id: 'spy', endpoints: [backend.endpoint], capture });
      try {
        const sub = proc(run, 'subscriber');
        const servers = () => new Set(grab(sub, /^9 server#(\d)/));
        await waitOutput(run, 'topic 9 from both publishers through the device', () => servers().size === 2, 12000);
        assert.ok(grab(sub, /^(\d+) /).every((t) => t === '9'));
        await until(() => {
          const m = messages(capture, 'spy').map((x) => text(x.frames[0]));
          return new Set(m.map((x) => x.split(' ')[0])).size >= 3 && new Set(m.map((x) => x.split(' ')[1])).size === 2;
        }, 'the spy on the device PUB to see several topics from both publishers');
      } finally {
        await spy.stop();
      }
    },
  },
  {
    id: 'streamer-device',
    async check(run) {
      const got = (label: string) => grab(proc(run, label), /^worker \d received (\d+)/).map(Number);
      await waitOutput(run, 'both workers to get tasks', () => got('worker 1').length >= 3 && got('worker 2').length >= 3);
      const all = [...got('worker 1'), ...got('worker 2')];
      assert.equal(new Set(all).size, all.length, 'a task was delivered twice');
    },
  },
  {
    id: 'monitored-queue',
    async check(run, _runner, capture) {
      const o = run.observations[0];
      assert.equal(o.kind, 'monitor');
      const spy = new MonitorSpy({ id: 'monitor', endpoint: o.endpoint, inPrefix: o.inPrefix, outPrefix: o.outPrefix, capture });
      try {
        await until(() => {
          const m = messages(capture, 'monitor');
          return m.some((x) => x.direction === 'in') && m.some((x) => x.direction === 'out');
        }, 'the monitor spy to see both directions');
        const m = messages(capture, 'monitor');
        const request = m.find((x) => x.direction === 'in')!;
        assert.equal(request.envelopeFrames, 2, 'identity + empty delimiter');
        assert.match(text(request.frames[2]), /^Request #\d+ from client #[12]$/);
        assert.match(text(m.find((x) => x.direction === 'out')!.frames.at(-1)!), /^Response from server #1$/);
        assert.equal(spy.unknownPrefixCount, 0);
        // The example's own monitoring client sees the same.
        await waitOutput(run, 'the monitor role to print', () => out(proc(run, 'monitor')).some((l) => /^Monitoring Client: \[in \| 0x[0-9a-f]+ \| {2}\| Request/.test(l)));
      } finally {
        await spy.stop();
      }
    },
  },
  {
    id: 'poller',
    async check(run, _runner, capture) {
      const spy = new PubSpy({ id: 'spy', endpoints: [run.observations.find((o) => o.kind === 'spy')!.endpoint], capture });
      try {
        const worker = proc(run, 'worker');
        await waitOutput(run, 'the worker to exit on Exit', () => worker.state === 'exited');
        assert.equal(worker.exitCode, 0);
        const commands = grab(worker, /^Received control command: (\w+)/);
        assert.deepEqual(commands, ['Continue', 'Continue', 'Continue', 'Continue', 'Continue', 'Continue', 'Exit']);
        const processed = grab(worker, /^Processing \.\.\. (\d+) /);
        assert.ok(processed.length > 0 && processed.every((t) => t === '9'), `processed ${processed}`);
        assert.equal(proc(run, 'publisher').state, 'running');
        await until(() => new Set(messages(capture, 'spy').map((m) => text(m.frames[0]).split(' ')[0])).size === 2, 'the spy to see topics 8 and 9');
      } finally {
        await spy.stop();
      }
    },
  },
];

// Node programs run the way the editor runs them: connecting roles pointed at
// our taps. Python programs connect directly (the CLI's way), so both wirings
// are covered.
for (const language of ['node', 'python'] as const) {
  const useTaps = language === 'node';
  describe(`examples: ${language} programs${useTaps ? ', through our taps' : ''}`, function () {
    let runner: ExampleRunner;
    let capture: Capture;
    let run: ExampleRun | undefined;
    let taps: ZmtpTap[] = [];

    beforeEach(() => {
      runner = new ExampleRunner({ stopGraceMs: 1500 });
      capture = new Capture();
      run = undefined;
      taps = [];
    });

    afterEach(async () => {
      const pids = [...(run?.processes.map((p) => p.pid!) ?? []), ...runner.livePids()];
      await runner.dispose();
      await Promise.all(taps.map((t) => t.stop()));
      capture.dispose();
      for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} still alive after dispose()`);
    });

    for (const c of CASES) {
      if (c.languages && !c.languages.includes(language)) continue;
      it(`${c.id} behaves as its seed describes`, async function () {
        this.timeout(25000);
        run = await runner.start(c.id, { language, python: language === 'python' ? PYTHON : undefined, intervalMs: INTERVAL, useTaps });
        for (const o of run.observations) {
          if (o.kind !== 'tap') continue;
          assert.equal(o.inPath, useTaps);
          if (!useTaps) continue;
          const tap = new ZmtpTap({ target: o.endpoint, listen: o.listen, id: `tap${taps.length + 1}` }, capture);
          taps.push(tap);
          await tap.listen();
        }
        await c.check(run, runner, capture);
        if (useTaps) {
          for (const o of run.observations.filter((x) => x.kind === 'tap')) {
            await until(() => messages(capture).some((m) => m.source === 'tap' && m.endpoint === o.endpoint), `tap on ${o.label} to relay messages`);
          }
          await c.tapCheck?.(run, capture);
        }
        const crashed = run.processes.filter((p) => p.state === 'crashed');
        assert.deepEqual(crashed.map((p) => p.label), [], diagnose(run));
      });
    }
  });
}
