/**
 * The Python agent never harms the program it watches: a program behaves the same with
 * and without `zmq-debug run` (same output, same exit code, no hang), whatever the GC,
 * signal handlers, the number of sockets or the death of the tool do meanwhile.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAllRuns, run } from '../unit/helpers/agentRun';
import { CLI } from '../unit/helpers/cli';
import { PYTHON } from '../unit/helpers/peers';

const PROGRAMS = join(__dirname, 'programs');
const program = (name: string) => join(PROGRAMS, name);

/** Runs a program plainly and under `zmq-debug run`, each with a time limit. */
async function plainAndObserved(name: string, args: string[] = [], limitMs = 30000) {
  const plain = await run(PYTHON, ['-W', 'ignore', program(name), ...args], {}, limitMs);
  // --json: the records go to stdout, the program's own output to stderr, never interleaved with them
  const observed = await run(process.execPath, [CLI, 'run', '--json', '--', PYTHON, '-W', 'ignore', program(name), ...args], {}, limitMs);
  return { plain, observed };
}

describe('hostile: the Python agent never harms the program', function () {
  this.timeout(120000);
  afterEach(killAllRuns);

  for (const threshold of ['7', '20']) {
    it(`unclosed sockets in reference cycles, closed by the cyclic GC inside the agent (gen0 threshold ${threshold}): no deadlock`, async () => {
      // before: the GC ran Socket.__del__ -> close() while the agent held its monitor lock: a hang, every run
      const { plain, observed } = await plainAndObserved('gc_cycle_close.py', [threshold], 25000);
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(observed.signal, null, `killed after 25 s: the program hung under the agent\n${observed.stderr.slice(-2000)}`);
      assert.equal(observed.code, 0, observed.stderr.slice(-2000));
      assert.match(observed.stderr, /^done 400$/m);
    });
  }

  it('1,500 sockets opened, bound and closed one after another: the agent gives back every socket it adds', async () => {
    // before: libzmq kept each closed socket's monitor socket: "Too many open files" at about 340
    const { plain, observed } = await plainAndObserved('open_close_many.py');
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(observed.code, 0, observed.stderr.slice(-2000));
    assert.match(observed.stderr, /^done 1500$/m);
  });

  it('a Poller over 200 socket pairs: the agent stays within a share of the sockets and descriptors', async () => {
    // before: two agent sockets per monitored socket took the context past ZMQ_MAX_SOCKETS (1,023)
    const { plain, observed } = await plainAndObserved('poller_200_pairs.py');
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^done 200 /m);
    assert.equal(observed.code, 0, observed.stderr.slice(-2000));
    assert.match(observed.stderr, /^done 200 /m);
  });

  it('a signal handler opening and closing sockets while the main thread does the same', async () => {
    const { plain, observed } = await plainAndObserved('signal_close.py');
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(observed.code, 0, observed.stderr.slice(-2000));
    assert.match(plain.stdout, /^done True True$/m);
    assert.match(observed.stderr, /^done True True$/m);
    assert.doesNotMatch(observed.stderr, /Traceback/);
  });

  it('20 forks while another thread opens and closes monitored sockets and the GC runs often: every child exits as without the agent', async () => {
    const { plain, observed } = await plainAndObserved('fork_storm.py', [], 60000);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^children True /m);
    assert.equal(observed.signal, null, `killed after 60 s\n${observed.stderr.slice(-2000)}`);
    assert.equal(observed.code, 0, observed.stderr.slice(-2000));
    assert.match(observed.stderr, /^children True /m);
  });

  it('10 forks while the reporter makes its first connection, each child importing first: none hangs, each is reported', async () => {
    // before: the reporter's thread imported socket and the idna codec as it connected; a fork then left their
    // import locks held in the child, which hung at its own `import socket` (and its reporter never connected)
    const { plain, observed } = await plainAndObserved('fork_at_first_report.py', [], 30000);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /^received 10 of 10, hung none$/m);
    assert.equal(observed.signal, null, `killed after 30 s\n${observed.stderr.slice(-2000)}`);
    assert.equal(observed.code, 0, observed.stderr.slice(-2000));
    assert.match(observed.stderr, /^received 10 of 10, hung none$/m);
    assert.match(observed.stderr, /^imported by the agent's thread: none$/m);
    const children = observed.stderr.match(/^children ([\d ]+)$/m)![1].split(' ').map(Number);
    const procs = observed.stdout
      .split('\n')
      .filter((l) => l.startsWith('{"kind":"process"'))
      .map((l) => JSON.parse(l) as { pid: number; state: string; process: string });
    for (const pid of children) {
      assert.ok(procs.some((p) => p.pid === pid && p.state === 'started' && p.process === `fork_at_first_report.py ▸ fork ${pid}`), `child ${pid} reported`);
      assert.ok(procs.some((p) => p.pid === pid && p.state === 'exited'), `child ${pid}'s exit reported`);
    }
  });

  it('run --json: when zmq-debug is killed, the program goes on writing its output and exits 0', async () => {
    // before: the program's stdout was a pipe through the tool: it died of BrokenPipeError
    const dir = mkdtempSync(join(tmpdir(), 'zmq-debug-outlive-'));
    try {
      const marker = join(dir, 'finished');
      const tool = spawn(process.execPath, [CLI, 'run', '--json', '--', PYTHON, program('outlives_tool.py'), '2', marker], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let err = '';
      tool.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
      tool.stdout!.resume();
      // kill the tool (not its process group) once the program is printing
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`the program never printed: ${err}`)), 15000);
        tool.stderr!.on('data', () => {
          if (/line 3\n/.test(err)) {
            clearTimeout(t);
            resolve();
          }
        });
      });
      tool.kill('SIGKILL');
      const deadline = Date.now() + 15000;
      let finished = '';
      while (Date.now() < deadline && !finished) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          finished = readFileSync(marker, 'utf8');
        } catch {
          /* not yet */
        }
      }
      assert.match(finished, /^finished \d+/, `the program did not finish after the tool died: ${err.slice(-1000)}`);
      assert.doesNotMatch(err, /BrokenPipeError/);
      // its lines kept coming on the same descriptor after the kill
      const lines = err.match(/^line \d+$/gm) ?? [];
      assert.ok(lines.length >= 30, `only ${lines.length} lines reached the terminal`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
