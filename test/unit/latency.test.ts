import { strict as assert } from 'node:assert';
import { Capture } from '../../src/core/capture/capture';
import { ZmtpTap } from '../../src/core/sessions/tap';
import { diagnose } from '../../src/core/topology/doctor';
import { ConnectionLatency, LATENCY_BUCKETS_MS, percentile, RequestLatency, requestDirection } from '../../src/core/topology/latency';
import { TopologyModel } from '../../src/core/topology/topology';
import { toMapGraph } from '../../src/viewers/mapGraph';
import { parseToMap } from '../../src/shared/protocol/topology';
import { formatMs, latencyBrief, latencyHistogramLines, latencySummary } from '../../src/shared/latencyText';
import { runCli } from './helpers/cli';
import { freePort, killAllPython, runPython, until } from './helpers/peers';

/**
 * Answers after 20, 20, 80, 20, 20, 80… ms. (Not strictly alternating: with half
 * and half the median sits on the jump between 20 and 80, and one round trip
 * delayed on a loaded machine would move it across.) argv: port, socket type (REP or ROUTER).
 */
const SERVER = `
import sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(getattr(zmq, sys.argv[2]))
s.bind('tcp://127.0.0.1:%s' % sys.argv[1])
print('bound', flush=True)
i = 0
while True:
    m = s.recv_multipart()
    time.sleep(0.08 if i % 3 == 2 else 0.02)
    s.send_multipart(m[:-1] + [b'reply ' + m[-1]])
    i += 1
`;

/** Sends N requests one after the other and prints the round trips it measured (ms). argv: port, socket type (REQ or DEALER), N. */
const CLIENT = `
import sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(getattr(zmq, sys.argv[2]))
s.connect('tcp://127.0.0.1:%s' % sys.argv[1])
rtts = []
for i in range(int(sys.argv[3])):
    t = time.monotonic()
    s.send_multipart(([b''] if sys.argv[2] == 'DEALER' else []) + [b'%d' % i])
    s.recv_multipart()
    rtts.append((time.monotonic() - t) * 1000)
print('rtts', ','.join('%.3f' % x for x in rtts), flush=True)
print('done', flush=True)
`;

describe('request latency', function () {
  this.timeout(30000);
  let capture: Capture;
  let model: TopologyModel;
  let tap: ZmtpTap | undefined;
  beforeEach(() => {
    capture = new Capture();
    model = new TopologyModel(capture, undefined, { throttleMs: 20 });
  });
  afterEach(async () => {
    await tap?.stop();
    tap = undefined;
    await killAllPython();
    model.dispose();
    capture.dispose();
  });

  for (const [server, client] of [
    ['REP', 'REQ'],
    ['ROUTER', 'DEALER'],
  ]) {
    it(`measures ${client}/${server} round trips through a real tap: p50 ≈ 20 ms, p95 ≈ 80 ms, and the doctor flags p99 over the timeout`, async () => {
      const port = await freePort();
      const srv = runPython(SERVER, [port, server]);
      await srv.waitFor('bound');
      tap = new ZmtpTap({ target: `127.0.0.1:${port}`, id: 'tap-1' }, capture);
      await tap.listen();
      const N = 60;
      const cli = runPython(CLIENT, [tap.port, client, N]);
      await cli.waitFor('done', 20000);
      await until(() => (model.snapshot().connections[0]?.latency?.requests ?? 0) >= N, `${N} round trips`);
      const c = model.snapshot().connections[0];
      const l = c.latency!;
      assert.equal(l.requests, N);
      assert.equal(l.pending, 0);
      assert.equal(l.unmatched, 0);
      // Bounds that hold however loaded the machine is: a round trip is never shorter than the
      // server's sleep (20 or 80 ms), and never longer than what the client measured around
      // the same exchange, give or take the tap's whole-millisecond timestamps. On an idle
      // machine the two bounds are a few ms apart; a wrong pairing breaks them.
      const truth = cli.stdout().match(/rtts (.*)/)![1].split(',').map(Number).sort((a, b) => a - b);
      const [p50, p95] = [percentile(truth, 50), percentile(truth, 95)];
      assert.ok(l.p50Ms >= 19 && l.p50Ms <= p50 + 1.5, `p50 ${l.p50Ms} ms: the server sleeps 20 ms, the client measured ${p50} ms`);
      assert.ok(l.p95Ms >= 79 && l.p95Ms <= p95 + 1.5, `p95 ${l.p95Ms} ms: the server sleeps 80 ms, the client measured ${p95} ms`);
      assert.ok(l.minMs >= 19, `min ${l.minMs}`);
      const bucket = (ms: number) => l.histogram.counts[LATENCY_BUCKETS_MS.findIndex((b) => ms <= b)];
      assert.equal(l.histogram.counts.reduce((a, b) => a + b, 0), N);
      const over50 = l.histogram.counts.slice(LATENCY_BUCKETS_MS.indexOf(100)).reduce((a, b) => a + b, 0);
      assert.ok(bucket(20) + bucket(50) <= (2 * N) / 3 && over50 >= N / 3, `a third at 80 ms or more: ${l.histogram.counts}`);

      // the same figures reach the map's edge (through the webview protocol) and the session's details
      const snap = model.snapshot();
      const edge = toMapGraph(snap, []).edges.find((e) => e.id === `edge:${c.id}`)!;
      const sent = parseToMap(JSON.parse(JSON.stringify({ type: 'topology/update', graph: toMapGraph(snap, []) })));
      assert.equal(sent.type, 'topology/update');
      if (sent.type === 'topology/update') assert.deepEqual(sent.graph.edges.find((e) => e.id === edge.id)?.latency, edge.latency);
      const now = snap.connections[0].latency!;
      assert.deepEqual(edge.latency, { requests: N, p50Ms: now.p50Ms, p95Ms: now.p95Ms, p99Ms: now.p99Ms, maxMs: now.maxMs, histogram: { boundsMs: [...LATENCY_BUCKETS_MS], counts: now.histogram.counts } });
      assert.deepEqual(model.connectionLatency(c.id), now, 'what the Sessions view reads per row');
      assert.equal(latencySummary(now), `${N} requests, p50 ${formatMs(now.p50Ms)}, p95 ${formatMs(now.p95Ms)}, p99 ${formatMs(now.p99Ms)}, max ${formatMs(now.maxMs)}`);
      assert.match(latencyBrief(now), /^p50 (19|2\d)(\.\d)? ms · p99 \d+ ms$/);
      const bars = latencyHistogramLines(now.histogram);
      const rows = (label: string) => bars.find((b) => b.startsWith(label + ' '));
      assert.ok(rows('≤ 100 ms') ?? rows('≤ 200 ms'), `the 80 ms round trips have a bar: ${bars.join(' | ')}`);
      assert.equal(bars.reduce((n, b) => n + Number(b.trim().split(/\s+/).pop()), 0), N, 'the bars count every round trip');

      const flagged = diagnose(model.snapshot(), { reqTimeoutMs: 50 }).filter((d) => d.rule === 'request-latency-high');
      assert.equal(flagged.length, 1);
      assert.deepEqual(flagged[0].edgeIds, [`edge:${c.id}`]);
      assert.match(flagged[0].message, new RegExp(`to ${client} 127\\.0\\.0\\.1:\\d+ take p99 \\d+ ms .*over ${N} requests.*request timeout of 50 ms`));
      assert.deepEqual(diagnose(model.snapshot(), { reqTimeoutMs: 2000 }).filter((d) => d.rule === 'request-latency-high'), []);
    });
  }

  it('zmq-debug tap prints the round trips of each connection when it ends', async () => {
    const [port, listen] = [await freePort(), await freePort()];
    const srv = runPython(SERVER, [port, 'REP']);
    await srv.waitFor('bound');
    const run = runCli(['tap', '--listen', `127.0.0.1:${listen}`, '--target', `127.0.0.1:${port}`, '--count', '12', '--json', '--timeout', '20']);
    try {
      await until(() => run.err().includes('tap listening'), 'the tap to listen');
      runPython(CLIENT, [listen, 'REQ', 6]);
      assert.equal(await run.code, 0, run.err());
      assert.match(run.err(), /^latency tap#1: 6 requests, p50 (19|2\d)(\.\d)? ms, p95 \d+ ms, p99 \d+ ms, max \d+ ms$/m);
      assert.equal(run.out().trim().split('\n').every((l) => JSON.parse(l)), true, 'stdout stays JSON Lines');
    } finally {
      if (run.proc.exitCode === null) run.proc.kill('SIGKILL');
    }
  });

  it('pairs first in first out, forgets what a closed connection left pending, and stays bounded', () => {
    const l = new ConnectionLatency({ window: 4, maxPending: 3 });
    assert.equal(l.stats(), undefined);
    for (const t of [0, 1, 2, 3]) l.request(t); // the first is forgotten: at most 3 pending
    l.reply(10);
    let s = l.stats()!;
    assert.deepEqual([s.requests, s.pending, s.unmatched, s.lastMs], [1, 2, 1, 9]);
    l.close();
    l.reply(20); // nothing to match
    s = l.stats()!;
    assert.deepEqual([s.pending, s.unmatched], [0, 4]);
    for (let i = 0; i < 10; i++) {
      l.request(100 * i);
      l.reply(100 * i + i);
    }
    s = l.stats()!;
    assert.deepEqual([s.requests, s.p50Ms, s.p99Ms, s.maxMs], [11, 7, 9, 9], 'percentiles over the latest 4 samples');
    assert.equal(percentile([], 50), 0);
    assert.deepEqual(
      [requestDirection('REQ', 'REP'), requestDirection('zmq.DEALER', 'ROUTER'), requestDirection('ROUTER', 'REQ'), requestDirection('PUB', 'SUB'), requestDirection('DEALER', 'DEALER')],
      ['toTarget', 'toTarget', 'fromTarget', undefined, undefined],
    );
    const r = new RequestLatency({ maxClosed: 2 });
    r.observe({ kind: 'message', seq: 1, ts: 5, session: 's', source: 'spy', endpoint: 'e', direction: 'in', frames: [] });
    assert.equal(r.all().size, 0, 'spies measure nothing');
    // closed connections keep their figures, the latest maxClosed of them
    const tap = { session: 't', source: 'tap' as const, endpoint: 'e', seq: 0, frames: [] };
    for (let c = 1; c <= 4; c++) {
      r.observe({ ...tap, kind: 'connection', ts: 0, connection: c, state: 'open' });
      r.observe({ ...tap, kind: 'message', ts: 10, connection: c, direction: 'toTarget', socketType: 'REQ', peerSocketType: 'REP' });
      r.observe({ ...tap, kind: 'message', ts: 10 + c, connection: c, direction: 'fromTarget', socketType: 'REP', peerSocketType: 'REQ' });
    }
    assert.deepEqual([...r.all().keys()], ['t#1', 't#2', 't#3', 't#4']);
    for (let c = 1; c <= 3; c++) r.observe({ ...tap, kind: 'connection', ts: 20, connection: c, state: 'closed' });
    assert.deepEqual([...r.all().keys()], ['t#2', 't#3', 't#4'], 'the oldest closed is forgotten; open ones stay');
    assert.equal(r.stats('t#3')!.maxMs, 3);
  });

  it('measures DEALER/ROUTER only while requests and replies alternate: heartbeats both ways get no figures', () => {
    const tap = { session: 't', source: 'tap' as const, endpoint: 'e', seq: 0, frames: [] };
    const msg = (connection: number, ts: number, dir: 'toTarget' | 'fromTarget') =>
      ({ ...tap, kind: 'message' as const, ts, connection, direction: dir, socketType: dir === 'toTarget' ? 'DEALER' : 'ROUTER', peerSocketType: dir === 'toTarget' ? 'ROUTER' : 'DEALER' });
    const r = new RequestLatency();
    // connection 1: request, reply, request, reply
    for (const [ts, d] of [[0, 'toTarget'], [5, 'fromTarget'], [10, 'toTarget'], [17, 'fromTarget']] as const) r.observe(msg(1, ts, d));
    // connection 2: the worker's heartbeat every second, the master's now and then (Locust)
    for (const [ts, d] of [[0, 'toTarget'], [1000, 'toTarget'], [1500, 'fromTarget'], [2000, 'toTarget'], [3000, 'toTarget']] as const) r.observe(msg(2, ts, d));
    // connection 3: REQ/REP stays measured whatever it shows (libzmq enforces the turns)
    r.observe({ ...msg(3, 0, 'toTarget'), socketType: 'REQ', peerSocketType: 'REP' });
    r.observe({ ...msg(3, 4, 'fromTarget'), socketType: 'REP', peerSocketType: 'REQ' });
    assert.deepEqual([...r.all().keys()], ['t#1', 't#3']);
    assert.deepEqual([r.stats('t#1')!.requests, r.stats('t#1')!.maxMs], [2, 7]);
    assert.equal(r.stats('t#2'), undefined, 'no round trips made of unrelated messages');
  });
});
