/**
 * Real ZeroMQ systems nobody here wrote, under zmq-debug: Locust in distributed
 * mode (a master ROUTER, worker DEALERs, gevent, msgpack) and an ipyparallel
 * cluster (a controller of devices and forked schedulers, engines, nannies).
 * Bounded: each run has a deadline, and every process is killed at the end.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, runCli } from './helpers/cli';
import { killAllRuns, run } from './helpers/agentRun';
import { freePort, PYTHON, until } from './helpers/peers';

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
});
