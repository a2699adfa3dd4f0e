/**
 * The native agent's queue at real rates (issue 27): a ring of wire frames that
 * starts again at its beginning once the reporter has sent it far enough (so
 * that it stays in the caches), and a pump that sends it from C whenever a MiB
 * waits. What leaves is every report put in, byte for byte, in order, each
 * once; a full ring drops and counts the rest. And a program never notices its
 * collector dying: SIGKILLed in the middle of a flood, the program prints and
 * exits as it does without the agent (its frames in the shared ring); nor its
 * collector stopping: the ring fills, the rest is counted dropped.
 */
import { strict as assert } from 'node:assert';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { nativeAgentLibrary } from '../../src/core/sessions/nativeAgent';
import { AGENT_FIXTURES, killAllRuns, run, start } from './helpers/agentRun';
import { PYTHON, until } from './helpers/peers';

const holders: ChildProcess[] = [];

/** A collector in a process of its own (collector_process.ts, killed after the test): the environment for programs, its last status line. */
async function collectorProcess(): Promise<{ holder: ChildProcess; env: Record<string, string>; status: () => string }> {
  const holder = spawn(process.execPath, ['--import', 'tsx', join(AGENT_FIXTURES, 'collector_process.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  holders.push(holder);
  let out = '';
  holder.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  await until(() => out.includes('\n'), 'the collector to start', 30000);
  const env = JSON.parse(out.slice(0, out.indexOf('\n'))) as Record<string, string>;
  return { holder, env, status: () => out.split('\n').slice(-2)[0] };
}

describe('native agent: its queue at real rates', function () {
  this.timeout(120000);
  afterEach(killAllRuns);
  afterEach(() => holders.splice(0).forEach((h) => h.kill('SIGKILL')));

  /** Runs a fixture that drives the native agent's queue itself (no collector listens at the address it is given); its one line of output. */
  async function queueFixture(ctx: Mocha.Context, file: string, extraEnv: Record<string, string> = {}): Promise<string> {
    const lib = nativeAgentLibrary();
    if (!lib) ctx.skip();
    const r = await run(PYTHON, [join(AGENT_FIXTURES, file)], { LD_PRELOAD: lib!, ZMQ_DEBUG_COLLECTOR: '127.0.0.1:9', ZMQ_DEBUG_TOKEN: 'ring-test', ...extraEnv }, 100000);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    return r.stdout;
  }

  it('the ring through its entry points: every frame once, byte for byte, in order, across its restarts and wraps; a full ring counts what it drops', async function () {
    // the fixture drives the queue itself (adopting, as the Python agent does)
    assert.match(await queueFixture(this, 'native_ring.py'), /^ok \d+ frames, [1-9]\d* dropped at the full ring\n$/);
  });

  it('the shared ring full: the queue keeps what did not fit (nothing dropped while it has room), puts it in at the next try, and the collector reads every frame once, in order', async function () {
    // the fixture attaches the ring in the collector's place and reads it only when it chooses
    assert.match(await queueFixture(this, 'native_shared_ring.py', { ZMQ_DEBUG_AGENT_SHM: '1' }), /^ok 6 checks, [1-9]\d* frames\n$/);
  });

  it("the shared ring full, the Python agent's own queue (sockets the native agent did not adopt): it keeps what did not fit, behind the native queue's kept reports, puts it in at the next flush; at the exit it waits half a second, then counts the rest dropped", async function () {
    // the fixture drives the Python agent's reporter against the real ring, in the collector's place
    assert.match(await queueFixture(this, 'python_shared_ring.py', { ZMQ_DEBUG_AGENT_SHM: '1' }), /^ok 6 checks, \d+ rounds\n$/);
  });

  it('the collector SIGKILLed in the middle of a flood: the program prints and exits as without the agent', async function () {
    if (!nativeAgentLibrary()) this.skip();
    // 20,000 messages a second for 3 s (1 KiB among them), checked by the program itself
    const args = [join(AGENT_FIXTURES, 'paced_pushpull.py'), 20000, 3];
    const plain = await run(PYTHON, args, {}, 100000);
    assert.equal(plain.code, 0, plain.stderr);
    const { holder, env, status } = await collectorProcess();
    const program = start(PYTHON, args, { ...env, ZMQ_DEBUG_AGENT_SHM: '1' }, 100000);
    // killed once it has taken some of the flood, through the agent's shared ring (the program then writes nothing
    // on a socket the collector's death breaks)
    await until(() => /messages [1-9]\d{3,} rings 1 /.test(status()), 'the collector to capture messages through the ring', 30000);
    assert.equal(program.proc.exitCode, null, 'the program still sending');
    holder.kill('SIGKILL');
    const r = await program.done;
    assert.equal(r.stderr, '', 'nothing on stderr');
    assert.equal(r.code, plain.code, 'the same exit code');
    assert.equal(r.stdout, plain.stdout, 'the same output');
  });

  it('the collector stopped (SIGSTOP) in the middle of a flood: the shared ring fills, the program never waits, what did not fit is counted dropped', async function () {
    if (!nativeAgentLibrary()) this.skip();
    // 20,000 messages a second for 8 s, both sides recorded: about 16 MB a second
    const args = [join(AGENT_FIXTURES, 'paced_pushpull.py'), 20000, 8];
    const { holder, env, status } = await collectorProcess();
    const program = start(PYTHON, args, { ...env, ZMQ_DEBUG_AGENT_SHM: '1' }, 100000);
    await until(() => / rings 1 /.test(status()), 'the shared ring in use', 30000);
    // stopped for 4.5 s of the flood (more than the ring's 32 MiB and what the queue then keeps before the gate
    // shuts), going on well before the program's end: its last reports (the drops among them) can reach it (a
    // collector stopped through a program's exit misses them, as through a socket)
    holder.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 4500));
    holder.kill('SIGCONT');
    const r = await program.done;
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '160000 messages\n');
    await until(() => / exited 1$/.test(status()), "the program's exit in the capture", 30000);
    const [captured, dropped] = /^messages (\d+) rings 1 dropped (\d+) /.exec(status())!.slice(1).map(Number);
    assert.ok(dropped > 0 && captured < 320000, `the ring filled: ${captured} captured, ${dropped} dropped`);
    // every message captured or counted (a dropped report may also be a monitor event's: at most a few more)
    assert.ok(captured + dropped >= 320000 && captured + dropped < 320000 + 100, `${captured} captured + ${dropped} dropped, of 320,000`);
  });
});
