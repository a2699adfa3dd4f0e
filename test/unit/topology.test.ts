/**
 * The topology model built from what our sources see of real pyzmq peers:
 * nodes, edges with the direction of flow, rates, subscriptions, and the
 * throttled change event. Plus the socket compatibility table.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capture } from '../../src/core/capture/capture';
import type { CapturedMessage } from '../../src/core/capture/records';
import { canTalk, flowBetween, normalizeSocketType } from '../../src/core/zmq/socketTypes';
import { findPidOfTcpPeer } from '../../src/core/topology/peerProcess';
import { probeSocketType } from '../../src/core/zmtp/socketTypeProbe';
import { PubSpy } from '../../src/core/sessions/spy';
import { ZmtpTap } from '../../src/core/sessions/tap';
import { TopologyModel } from '../../src/core/topology/topology';
import { endpointKey } from '../../src/core/zmq/endpointIdentity';
import { freePort, killAllPython, runPython, runPythonSubscriber, until } from './helpers/peers';

const PUB = `
import sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
s.bind('tcp://127.0.0.1:%s' % sys.argv[1])
print('bound', flush=True)
i = 0
while True:
    s.send_multipart([b'weather', b'%d' % i])
    i += 1
    time.sleep(0.01)
`;


describe('socketTypes', () => {
  it('knows which pairs ZeroMQ allows', () => {
    assert.equal(canTalk('PUB', 'SUB'), true);
    assert.equal(canTalk('XPUB', 'XSUB'), true);
    assert.equal(canTalk('REQ', 'ROUTER'), true);
    assert.equal(canTalk('DEALER', 'DEALER'), true);
    assert.equal(canTalk('PUB', 'PULL'), false);
    assert.equal(canTalk('REQ', 'REQ'), false);
    assert.equal(canTalk('PUSH', 'SUB'), false);
    assert.equal(canTalk('PUB', 'FOO'), undefined);
    assert.equal(normalizeSocketType('zmq.PUB'), 'PUB');
    assert.equal(normalizeSocketType('Publisher'), 'PUB');
    assert.equal(flowBetween('SUB', 'PUB'), 'bToA');
    assert.equal(flowBetween('PUSH', 'PULL'), 'aToB');
    assert.equal(flowBetween('REQ', 'REP'), 'both');
    assert.equal(flowBetween(undefined, 'PUB'), 'bToA');
  });

  it('endpoints on local hosts are one node', () => {
    assert.equal(endpointKey('tcp://*:5556'), 'tcp://*:5556');
    assert.equal(endpointKey('tcp://localhost:5556'), 'tcp://*:5556');
    assert.equal(endpointKey('tcp://127.0.0.1:5556'), 'tcp://*:5556');
    assert.equal(endpointKey('tcp://10.0.0.7:5556'), 'tcp://10.0.0.7:5556');
    assert.equal(endpointKey('ipc:///tmp/x'), 'ipc:///tmp/x');
  });

  it('the host name is this machine too: spies on tcp://<host name>:P and tcp://127.0.0.1:P observe one endpoint', () => {
    const m = new TopologyModel(undefined, undefined, { throttleMs: 0 });
    try {
      for (const [i, host] of [hostname(), '127.0.0.1'].entries()) {
        m.ingest({ kind: 'message', seq: i + 1, ts: i + 1, session: `spy-${i}`, source: 'spy', endpoint: `tcp://${host}:5556`, direction: 'in', frames: [Buffer.from('t 1')] });
      }
      assert.deepEqual(m.snapshot().endpoints.map((e) => e.key), ['tcp://*:5556']);
    } finally {
      m.dispose();
    }
  });
});

describe('findPidOfTcpPeer: one local port, several sockets', function () {
  this.timeout(15000);
  afterEach(() => killAllPython());

  // Linux gives one local port to connections to different destinations, and a closed one
  // lingers in TIME_WAIT (inode 0): the map must not stop at the first line listed
  it('finds the candidate whatever other sockets of that local address /proc/net/tcp lists first (fixture)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'zmqdbg-proc-'));
    try {
      mkdirSync(join(root, 'net'));
      const head = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
      const line = (n: number, remote: string, st: string, inode: number) => `   ${n}: 0100007F:E71A ${remote} ${st} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 20 4 30 10 -1\n`;
      // 127.0.0.1:59162 (E71A): another process's connection elsewhere, a TIME_WAIT, then the candidate's
      writeFileSync(join(root, 'net', 'tcp'), head + line(0, '0100007F:1388', '01', 111) + line(1, '0100007F:9163', '06', 0) + line(2, '0100007F:9163', '01', 222));
      writeFileSync(join(root, 'net', 'tcp6'), head);
      for (const [pid, inode] of [[900, 111], [901, 222]]) {
        mkdirSync(join(root, String(pid), 'fd'), { recursive: true });
        symlinkSync(`socket:[${inode}]`, join(root, String(pid), 'fd', '7'));
      }
      assert.equal(await findPidOfTcpPeer('127.0.0.1:59162', [901], root), 901);
      assert.equal(await findPidOfTcpPeer('::ffff:127.0.0.1:59162', [901], root), 901);
      assert.equal(await findPidOfTcpPeer('127.0.0.1:59163', [901], root), undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('finds the candidate when another real process has a socket on the same local port', async () => {
    const CONNECT_FROM = `
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.connect(('127.0.0.1', int(sys.argv[2])))
print('connected', flush=True)
time.sleep(30)
`;
    const servers = [createServer(), createServer()];
    try {
      const ports = await Promise.all(servers.map((srv) => new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as AddressInfo).port)))));
      const local = await freePort();
      const other = runPython(CONNECT_FROM, [local, ports[0]]);
      await other.waitFor('connected');
      const peer = runPython(CONNECT_FROM, [local, ports[1]]);
      await peer.waitFor('connected');
      // both sockets are on 127.0.0.1:local; only the candidate's counts
      assert.equal(await findPidOfTcpPeer(`127.0.0.1:${local}`, [peer.proc.pid!]), peer.proc.pid);
      assert.equal(await findPidOfTcpPeer(`127.0.0.1:${local}`, [other.proc.pid!]), other.proc.pid);
    } finally {
      for (const srv of servers) srv.close();
    }
  });
});

describe('TopologyModel', function () {
  this.timeout(15000);
  let capture: Capture;
  let model: TopologyModel;
  const stops: (() => Promise<void>)[] = [];

  beforeEach(() => {
    capture = new Capture();
    model = new TopologyModel(capture, undefined, { throttleMs: 50 });
  });

  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await killAllPython();
    model.dispose();
    capture.dispose();
  });

  it('keeps the topic bytes it samples while the capture recycles the memory it reads lent', async () => {
    const small = new Capture({ maxRecords: 500 });
    const m = new TopologyModel(small, undefined, { throttleMs: 50 });
    try {
      const msg = (topic: string, i: number): CapturedMessage => {
        const frame = Buffer.alloc(1024, i & 0xff);
        frame.write(`${topic} `, 0, 'latin1');
        return { kind: 'message', seq: 0, ts: i, session: 'spy-1', source: 'spy', endpoint: 'tcp://127.0.0.1:5556', direction: 'in', frames: [frame] };
      };
      small.append(msg('weather', 0));
      // the model reads what was appended (lent) each turn; 20 windows of 1 KiB messages on another topic recycle the chunks
      for (let i = 1; i < 10_000; i++) {
        small.append(msg('zzzzzzz', i));
        if (i % 100 === 0) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setImmediate(r));
      assert.ok(small.storeStats().allocatedChunks <= 8, `chunks recycled: ${small.storeStats().allocatedChunks} allocated`);
      const topics = m.snapshot().endpoints[0].topics;
      const weather = topics.find((t) => t.count === 1)!;
      assert.equal(weather.text, 'weather');
      assert.equal(Buffer.from(weather.topic).toString('latin1'), 'weather');
    } finally {
      m.dispose();
      small.dispose();
    }
  });

  it('builds endpoint, peer and spy nodes with flow, rates and subscriptions from a tap and a spy', async () => {
    const port = await freePort();
    const pub = runPython(PUB, [port]);
    await pub.waitFor('bound');
    const tap = new ZmtpTap({ target: `127.0.0.1:${port}`, id: 'tap-1' }, capture);
    stops.push(() => tap.stop());
    await tap.listen();
    const spy = new PubSpy({ id: 'spy-1', endpoints: [`tcp://127.0.0.1:${port}`], capture });
    stops.push(() => spy.stop());
    let changes = 0;
    model.onDidChange(() => changes++);
    const counting = Date.now();
    const sub = runPythonSubscriber(tap.listenEndpoint, ['weather', 'news'], true);
    await sub.waitFor('got');
    await new Promise((r) => setTimeout(r, 1200));

    const s = model.snapshot();
    const key = `tcp://*:${port}`;
    const epNode = s.nodes.find((n) => n.id === `ep:${key}`)!;
    assert.equal(epNode.socketType, 'PUB');
    assert.equal(epNode.label, `PUB tcp://127.0.0.1:${port}`);
    const peer = s.nodes.find((n) => n.kind === 'peer')!;
    assert.equal(peer.socketType, 'SUB');
    assert.match(peer.label, /^SUB 127\.0\.0\.1:\d+$/);
    assert.deepEqual(peer.filter, { session: 'tap-1', connection: 1 });
    const tapEdge = s.edges.find((e) => e.kind === 'tap')!;
    // messages flow from the PUB's endpoint to the subscriber
    assert.equal(tapEdge.from, `ep:${key}`);
    assert.equal(tapEdge.to, peer.id);
    assert.equal(tapEdge.both, false);
    assert.deepEqual(tapEdge.subscriptions?.sort(), ['news', 'weather']);
    // ~100 msg/s from the publisher; allow a loaded machine
    assert.ok(tapEdge.rate > 30 && tapEdge.rate < 200, `rate ${tapEdge.rate}`);
    assert.ok(tapEdge.byteRate > tapEdge.rate * 8, `byteRate ${tapEdge.byteRate}`);
    const spyEdge = s.edges.find((e) => e.kind === 'spy')!;
    assert.equal(spyEdge.from, `ep:${key}`);
    assert.ok(spyEdge.rate > 30, `spy rate ${spyEdge.rate}`);
    assert.deepEqual(s.endpoints[0].topics.map((t) => t.text), ['weather']);
    // throttled: far fewer change events than records, at most one per 50 ms since counting began
    // (the subscriber's start-up is part of that time, and takes longer on a loaded machine)
    const records = capture.stats().total;
    const elapsed = Date.now() - counting;
    assert.ok(changes > 0 && changes <= elapsed / 50 + 2, `changes ${changes} in ${elapsed} ms for ${records} records`);

    // the peer is a process we know: /proc tells which one, and the map names it
    const conn = s.connections[0];
    assert.equal(await findPidOfTcpPeer(conn.peer!, [pub.proc.pid!, sub.proc.pid!]), sub.proc.pid);
    assert.equal(await findPidOfTcpPeer(conn.peer!, [pub.proc.pid!]), undefined);
    assert.equal(await findPidOfTcpPeer(conn.peer!, [sub.proc.pid!], '/nonexistent'), undefined, 'no /proc: undefined, never a rejection');
    model.setProcess({ id: 'sub-1', label: 'subscriber', pid: sub.proc.pid, state: 'running', sockets: [{ endpoint: `tcp://127.0.0.1:${port}`, role: 'connect', socketType: 'SUB' }] });
    model.setConnectionProcess(conn.id, 'sub-1');
    const named = model.snapshot();
    assert.equal(named.nodes.find((n) => n.kind === 'peer')!.label, `SUB subscriber (${sub.proc.pid})`);
    assert.equal(named.nodes.filter((n) => n.kind === 'process').length, 0, 'the process is drawn as its peer');
    model.removeProcess('sub-1');

    // the subscriber goes: its node and edge go, the closed connection stays for the doctor
    await sub.kill();
    await until(() => !model.snapshot().nodes.some((n) => n.kind === 'peer'), 'the peer node to go');
    assert.equal(model.snapshot().connections[0].state, 'closed');
  });

  it('takes processes and code endpoints as nodes, and probes a socket type without joining', async () => {
    const port = await freePort();
    const pub = runPython(PUB, [port]);
    await pub.waitFor('bound');
    const r = await probeSocketType(`tcp://127.0.0.1:${port}`);
    assert.deepEqual(r, { mechanism: 'NULL', version: '3.1', socketType: 'PUB' });
    assert.match((await probeSocketType(`tcp://127.0.0.1:${await freePort()}`)).error!, /refused/);
    model.setProcess({ id: 'p1', label: 'publisher', pid: pub.proc.pid, state: 'running', sockets: [{ endpoint: `tcp://127.0.0.1:${port}`, role: 'bind', socketType: 'PUB' }] });
    model.setCodeEndpoints([{ endpoint: `tcp://localhost:${port}`, role: 'connect', socketType: 'SUB', file: '/w/sub.py', line: 4 }]);
    const s = model.snapshot();
    assert.deepEqual(
      s.nodes.map((n) => n.id).sort(),
      [`code:/w/sub.py:4:tcp://*:${port}`, `ep:tcp://*:${port}`, 'proc:p1'],
    );
    const code = s.edges.find((e) => e.kind === 'code')!;
    assert.equal(code.from, `ep:tcp://*:${port}`, 'flow from the PUB to the SUB in the code');
    assert.equal(s.nodes.find((n) => n.kind === 'code')!.label, 'SUB connect sub.py:5');
    model.removeProcess('p1');
    assert.equal(model.snapshot().processes.length, 0);
  });
});
