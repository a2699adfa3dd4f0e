/**
 * `zmq-debug examples` from the built CLI (dist/cli.js): list, run with our
 * spies and taps wired in, exit codes, and no example process left behind
 * after --seconds or Ctrl-C.
 */
import { strict as assert } from 'node:assert';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isAlive, until } from './helpers/peers';

const exec = promisify(execFile);
const cli = join(__dirname, '..', '..', 'dist', 'cli.js');

/** The example pids the CLI announces on stderr (`pids worker 1=123 ...`). */
function announcedPids(stderr: string): number[] {
  const line = /pids (.*)/.exec(stderr)?.[1] ?? '';
  return [...line.matchAll(/=(\d+)/g)].map((m) => Number(m[1]));
}

describe('zmq-debug examples', () => {
  let child: ChildProcess | undefined;

  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  it('list names the 12 seed examples (and --json gives them as data)', async () => {
    const { stdout } = await exec(process.execPath, [cli, 'examples', 'list']);
    for (const id of ['push-pull', 'round-robin', 'req-rep', 'retry-client', 'pub-sub', 'pair', 'pipeline', 'queue-device', 'forwarder-device', 'streamer-device', 'monitored-queue', 'poller']) {
      assert.match(stdout, new RegExp(`^${id} `, 'm'));
    }
    const json = JSON.parse((await exec(process.execPath, [cli, 'examples', 'list', '--json'])).stdout) as { id: string; seed: string }[];
    assert.equal(json.length, 12);
    assert.ok(json.every((e) => e.seed.length > 0));
  });

  it('exits 2 with a clear message on bad arguments', async () => {
    for (const [args, message] of [
      [['examples'], /say list or run/],
      [['examples', 'walk'], /unknown action 'walk'/],
      [['examples', 'run'], /give one example name/],
      [['examples', 'run', 'nope'], /unknown example 'nope'; known: push-pull/],
      [['examples', 'run', 'pair', '--seconds', 'soon'], /--seconds must be a number/],
      [['examples', 'run', 'pair', '--bogus'], /unknown option --bogus/],
    ] as const) {
      await assert.rejects(exec(process.execPath, [cli, ...args]), (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 2, args.join(' '));
        assert.match(err.stderr, message);
        return true;
      });
    }
  });

  it('run --observe: round robin through our tap, output per role, nothing left after --seconds', async function () {
    this.timeout(20000);
    const { stdout, stderr } = await exec(process.execPath, [cli, 'examples', 'run', 'round-robin', '--seconds', '2', '--interval', '100', '--observe']);
    assert.match(stdout, /^worker 1\s+\| worker 1 received \d+$/m);
    assert.match(stdout, /^worker 2\s+\| worker 2 received \d+$/m);
    assert.match(stdout, /^observed\s+\| .* tap1 tcp:\/\/127\.0\.0\.1:\d+ #\d+ ← fromTarget PUSH→PULL 1f \| \d+ , /m);
    assert.match(stderr, /tap\s+tcp:\/\/127\.0\.0\.1:\d+ .* listen on tcp:\/\/127\.0\.0\.1:\d+/);
    const pids = announcedPids(stderr);
    assert.equal(pids.length, 3);
    assert.deepEqual(pids.filter(isAlive), []);
  });

  it('run --python --observe: pub/sub seen by our spies', async function () {
    this.timeout(20000);
    const { stdout, stderr } = await exec(process.execPath, [cli, 'examples', 'run', 'pub-sub', '--python', '--seconds', '2', '--interval', '50', '--observe']);
    assert.match(stderr, /using .*python.* \(pyzmq \d/);
    assert.match(stdout, /^observed\s+\| .* spy\d tcp:\/\/127\.0\.0\.1:\d+ ← in SUB 1f \| \d+ -?\d+ pub1$/m);
    assert.match(stdout, /^observed\s+\| .* spy\d tcp:\/\/127\.0\.0\.1:\d+ ← in SUB 1f \| \d+ -?\d+ pub2$/m);
    assert.deepEqual(announcedPids(stderr).filter(isAlive), []);
  });

  it('Ctrl-C stops every example process and exits 0', async function () {
    this.timeout(20000);
    child = spawn(process.execPath, [cli, 'examples', 'run', 'pair', '--interval', '100'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    await until(() => /client received: Server message/.test(stdout), 'the pair to talk');
    const pids = announcedPids(stderr);
    assert.equal(pids.length, 2);
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.deepEqual(pids.filter(isAlive), []);
    assert.match(stdout, /\(stopped \(code 0\)\)/);
  });
});
