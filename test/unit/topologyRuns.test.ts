/**
 * The topology model and the viewer's query count a flood's runs of one
 * stream at once (topology.ts catchUp, framesQuery.ts scanHeaders): their
 * answers must be the ones a record-by-record reading gives. Both read the
 * same live capture, fed by real spies, a real tap and real pyzmq peers, with
 * a window small enough that records are evicted between reads:
 *   - the map's snapshot and the doctor's findings against a model that
 *     ingests every record as it is appended (the reading before runs);
 *   - the viewer's counts and timeline against a query whose filter (`from`)
 *     matches everything but makes it scan every record one by one.
 */
import assert from 'node:assert/strict';
import { Capture } from '../../src/core/capture/capture';
import { PubSpy } from '../../src/core/sessions/spy';
import { ZmtpTap } from '../../src/core/sessions/tap';
import { diagnose } from '../../src/core/topology/doctor';
import { TopologyModel } from '../../src/core/topology/topology';
import { FramesQuery } from '../../src/viewers/framesQuery';
import { DEFAULT_FILTER } from '../../src/shared/protocol/frames';
import { freePort, killAllPython, runPython, runPythonSubscriber, until } from './helpers/peers';

// a flood in bursts: single-frame "topic data" messages and two-frame ones, several topics
const PUB = `
import sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
s.setsockopt(zmq.SNDHWM, 0)
s.bind('tcp://127.0.0.1:%s' % sys.argv[1])
print('bound', flush=True)
i = 0
while True:
    for k in range(2000):
        if k % 7 == 0:
            s.send_multipart([b'weather', b'%d' % i])
        else:
            s.send(b'%d %d' % (10001 + (k // 500), i))
        i += 1
    time.sleep(0.01)
`;


describe('topology and viewer: runs of a stream counted at once, same answers', function () {
  this.timeout(60000);
  const stops: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await killAllPython();
  });

  it('gives the map, the doctor and the viewer the answers of a record-by-record reading', async () => {
    const capture = new Capture({ maxRecords: 5000 });
    stops.push(async () => capture.dispose());
    const model = new TopologyModel(capture, undefined, { throttleMs: 50 });
    stops.push(async () => model.dispose());
    // the reference: every record ingested as it is appended, in the same turn as the model reads
    const reference = new TopologyModel(undefined, undefined, { throttleMs: 50 });
    stops.push(async () => reference.dispose());
    let referenceSeq = 0;
    const query = new FramesQuery(capture);
    const oneByOne = new FramesQuery(capture);
    oneByOne.setFilter({ ...DEFAULT_FILTER, kinds: [...DEFAULT_FILTER.kinds], from: 1 });
    const sub = capture.onDidAppend(() => {
      for (const r of capture.since(referenceSeq)) {
        reference.ingest(r);
        referenceSeq = r.seq;
      }
      query.update();
      oneByOne.update();
    });
    stops.push(async () => sub.dispose());

    const port = await freePort();
    const pub = runPython(PUB, [port]);
    await pub.waitFor('bound');
    const endpoint = `tcp://127.0.0.1:${port}`;
    // two spies on one publisher: their streams interleave, read by read
    for (const id of ['spy-1', 'spy-2']) {
      const spy = new PubSpy({ id, endpoints: [endpoint], capture, receiveHighWaterMark: 0 });
      stops.push(() => spy.stop());
    }
    await until(() => capture.stats().totalMessages > 30_000, 'the spies to capture 30,000 messages', 30000);
    // then a tap connection subscribes at the same endpoint: each published message is matched against it
    const tap = new ZmtpTap({ target: `127.0.0.1:${port}`, id: 'tap-1' }, capture);
    stops.push(() => tap.stop());
    await tap.listen();
    const subscriber = runPythonSubscriber(tap.listenEndpoint, ['weather']);
    await subscriber.waitFor('connected');
    const before = capture.stats().totalMessages;
    await until(() => capture.stats().totalMessages > before + 30_000 && (capture.session('tap-1')?.messages ?? 0) > 100, 'the tap to relay and the spies to capture 30,000 more', 30000);
    for (const s of stops.splice(4, 3).reverse()) await s();
    await pub.kill();
    await subscriber.kill();
    await new Promise((r) => setTimeout(r, 300));

    const stats = capture.stats();
    assert.ok(stats.evicted > 10_000, `records evicted between reads (${stats.evicted})`);
    assert.equal(referenceSeq, stats.lastSeq);
    const now = Date.now();
    const live = model.snapshot(now);
    const expected = reference.snapshot(now);
    assert.deepEqual(live, expected);
    const ep = live.endpoints.find((e) => e.key === `tcp://*:${port}`)!;
    assert.ok(ep.published.messages > 30_000, `published counted: ${ep.published.messages}`);
    assert.deepEqual(ep.topics.map((t) => t.text).sort(), ['10001', '10002', '10003', '10004', 'weather']);
    assert.ok(live.connections[0].publishedSinceSubscribe > 0 && live.connections[0].matchedSinceSubscribe > 0);
    assert.deepEqual(diagnose(live), diagnose(expected));

    assert.equal(query.shown, oneByOne.shown);
    assert.equal(query.base, oneByOne.base);
    assert.deepEqual(query.timeline.series(), oneByOne.timeline.series());
    assert.deepEqual(query.socketTypes, oneByOne.socketTypes);
    assert.deepEqual(query.tail(50), oneByOne.tail(50));
    assert.ok(query.timeline.series().messages.reduce((a, b) => a + b, 0) > 0);
  });
});
