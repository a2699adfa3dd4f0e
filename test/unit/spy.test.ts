import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { Capture } from '../../src/core/capture/capture';
import { CapturedEvent, CapturedMessage } from '../../src/core/capture/records';
import { MonitorSpy, PubSpy, routerEnvelopeLength } from '../../src/core/sessions/spy';
import { parseTopic } from '../../src/core/zmq/topics';
import { freePort, killAllPython, until } from './helpers/peers';
import { runPythonFile } from './helpers/pythonFiles';

const text = (b: Uint8Array) => Buffer.from(b).toString();
const messages = (c: Capture) => [...c.records()].filter((r): r is CapturedMessage => r.kind === 'message');
const events = (c: Capture) => [...c.records()].filter((r): r is CapturedEvent => r.kind === 'event');

describe('PubSpy against real pyzmq publishers', function () {
  this.timeout(20000);
  let spies: PubSpy[] = [];
  afterEach(async () => {
    await Promise.all(spies.map((s) => s.stop()));
    spies = [];
    await killAllPython();
  });

  it('receives the seed publisher filtered by a topic prefix', async () => {
    const port = await freePort();
    const pub = runPythonFile('pub_server.py', [port, 'topics']);
    await pub.waitFor('bound');
    const capture = new Capture();
    const spy = new PubSpy({ id: 'spy-1', endpoints: [`tcp://*:${port}`], topics: [parseTopic('10001')], capture });
    spies.push(spy);
    assert.deepEqual(spy.endpoints, [`tcp://*:${port}`]);
    await until(() => messages(capture).length >= 5, '5 messages on topic 10001');
    for (const m of messages(capture)) {
      assert.match(text(m.frames[0]), /^10001 -?\d+$/);
      assert.equal(m.session, 'spy-1');
      assert.equal(m.source, 'spy');
      assert.equal(m.direction, 'in');
    }
    assert.equal(spy.state, 'receiving');
    assert.ok(capture.session('spy-1')!.topics.has('10001'), 'counted under the topic word');
    assert.ok(events(capture).some((e) => e.type === 'connect' || e.type === 'handshake'), 'socket events are captured');
  });

  it('interleaves two publishers and tells which endpoint each message came from', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const a = runPythonFile('pub_server.py', [p1, 'topics']);
    const b = runPythonFile('pub_server.py', [p2, 'topics']);
    await Promise.all([a.waitFor('bound'), b.waitFor('bound')]);
    const capture = new Capture();
    const e1 = `tcp://127.0.0.1:${p1}`;
    const e2 = `tcp://127.0.0.1:${p2}`;
    spies.push(new PubSpy({ id: 'spy-2', endpoints: [e1, e2], capture }));
    await until(() => {
      const eps = new Set(messages(capture).map((m) => m.endpoint));
      return eps.has(e1) && eps.has(e2) && messages(capture).length > 40;
    }, 'messages from both publishers');
    const c = capture.session('spy-2')!;
    assert.equal(c.endpoints.get(e1)!.messages + c.endpoints.get(e2)!.messages, c.messages);
  });

  it('keeps binary, empty and 1 MiB frames byte-exact', async () => {
    const port = await freePort();
    runPythonFile('pub_server.py', [port, 'special']);
    const capture = new Capture();
    spies.push(new PubSpy({ id: 'spy-3', endpoints: [`tcp://127.0.0.1:${port}`], capture }));
    // the spy may join in the middle of a round (a PUB sends nothing to a subscriber still joining): wait for each kind
    const seen = () => new Set(messages(capture).map((m) => text(m.frames[0])));
    await until(() => ['bin', 'empty', 'big', 'done'].every((t) => seen().has(t)), 'every kind of special frame');
    const byTopic = new Map(messages(capture).map((m) => [text(m.frames[0]), m]));
    assert.deepEqual([...byTopic.get('bin')!.frames[1]], [0, 255, 128, 10, 13, 0xc3, 0x28]);
    assert.deepEqual(byTopic.get('empty')!.frames.map((f) => f.byteLength), [5, 0, 0]);
    const big = byTopic.get('big')!.frames[1];
    assert.equal(big.byteLength, 1024 * 1024);
    assert.ok(Buffer.from(big).equals(Buffer.from(new Uint8Array(1024 * 1024).map((_, i) => i % 256))));
  });

  it('a topic filter that matches nothing connects and captures no message', async () => {
    const port = await freePort();
    const pub = runPythonFile('pub_server.py', [port, 'topics']);
    await pub.waitFor('bound');
    const capture = new Capture();
    const spy = new PubSpy({ id: 'spy-4', endpoints: [`tcp://127.0.0.1:${port}`], topics: [parseTopic('nomatch')], capture });
    spies.push(spy);
    await until(() => spy.state === 'connected', 'connected');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(messages(capture).length, 0);
    assert.match(spy.label, /\[nomatch\]/);
  });

  it('shows retries when nobody listens, then receives once the publisher starts', async () => {
    const port = await freePort();
    const capture = new Capture();
    const spy = new PubSpy({ id: 'spy-5', endpoints: [`tcp://127.0.0.1:${port}`], capture });
    spies.push(spy);
    await until(() => events(capture).some((e) => e.type === 'connect:retry'), 'connect:retry events');
    assert.equal(spy.state, 'retrying');
    const retry = events(capture).find((e) => e.type === 'connect:retry')!;
    assert.equal(retry.endpoint, `tcp://127.0.0.1:${port}`);
    assert.ok(retry.interval! > 0);
    runPythonFile('pub_server.py', [port, 'topics']);
    await until(() => spy.state === 'receiving', 'receiving after the publisher started', 15000);
  });

  it('stopping disconnects from the publisher (seen by the publisher) and is idempotent', async () => {
    const port = await freePort();
    const pub = runPythonFile('pub_server.py', [port, 'topics']);
    await pub.waitFor('bound');
    const capture = new Capture();
    const spy = new PubSpy({ id: 'spy-6', endpoints: [`tcp://127.0.0.1:${port}`], capture });
    await until(() => spy.state === 'receiving', 'receiving');
    await Promise.all([spy.stop(), spy.stop()]);
    assert.equal(spy.state, 'stopped');
    await pub.waitFor('event EVENT_DISCONNECTED');
    const n = messages(capture).length;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(messages(capture).length, n, 'nothing arrives after stop');
  });

  it('rejects bad endpoints before opening any socket', () => {
    const capture = new Capture();
    assert.throws(() => new PubSpy({ id: 'x', endpoints: ['tcp://127.0.0.1:1', 'tcp://host'], capture }), /missing port/);
    assert.throws(() => new PubSpy({ id: 'x', endpoints: ['inproc://feed'], capture }), /only reachable by sockets inside the same process/);
    assert.throws(() => new PubSpy({ id: 'x', endpoints: [], capture }), /at least one endpoint/);
  });
});

describe('MonitorSpy against a real pyzmq MonitoredQueue', function () {
  this.timeout(20000);
  let spy: MonitorSpy | undefined;
  afterEach(async () => {
    await spy?.stop();
    spy = undefined;
    await killAllPython();
  });

  async function runQueue(prefixes: string[] = []) {
    const [front, back, mon] = [await freePort(), await freePort(), await freePort()];
    const q = runPythonFile('monitored_queue.py', [front, back, mon, 2, ...prefixes]);
    await q.waitFor('ready');
    return { q, mon };
  }

  it('decodes in/out prefixes and separates the ROUTER envelope from the body', async () => {
    const { q, mon } = await runQueue();
    const capture = new Capture();
    spy = new MonitorSpy({ id: 'mon-1', endpoint: `tcp://127.0.0.1:${mon}`, capture });
    await q.waitFor('clients done');
    await until(() => messages(capture).length >= 4, '2 requests and 2 replies');
    const ms = messages(capture);
    const ins = ms.filter((m) => m.direction === 'in');
    const outs = ms.filter((m) => m.direction === 'out');
    assert.equal(ins.length, 2);
    assert.equal(outs.length, 2);
    for (const m of ms) {
      assert.equal(m.envelopeFrames, 2, 'identity + empty delimiter');
      assert.equal(m.frames[1].byteLength, 0);
      assert.ok(m.identity && m.identity.byteLength > 0);
      assert.equal(m.source, 'monitor');
    }
    assert.deepEqual(ins.map((m) => text(m.frames[2])).sort(), ['Request # 1 from client # 0', 'Request # 1 from client # 1']);
    assert.match(text(outs[0].frames[2]), /^Response to Request # 1 from client # \d$/);
  });

  it('honours custom prefixes and keeps unknown-prefix messages whole', async () => {
    const { q, mon } = await runQueue(['IN', 'OUT']);
    const capture = new Capture();
    spy = new MonitorSpy({ id: 'mon-2', endpoint: `tcp://127.0.0.1:${mon}`, inPrefix: 'IN', outPrefix: 'OUT', capture });
    await q.waitFor('clients done');
    await until(() => messages(capture).length >= 4, '4 monitored messages');
    assert.ok(messages(capture).every((m) => m.direction === 'in' || m.direction === 'out'));
    assert.equal(spy.unknownPrefixCount, 0);

    // the default prefixes do not match IN/OUT: nothing is lost, the prefix frame stays
    const capture2 = new Capture();
    const { q: q2, mon: mon2 } = await runQueue(['IN', 'OUT']);
    const spy2 = new MonitorSpy({ id: 'mon-3', endpoint: `tcp://127.0.0.1:${mon2}`, capture: capture2 });
    try {
      await q2.waitFor('clients done');
      await until(() => messages(capture2).length >= 4, '4 messages kept whole');
      assert.equal(spy2.unknownPrefixCount, messages(capture2).length);
      assert.ok(messages(capture2).every((m) => ['IN', 'OUT'].includes(text(m.frames[0]))));
    } finally {
      await spy2.stop();
    }
  });

  it('refuses identical prefixes', () => {
    assert.throws(() => new MonitorSpy({ id: 'm', endpoint: 'tcp://127.0.0.1:5', inPrefix: 'x', outPrefix: 'x', capture: new Capture() }), /must differ/);
  });

  it('finds ROUTER envelopes only where there is one', () => {
    const f = (...s: string[]) => s.map((x) => Buffer.from(x));
    assert.equal(routerEnvelopeLength(f('id', '', 'body')), 2);
    assert.equal(routerEnvelopeLength(f('id1', 'id2', '', 'body', 'more')), 3);
    assert.equal(routerEnvelopeLength(f('id', '')), 0);
    assert.equal(routerEnvelopeLength(f('', 'body')), 0);
    assert.equal(routerEnvelopeLength(f('a', 'b', 'c')), 0);
    assert.equal(routerEnvelopeLength([]), 0);
  });
});


describe('PubSpy that fails half-way through opening its endpoints', () => {
  it('throws a clear error and leaves no link of the endpoints it had opened', async () => {
    const server = net.createServer();
    const open: net.Socket[] = [];
    server.on('connection', (s) => {
      open.push(s);
      s.on('close', () => open.splice(open.indexOf(s), 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      // the second endpoint fails in libzmq (an ipc path longer than a socket address holds)
      assert.throws(
        () => new PubSpy({ id: 'half', endpoints: [`tcp://127.0.0.1:${port}`, `ipc:///tmp/${'x'.repeat(300)}`], capture: new Capture() }),
        /Cannot connect to ipc:\/\/.*File name too long/,
      );
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(open.length, 0, 'the first endpoint was left connected');
    } finally {
      for (const s of open) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
