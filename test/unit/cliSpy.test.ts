import { strict as assert } from 'node:assert';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseJsonLines, recordFromJson, recordToLine } from '../../src/core/capture/exportFormat';
import { CapturedMessage } from '../../src/core/capture/records';
import { freePort, killAllPython } from './helpers/peers';
import { runPythonFile } from './helpers/pythonFiles';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

/** Runs dist/cli.js to completion (bounded by timeoutMs); the build runs in test:unit before mocha. */
function cli(args: string[], timeoutMs = 15000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p: ChildProcess = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.setEncoding('utf8').on('data', (d) => (stdout += d));
    p.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`zmq-debug ${args.join(' ')} did not end in ${timeoutMs} ms; stderr=${stderr}`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('zmq-debug spy / monitor against real pyzmq peers', function () {
  this.timeout(30000);
  afterEach(killAllPython);

  it('spy --json --count prints exactly N message records in the export format, then exits 0', async () => {
    const port = await freePort();
    const pub = runPythonFile('pub_server.py', [port, 'topics']);
    await pub.waitFor('bound');
    const r = await cli(['spy', `tcp://127.0.0.1:${port}`, '--topic', '10001', '--topic', '10002', '--count', '5', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const parsed = parseJsonLines(r.stdout);
    assert.deepEqual(parsed.errors, []);
    const msgs = parsed.records.filter((x): x is CapturedMessage => x.kind === 'message');
    assert.equal(msgs.length, 5);
    for (const m of msgs) {
      assert.match(Buffer.from(m.frames[0]).toString(), /^1000[12] -?\d+$/);
      assert.equal(m.source, 'spy');
      assert.equal(m.endpoint, `tcp://127.0.0.1:${port}`);
    }
    assert.ok(r.stdout.split('\n').every((l) => l === '' || l.startsWith('{"kind":')));
  });

  it('spy prints human lines with text frames and hex for binary ones', async () => {
    const port = await freePort();
    runPythonFile('pub_server.py', [port, 'special']);
    const r = await cli(['spy', `tcp://127.0.0.1:${port}`, '--count', '4']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /← in SUB 2f \| bin \| 0x00ff800a0dc328/);
    assert.match(r.stdout, /empty \| \(empty\) \| \(empty\)/);
    assert.match(r.stdout, /big \| 0x000102.*… \(1048576 B\)/);
  });

  it('export → import is byte-exact for binary, empty and 1 MiB frames', async () => {
    const port = await freePort();
    runPythonFile('pub_server.py', [port, 'special']);
    const r = await cli(['spy', `tcp://127.0.0.1:${port}`, '--count', '8', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const msgs = parseJsonLines(r.stdout).records.filter((x): x is CapturedMessage => x.kind === 'message');
    const big = msgs.find((m) => Buffer.from(m.frames[0]).toString() === 'big')!;
    const expected = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < expected.length; i++) expected[i] = i % 256;
    assert.ok(Buffer.from(big.frames[1]).equals(expected));
    const bin = msgs.find((m) => Buffer.from(m.frames[0]).toString() === 'bin')!;
    assert.deepEqual([...bin.frames[1]], [0, 255, 128, 10, 13, 0xc3, 0x28]);
  });

  it('monitor --json decodes the direction and the envelope of a pyzmq MonitoredQueue', async () => {
    const [front, back, mon] = [await freePort(), await freePort(), await freePort()];
    const q = runPythonFile('monitored_queue.py', [front, back, mon, 2]);
    await q.waitFor('ready');
    const r = await cli(['monitor', `tcp://127.0.0.1:${mon}`, '--count', '4', '--json', '--timeout', '10']);
    assert.equal(r.code, 0, r.stderr);
    const msgs = parseJsonLines(r.stdout).records.filter((x): x is CapturedMessage => x.kind === 'message');
    assert.equal(msgs.length, 4);
    assert.deepEqual(msgs.map((m) => m.direction).sort(), ['in', 'in', 'out', 'out']);
    assert.ok(msgs.every((m) => m.envelopeFrames === 2 && m.source === 'monitor'));
  });

  it('spy and monitor --json print each record as the very text of the export format (the fast encoder against the generic writer, byte for byte)', async () => {
    // binary, empty, multi-frame and 1 MiB frames from a spy; identities and envelopes from a monitor
    const port = await freePort();
    runPythonFile('pub_server.py', [port, 'special']);
    const spy = await cli(['spy', `tcp://127.0.0.1:${port}`, '--count', '8', '--json']);
    assert.equal(spy.code, 0, spy.stderr);
    const [front, back, mon] = [await freePort(), await freePort(), await freePort()];
    // the monitor first (it retries until the queue binds): the queue's clients send 1 s after it is ready, a slow CLI start would miss them
    const monitorRun = cli(['monitor', `tcp://127.0.0.1:${mon}`, '--count', '4', '--json', '--timeout', '20'], 25000);
    runPythonFile('monitored_queue.py', [front, back, mon, 2]);
    const monitor = await monitorRun;
    assert.equal(monitor.code, 0, monitor.stderr);
    const lines = (spy.stdout + monitor.stdout).split('\n').filter(Boolean);
    const messages = lines.filter((l) => l.startsWith('{"kind":"message"'));
    assert.equal(messages.length, 12);
    for (const line of lines) {
      const record = recordFromJson(JSON.parse(line));
      assert.ok(record.kind !== 'summary');
      assert.equal(line, recordToLine(record));
    }
  });

  it('--timeout ends a spy on an endpoint where nobody listens, after showing retries', async () => {
    const port = await freePort();
    const r = await cli(['spy', `tcp://127.0.0.1:${port}`, '--timeout', '0.8', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const events = parseJsonLines(r.stdout).records.filter((x) => x.kind === 'event');
    assert.ok(events.some((e) => e.kind === 'event' && e.type === 'connect:retry'), r.stdout);
  });

  it('exits 2 with the precise error on bad arguments', async () => {
    const cases: [string[], RegExp][] = [
      [['spy'], /give at least one endpoint/],
      [['spy', 'tcp://host'], /missing port/],
      [['spy', 'tcp://127.0.0.1:70000'], /port 70000 is out of range/],
      [['spy', 'tcp://127.0.0.1:5556', '--count', 'x'], /--count must be a whole number/],
      [['spy', 'tcp://127.0.0.1:5556', '--topic', 'hex:abc'], /even number of hex digits/],
      [['spy', 'tcp://127.0.0.1:5556', '--bogus'], /unknown option --bogus/],
      [['monitor', 'tcp://127.0.0.1:1', '--in-prefix', 'x', '--out-prefix', 'x'], /must differ/],
      [['monitor'], /exactly one monitor endpoint/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
  });
});
