import { strict as assert } from 'node:assert';
import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import { join } from 'node:path';
import { freePort, killAllPython, runPython, until } from './helpers/peers';

// Runs against the bundle: `node esbuild.mjs` (npm run test:unit does it) first.
const cli = join(__dirname, '..', '..', 'dist', 'cli.js');

interface Run {
  proc: ChildProcess;
  out(): string;
  err(): string;
  code: Promise<number | null>;
}

function runCli(args: string[]): Run {
  const proc = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  return { proc, out: () => out, err: () => err, code };
}

describe('zmq-debug tap', function () {
  this.timeout(30000);
  const runs: Run[] = [];
  const servers: net.Server[] = [];

  afterEach(async () => {
    await killAllPython();
    for (const r of runs.splice(0)) if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
    for (const s of servers.splice(0)) s.close();
  });

  it('relays PUSH→PULL and prints JSON records (greeting, command, connection, message) until --count', async () => {
    const [target, listen] = [await freePort(), await freePort()];
    const pull = runPython(
      `
import zmq, sys
ctx = zmq.Context()
s = ctx.socket(zmq.PULL)
s.bind('tcp://127.0.0.1:' + sys.argv[1])
print('bound')
for i in range(5): print('got', s.recv_multipart())
`,
      [target],
    );
    await pull.waitFor('bound');
    const run = runCli(['tap', '--listen', `127.0.0.1:${listen}`, '--target', `127.0.0.1:${target}`, '--json', '--count', '5', '--timeout', '20']);
    runs.push(run);
    await until(() => run.err().includes('tap listening'), 'the tap to listen');
    const push = runPython(
      `
import zmq, sys, time
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
from zmq.utils.monitor import recv_monitor_message
mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
s.connect('tcp://127.0.0.1:' + sys.argv[1])
recv_monitor_message(mon)  # libzmq drops queued messages of a connection still in its handshake at exit
for i in range(5): s.send_multipart([b'key', bytes([i, 0xff, 0])])
time.sleep(10)
`,
      [listen],
    );
    await pull.waitFor(/(got.*\n.*){5}/).catch((e) => assert.fail(`${e}\ncli: ${run.out()} ${run.err()}\npush: ${push.stderr()}`));
    assert.equal(await run.code, 0, run.err());
    const lines = run
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const kinds = lines.map((l) => l.kind);
    assert.ok(kinds.includes('connection') && kinds.includes('greeting') && kinds.includes('command'), kinds.join());
    const open = lines.find((l) => l.kind === 'connection');
    assert.equal(open.state, 'open');
    assert.equal(open.connection, 1);
    const greeting = lines.find((l) => l.kind === 'greeting');
    assert.deepEqual([greeting.version, greeting.mechanism, greeting.asServer, greeting.connection], ['3.1', 'NULL', false, 1]);
    assert.ok(['toTarget', 'fromTarget'].includes(greeting.direction));
    const ready = lines.filter((l) => l.kind === 'command' && l.name === 'READY');
    assert.deepEqual(ready.map((r) => Buffer.from(r.properties['Socket-Type'], 'base64').toString()).sort(), ['PULL', 'PUSH']);
    const messages = lines.filter((l) => l.kind === 'message');
    assert.equal(messages.length, 5);
    messages.forEach((m, i) => {
      assert.equal(m.source, 'tap');
      assert.equal(m.endpoint, `tcp://127.0.0.1:${target}`);
      assert.equal(m.direction, 'toTarget');
      assert.equal(m.connection, 1);
      assert.equal(m.socketType, 'PUSH');
      assert.equal(m.peerSocketType, 'PULL');
      assert.deepEqual(m.frames, [Buffer.from('key').toString('base64'), Buffer.from([i, 0xff, 0]).toString('base64')]);
    });
  });

  it('prints one human line per record, with the direction and the frames', async () => {
    const [target, listen] = [await freePort(), await freePort()];
    const rep = runPython(
      `
import zmq, sys
ctx = zmq.Context()
s = ctx.socket(zmq.REP)
s.bind('tcp://127.0.0.1:' + sys.argv[1])
print('bound')
s.send(b'world ' + s.recv())
`,
      [target],
    );
    await rep.waitFor('bound');
    const run = runCli(['tap', '--listen', `${listen}`, '--target', `tcp://127.0.0.1:${target}`, '--count', '2']);
    runs.push(run);
    await until(() => run.err().includes('tap listening'), 'the tap to listen');
    runPython(
      `
import zmq, sys
ctx = zmq.Context()
s = ctx.socket(zmq.REQ)
s.connect('tcp://127.0.0.1:' + sys.argv[1])
s.send(b'hello'); print(s.recv())
`,
      [listen],
    );
    assert.equal(await run.code, 0, run.err());
    const out = run.out();
    assert.match(out, /#1 connection open from 127\.0\.0\.1:\d+/);
    assert.match(out, /#1 → greeting ZMTP 3\.1 NULL/);
    assert.match(out, /#1 ← READY Socket-Type=REP/);
    assert.match(out, /#1 → toTarget REQ→REP 2f \| \[env\] \(empty\) \| hello/);
    assert.match(out, /#1 ← fromTarget REP→REQ 2f \| \[env\] \(empty\) \| world hello/);
  });

  it('exits 1 with "port N in use" and 2 on bad arguments', async () => {
    const busy = net.createServer();
    servers.push(busy);
    const port = await freePort();
    await new Promise<void>((r) => busy.listen(port, '127.0.0.1', r));
    const inUse = runCli(['tap', '--listen', `127.0.0.1:${port}`, '--target', '127.0.0.1:5556']);
    runs.push(inUse);
    assert.equal(await inUse.code, 1);
    assert.match(inUse.err(), new RegExp(`zmq-debug tap: port ${port} in use`));
    for (const [args, why] of [
      [['tap'], /--target HOST:PORT/],
      [['tap', '--target', 'nowhere'], /nowhere/],
      [['tap', '--target', '127.0.0.1:5556', '--count', 'x'], /--count must be a whole number/],
      [['tap', '--target', '127.0.0.1:5556', '--bogus'], /unknown option --bogus/],
    ] as [string[], RegExp][]) {
      const r = runCli(args);
      runs.push(r);
      assert.equal(await r.code, 2, args.join(' '));
      assert.match(r.err(), why);
    }
  });

  it('stops after --timeout and closes its port', async () => {
    const listen = await freePort();
    const run = runCli(['tap', '--listen', `127.0.0.1:${listen}`, '--target', '127.0.0.1:9', '--timeout', '0.5', '--json']);
    runs.push(run);
    assert.equal(await run.code, 0, run.err());
    assert.equal(run.out(), '');
    await assert.rejects(
      new Promise((resolve, reject) => net.connect(listen, '127.0.0.1').on('connect', resolve).on('error', reject)),
      { code: 'ECONNREFUSED' },
    );
  });
});
