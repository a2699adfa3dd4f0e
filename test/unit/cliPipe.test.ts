/**
 * zmq-debug as a pipe citizen (issue 15), against a real pyzmq PUB flooding 1 KiB
 * messages: `| head` ends it quietly with exit 0, a reader that stops reading
 * does not grow its memory past the capture's bound (the drops are reported on
 * stderr), and signals end it cleanly. Runs dist/cli.js (built before mocha).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, isAlive, killAllPython, until } from './helpers/peers';
import { runPythonFile } from './helpers/pythonFiles';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
/** The capture's default byte limit (src/core/capture/capture.ts DEFAULT_LIMITS). */
const CAPTURE_MAX_BYTES = 256 * 1024 * 1024;

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs a shell pipeline with pipefail, so its status is zmq-debug's own. */
function pipeline(command: string, timeoutMs = 20000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', ['-o', 'pipefail', '-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      process.kill(-p.pid!, 'SIGKILL');
      reject(new Error(`'${command}' did not end in ${timeoutMs} ms; stderr=${stderr}`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function floodingPublisher(): Promise<string> {
  const port = await freePort();
  const pub = runPythonFile('flood_pub.py', [port]);
  await pub.waitFor('bound');
  return `tcp://127.0.0.1:${port}`;
}

describe('zmq-debug in a pipe, against a real pyzmq publisher at full speed', function () {
  this.timeout(60000);
  afterEach(killAllPython);

  it('spy --json | head -5: exit 0, exactly 5 lines, no stack trace', async () => {
    const endpoint = await floodingPublisher();
    const r = await pipeline(`node ${CLI} spy ${endpoint} --json | head -5`);
    assert.equal(r.code, 0, `zmq-debug's exit status; stderr=${r.stderr}`);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 5);
    for (const l of lines) assert.match(JSON.parse(l).kind, /^(message|event)$/);
    assert.doesNotMatch(r.stderr, /EPIPE|Error|\n\s+at /);
  });

  it('spy (human lines) | head -3 as well', async () => {
    const endpoint = await floodingPublisher();
    const r = await pipeline(`node ${CLI} spy ${endpoint} | head -3`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').filter(Boolean).length, 3);
    assert.doesNotMatch(r.stderr, /EPIPE|Error|\n\s+at /);
  });

  it('a reader that does not read for 20 s: RSS stays under 2× the capture byte limit + 100 MB, drops reported, SIGTERM ends it with 0', async () => {
    const endpoint = await floodingPublisher();
    const p = spawn(process.execPath, [CLI, 'spy', endpoint, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stderr = '';
      p.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
      // never read stdout: the pipe fills and stays full
      p.stdout.pause();
      const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
      let maxRss = 0;
      const end = Date.now() + 20_000;
      while (Date.now() < end) {
        await new Promise((r) => setTimeout(r, 250));
        maxRss = Math.max(maxRss, rssBytes(p.pid!));
      }
      const bound = 2 * CAPTURE_MAX_BYTES + 100 * 1024 * 1024;
      assert.ok(maxRss > 0, 'RSS was read');
      assert.ok(maxRss < bound, `RSS peaked at ${Math.round(maxRss / 2 ** 20)} MB (bound ${Math.round(bound / 2 ** 20)} MB)`);
      assert.match(stderr, /\d+ record\(s\) were evicted from the capture before they could be printed/);
      p.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
      assert.equal(code, 0, `exit after SIGTERM; stderr tail=${stderr.slice(-500)}`);
      assert.doesNotMatch(stderr, /Error|\n\s+at /);
    } finally {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      p.stdout.destroy();
    }
  });

  it('a reader that reads in fits: every record printed once and in order, each gap counted as evicted on stderr', async () => {
    const endpoint = await floodingPublisher();
    const p = spawn(process.execPath, [CLI, 'spy', endpoint, '--json', '--count', '30000', '--max-messages', '2000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    p.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
    let text = '';
    let got = 0;
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      got += d.length;
      // read about 1 MB, then stop reading for 200 ms
      if (got > 1 << 20) {
        got = 0;
        p.stdout.pause();
        setTimeout(() => p.stdout.resume(), 200);
      }
    });
    // the process may exit while this reader is paused with lines still in the pipe: read to the end
    const ended = new Promise((resolve) => p.stdout.on('end', resolve));
    assert.equal(await exited, 0, stderr);
    await ended;
    const seqs = text.split('\n').filter(Boolean).map((l) => JSON.parse(l).seq as number);
    let gaps = 0;
    for (let i = 1; i < seqs.length; i++) {
      assert.ok(seqs[i] > seqs[i - 1], `seq ${seqs[i]} after ${seqs[i - 1]}: printed twice or out of order`);
      gaps += seqs[i] - seqs[i - 1] - 1;
    }
    const reported = [...stderr.matchAll(/(\d+) record\(s\) were evicted from the capture before they could be printed/g)].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(reported, gaps + seqs[0] - 1, `stderr counts every record not printed: ${stderr}`);
  });

  it('SIGINT while printing to a live reader: exit 0, the sockets closed (the publisher sees the disconnect)', async () => {
    const port = await freePort();
    const pub = runPythonFile('pub_server.py', [port, 'topics']);
    await pub.waitFor('bound');
    const p = spawn(process.execPath, [CLI, 'spy', `tcp://127.0.0.1:${port}`, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
    await until(() => stdout.split('\n').length > 3, 'records printed');
    p.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    assert.ok(!isAlive(p.pid!));
    await pub.waitFor('event EVENT_DISCONNECTED');
    assert.doesNotMatch(stderr, /Error|\n\s+at /);
    // every line printed is whole
    for (const l of stdout.split('\n').filter(Boolean)) JSON.parse(l);
  });
});
