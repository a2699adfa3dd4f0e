/**
 * Real ZeroMQ systems nobody here wrote, under zmq-debug: Locust in distributed
 * mode (a master ROUTER, worker DEALERs, gevent, msgpack) and an ipyparallel
 * cluster (a controller of devices and forked schedulers, engines, nannies).
 * Bounded: each run has a deadline, and every process is killed at the end.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runCli } from './helpers/cli';
import { killAllRuns, run } from './helpers/agentRun';
import { freePort, isAlive, PYTHON, until } from './helpers/peers';

const FIXTURES = join(__dirname, 'fixtures', 'real');
const LOCUST = '/usr/bin/locust';

interface Rec {
  kind: string;
  pid?: number;
  process?: string;
  socket?: string;
  socketType?: string;
  direction?: string;
  type?: string;
  code?: string;
  state?: string;
  envelopeFrames?: number;
  identity?: string;
  /** base64, as the export format writes them */
  frames?: string[];
  ts: number;
}
const records = (out: string): Rec[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Rec);

describe('real systems under zmq-debug', function () {
  this.timeout(120000);
  afterEach(async () => {
    await killAllRuns();
  });

  it('Locust master and worker (gevent, ROUTER/DEALER): no false failures, ROUTER records with envelopes, no latency line for heartbeats', async function () {
    if (!existsSync(LOCUST)) this.skip();
    const [master, tapPort] = [await freePort(), await freePort()];
    // the worker reaches the master through a tap, whose latency line must not pair heartbeats
    const tap = runCli(['tap', '--listen', `127.0.0.1:${tapPort}`, '--target', `127.0.0.1:${master}`, '--json']);
    try {
      await until(() => /listening|→/.test(tap.err()), 'the tap to listen', 15000).catch(() => undefined);
      const lf = join(FIXTURES, 'locustfile.py');
      const script =
        `${LOCUST} -f ${lf} --master --headless -u 2 -r 2 -t 4s --expect-workers 1 --master-bind-host 127.0.0.1 --master-bind-port ${master} --only-summary & ` +
        `${LOCUST} -f ${lf} --worker --master-host 127.0.0.1 --master-port ${tapPort} & wait`;
      const r = await run(process.execPath, [CLI, 'run', '--json', '--', 'sh', '-c', script], {}, 90000);
      assert.equal(r.code, 0, r.stderr.slice(-2000));
      assert.match(r.stderr, /Got quit message from master|Shutting down \(exit code 0\)/);
      const recs = records(r.stdout);
      const procs = recs.filter((x) => x.kind === 'process' && x.state === 'started');
      assert.equal(procs.length, 2, 'master and worker');
      // gevent's own would-block retries are not failures: no EAGAIN at all
      const failures = recs.filter((x) => x.kind === 'event' && x.type?.endsWith(':error'));
      assert.deepEqual(failures.map((x) => `${x.type} ${x.code}`), []);
      // the master's ROUTER: every message carries the worker's routing id as its envelope
      const router = recs.filter((x) => x.kind === 'message' && x.socketType === 'ROUTER');
      assert.ok(router.length >= 4, `the master's ROUTER traffic: ${router.length}`);
      for (const m of router) {
        assert.equal(m.envelopeFrames, 1, 'the routing id alone (Locust sends no delimiter)');
        assert.ok(m.identity && m.frames && m.identity === m.frames[0]);
      }
      // both ways
      assert.ok(router.some((m) => m.direction === 'in') && router.some((m) => m.direction === 'out'));
      // every process's real exit
      assert.equal(recs.filter((x) => x.kind === 'process' && x.state === 'exited').length, 2);
    } finally {
      await tap.stop();
    }
    // the tap saw the DEALER/ROUTER traffic; heartbeats and stats do not alternate: no latency line
    assert.ok(records(tap.out()).some((x) => x.kind === 'message'), 'the tap relayed the traffic');
    assert.doesNotMatch(tap.err(), /latency/);
  });

  it('an ipyparallel cluster and a client’s apply: the controller’s queue traffic seen, forked processes named apart, the nannies’ real exits', async function () {
    if (!existsSync('/usr/bin/ipcluster')) this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'zmq-debug-ipp-'));
    const profile = join(dir, 'profile');
    let recs: Rec[] = [];
    try {
      const script =
        `ipcluster start -n 2 --profile-dir=${profile} --log-level=WARN & ` +
        `${PYTHON} ${join(FIXTURES, 'ipp_client.py')} ${profile}; ipcluster stop --profile-dir=${profile}; wait`;
      const r = await run(process.execPath, [CLI, 'run', '--json', '--wait-exits', '30', '--', 'sh', '-c', script], { IPYTHONDIR: dir }, 110000);
      recs = records(r.stdout);
      assert.equal(r.code, 0, r.stderr.slice(-2000));
      assert.match(r.stderr, /applied \d+/);
      assert.doesNotMatch(r.stderr, /still running/);
      const started = recs.filter((x) => x.kind === 'process' && x.state === 'started');
      // the controller's forks: named after it, each with what it runs, no two alike
      const forks = started.filter((x) => /^controller ▸ fork \d+ \(/.test(x.process!));
      assert.ok(forks.length >= 5, `the controller's forks: ${started.map((x) => x.process).join(', ')}`);
      assert.equal(new Set(forks.map((x) => x.process)).size, forks.length);
      assert.ok(forks.some((x) => x.process!.endsWith('(ProcessMonitoredQueue.run)')) && forks.some((x) => x.process!.endsWith('(launch_scheduler)')));
      // the apply went through a monitored queue (a device, in a fork): in on its ROUTER, out again
      const body = (m: Rec) => (m.frames ?? []).map((f) => Buffer.from(f, 'base64').toString('latin1')).join('\n');
      const queued = recs.filter((x) => x.kind === 'message' && x.socketType === 'ROUTER' && /ProcessMonitoredQueue/.test(x.process ?? ''));
      assert.ok(queued.some((m) => m.direction === 'in' && body(m).includes('apply_request')), 'the request in on the queue');
      assert.ok(queued.some((m) => m.direction === 'out' && body(m).includes('apply_request')), 'and out to the engine');
      assert.ok(queued.some((m) => m.direction === 'in' && body(m).includes('apply_reply')), 'the reply in from the engine');
      assert.ok(queued.some((m) => m.direction === 'out' && body(m).includes('apply_reply')), 'and out to the client');
      // every process started has one exit, as it happened
      const exits = recs.filter((x) => x.kind === 'process' && x.state === 'exited');
      assert.deepEqual(exits.map((x) => x.pid).sort(), started.map((x) => x.pid).sort());
      // the nannies outlive the cluster command; each exits after logging its engine's end
      const nannies = started.filter((x) => x.process === 'nanny.py');
      assert.equal(nannies.length, 2);
      // (a nanny logs when its engine is gone, then exits; the command had ended before that)
      const logged = [...r.stderr.matchAll(/^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) \[KernelNanny\.\d\] .*[Pp]arent \d+/gm)].map((m) => new Date(m[1].replace(' ', 'T')).getTime());
      assert.ok(logged.length >= 1, 'the nannies logged their engine’s end');
      for (const n of nannies) {
        const exit = exits.find((x) => x.pid === n.pid)!;
        assert.ok(exit.ts >= Math.min(...logged) - 5, `nanny ${n.pid} exited at ${exit.ts}, after a nanny logged its engine's end at ${Math.min(...logged)}`);
      }
    } finally {
      for (const p of recs.filter((x) => x.kind === 'process' && x.state === 'started')) if (p.pid && isAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
