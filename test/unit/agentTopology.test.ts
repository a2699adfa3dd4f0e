/**
 * The agents on the map and in the doctor: real pyzmq programs run under the
 * real agent, reporting to a real collector; the topology model reads the
 * capture as the extension's does. Processes become groups holding their
 * sockets, sockets are connected by matching binds with connects (tcp, ipc,
 * inproc), and the doctor's inside rules fire on programs that really make
 * each fault (and not on healthy ones).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capture } from '../../src/core/capture/capture';
import { Collector } from '../../src/core/sessions/collector';
import { PubSpy } from '../../src/core/sessions/spy';
import { ZmtpTap } from '../../src/core/sessions/tap';
import { findPidOfTcpPeer } from '../../src/core/topology/peerProcess';
import { Diagnostic, DoctorOptions, DoctorRule, diagnose } from '../../src/core/topology/doctor';
import { TopologyModel } from '../../src/core/topology/topology';
import type { TopologySnapshot } from '../../src/core/topology/topologyFacts';
import { toMapGraph } from '../../src/viewers/mapGraph';
import { AgentTopology } from '../../src/core/topology/agentTopology';
import type { CaptureRecord } from '../../src/core/capture/records';
import { AGENT_FIXTURES, killAllRuns, run, start } from './helpers/agentRun';
import { freePort, PYTHON, until } from './helpers/peers';

const HERE = join(__dirname, 'fixtures', 'agentTopology');
const fixture = (name: string) => join(HERE, name);
const agentFixture = (name: string) => join(AGENT_FIXTURES, name);

describe('agents on the map: processes as groups of their sockets, sockets connected across and inside programs', function () {
  this.timeout(60000);
  let capture: Capture;
  let collector: Collector;
  let model: TopologyModel;
  let env: Record<string, string>;
  const tmp: string[] = [];
  beforeEach(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture });
    env = collector.environment({});
    model = new TopologyModel(capture, undefined, { throttleMs: 10 });
  });
  afterEach(async () => {
    await killAllRuns();
    model.dispose();
    await collector.stop();
    collector.dispose();
    for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** Waits until the agent reported the process exited (its last reports are in). */
  const exited = (pid: number) => until(() => model.snapshot().agents.processes.some((p) => p.pid === pid && p.state === 'exited'), `process ${pid} to exit`, 8000);

  it('PUB/SUB across two programs: two groups named by program and pid, bind tcp://*:0 matched with the connect to localhost, counts on the edge', async () => {
    const pub = start(PYTHON, ['-u', fixture('weather_pub.py'), 0], env);
    await until(() => /^\d+\n/.test(pub.stdout()), 'the publisher to print its port');
    const port = Number(pub.stdout().trim().split('\n')[0]);
    const sub = await run(PYTHON, [fixture('weather_sub.py'), port], env);
    assert.equal(sub.stdout, 'got 5\n');
    await exited(sub.pid);
    const pubPid = pub.proc.pid!;
    // an example we started with the same pid is that process: one group, named by the program
    model.setProcess({ id: 'ex-1', label: 'weather pub', pid: pubPid, state: 'running', sockets: [{ endpoint: `tcp://*:${port}`, role: 'bind', socketType: 'PUB' }] });
    const s = model.snapshot();
    const pubProc = s.nodes.find((n) => n.kind === 'process' && n.label === `weather_pub.py (${pubPid})`)!;
    const subProc = s.nodes.find((n) => n.kind === 'process' && n.label === `weather_sub.py (${sub.pid})`)!;
    assert.ok(pubProc && subProc, `both programs drawn: ${s.nodes.map((n) => n.label).join(' | ')}`);
    assert.equal(pubProc.id, 'proc:ex-1');
    assert.equal(s.nodes.filter((n) => n.id === 'proc:ex-1').length, 1);
    const pubSock = s.nodes.find((n) => n.kind === 'socket' && n.parent === pubProc.id)!;
    const subSock = s.nodes.find((n) => n.kind === 'socket' && n.parent === subProc.id)!;
    assert.equal(pubSock.socketType, 'PUB');
    assert.equal(pubSock.label, `PUB tcp://0.0.0.0:${port}`);
    assert.equal(subSock.socketType, 'SUB');
    assert.match(subSock.detail!, /Subscriptions: "weather"/);
    assert.match(subSock.detail!, /received 5 /);
    const edges = s.edges.filter((e) => e.kind === 'agent');
    assert.equal(edges.length, 1, 'one connection, no duplicate endpoint node or example edge');
    const [e] = edges;
    assert.deepEqual([e.from, e.to, e.both], [pubSock.id, subSock.id, false]);
    assert.equal(e.messages, 5, 'counted at the SUB, the end with one connection');
    assert.deepEqual(e.subscriptions, ['weather']);
    assert.ok(!s.nodes.some((n) => n.kind === 'endpoint'), 'no endpoint node for what only the agents see');
    // the map keeps the grouping
    const g = toMapGraph(s, diagnose(s));
    assert.equal(g.nodes.find((n) => n.id === subSock.id)!.parent, subProc.id);
    assert.equal(g.nodes.find((n) => n.id === pubSock.id)!.parent, 'proc:ex-1');
    assert.equal(g.edges.find((x) => x.id === e.id)!.kind, 'agent');
  });

  it('a spy on an agent-bound PUB: the spy hangs off the endpoint node linked to the PUB socket inside its program', async () => {
    const pub = start(PYTHON, ['-u', fixture('weather_pub.py'), 0], env);
    await until(() => /^\d+\n/.test(pub.stdout()), 'the publisher to print its port');
    const port = Number(pub.stdout().trim().split('\n')[0]);
    const spy = new PubSpy({ id: 'spy-1', endpoints: [`tcp://127.0.0.1:${port}`], capture });
    try {
      await until(() => model.snapshot().spies.some((x) => x.received.messages > 2), 'the spy to receive');
      const s = model.snapshot();
      const pubSock = s.nodes.find((n) => n.kind === 'socket' && n.socketType === 'PUB')!;
      assert.ok(pubSock);
      const ep = s.nodes.filter((n) => n.kind === 'endpoint');
      assert.deepEqual(ep.map((n) => n.id), [`ep:tcp://*:${port}`]);
      const link = s.edges.find((e) => e.kind === 'agent' && e.from === pubSock.id && e.to === ep[0].id);
      assert.ok(link, `PUB socket → endpoint: ${JSON.stringify(s.edges.map((e) => [e.kind, e.from, e.to]))}`);
      assert.equal(link.both, false, 'a PUB only sends');
      assert.ok(s.edges.some((e) => e.kind === 'spy' && e.from === ep[0].id));
    } finally {
      await spy.stop();
    }
  });

  it('a program under the agent behind a tap: its tap peer is drawn inside it, named by the program, as its own socket (no duplicate)', async () => {
    const pub = start(PYTHON, ['-u', fixture('weather_pub.py'), 0], env);
    await until(() => /^\d+\n/.test(pub.stdout()), 'the publisher to print its port');
    const port = Number(pub.stdout().trim().split('\n')[0]);
    const tap = new ZmtpTap({ target: `127.0.0.1:${port}`, id: 'tap-1' }, capture);
    try {
      const at = await tap.listen();
      const sub = start(PYTHON, [fixture('weather_sub.py'), at.port, 0], env);
      const subPid = sub.proc.pid!;
      await until(() => model.snapshot().connections.some((c) => c.state === 'open' && c.toTarget.messages + c.fromTarget.messages > 2), 'messages through the tap');
      await until(() => model.snapshot().agents.processes.some((p) => p.pid === subPid), 'the subscriber\'s agent');
      // as the extension does: which process holds the tap's peer connection (/proc)
      const c = model.snapshot().connections.find((x) => x.state === 'open')!;
      const procNode = model.snapshot().agents.processes.find((p) => p.pid === subPid)!.nodeId;
      assert.equal(await findPidOfTcpPeer(c.peer!, [subPid]), subPid);
      model.setConnectionProcess(c.id, procNode);
      const s = model.snapshot();
      const peer = s.nodes.find((n) => n.id === `peer:${c.id}`)!;
      assert.deepEqual([peer.kind, peer.label, peer.parent], ['socket', `SUB weather_sub.py (${subPid})`, procNode]);
      assert.match(peer.detail!, /Subscriptions: "weather"/);
      assert.equal(s.nodes.filter((n) => n.parent === procNode).length, 1, 'the agent\'s SUB is that peer, not a second node');
      const pubSock = s.nodes.find((n) => n.kind === 'socket' && n.socketType === 'PUB')!;
      const epId = `ep:tcp://*:${port}`;
      assert.ok(s.edges.some((e) => e.kind === 'agent' && e.from === pubSock.id && e.to === epId));
      assert.ok(s.edges.some((e) => e.kind === 'tap' && e.from === epId && e.to === peer.id));
    } finally {
      await tap.stop();
    }
  });

  it('inproc:// between two threads of one program: both sockets inside one group, connected to each other', async () => {
    const r = await run(PYTHON, [agentFixture('inproc_threads.py')], env);
    assert.equal(r.code, 0);
    await exited(r.pid);
    const s = model.snapshot();
    const proc = s.nodes.filter((n) => n.kind === 'process');
    assert.deepEqual(proc.map((n) => n.label), [`inproc_threads.py (${r.pid})`]);
    const socks = s.nodes.filter((n) => n.kind === 'socket');
    assert.deepEqual(socks.map((n) => [n.socketType, n.parent]), [['REP', proc[0].id], ['REQ', proc[0].id]]);
    const [link] = s.agents.links;
    assert.equal(s.agents.links.length, 1);
    assert.equal(link.transport, 'inproc');
    const e = s.edges.find((x) => x.id === link.id)!;
    assert.equal(e.both, true);
    assert.deepEqual([e.from, e.to].sort(), socks.map((n) => n.id).sort());
    assert.equal(e.messages, 6, '3 requests and 3 replies');
    assert.equal(e.state, 'declared', 'the program has exited');
  });

  it('a Node program (zeromq v6): its group, PUSH bound on tcp://127.0.0.1:* connected to its own PULL', async () => {
    const r = await run(process.execPath, [agentFixture('node_pushpull.js')], env);
    assert.equal(r.code, 0);
    await exited(r.pid);
    const s = model.snapshot();
    const proc = s.nodes.find((n) => n.kind === 'process')!;
    assert.equal(proc.label, `node_pushpull.js (${r.pid})`);
    assert.deepEqual(s.nodes.filter((n) => n.parent === proc.id).map((n) => n.socketType), ['PUSH', 'PULL', 'SUB', 'PULL']);
    assert.equal(s.agents.links.length, 1, 'the SUB connects to an inproc:// nobody binds');
    const [l] = s.agents.links;
    const e = s.edges.find((x) => x.id === l.id)!;
    assert.deepEqual([s.nodes.find((n) => n.id === e.from)!.socketType, s.nodes.find((n) => n.id === e.to)!.socketType, e.both, e.messages], ['PUSH', 'PULL', false, 3]);
  });

  it('ipc:// between two programs: connected by path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zmq-agent-topo-'));
    tmp.push(dir);
    const path = join(dir, 'pair.sock');
    const server = start(PYTHON, [agentFixture('ipc_pair.py'), 'bind', path], env);
    const client = await run(PYTHON, [agentFixture('ipc_pair.py'), 'connect', path], env);
    const srv = await server.done;
    await exited(client.pid);
    await exited(srv.pid);
    const s = model.snapshot();
    assert.equal(s.agents.links.length, 1);
    const [l] = s.agents.links;
    assert.equal(l.transport, 'ipc');
    assert.equal(l.endpoint, `ipc://${path}`);
    const node = (id: string) => s.nodes.find((n) => n.id === id)!;
    const parents = [node(l.connectSocket).parent, node(l.bindSocket).parent].map((p) => node(p!).label);
    assert.deepEqual(parents, [`ipc_pair.py (${client.pid})`, `ipc_pair.py (${srv.pid})`]);
    assert.equal(s.edges.find((e) => e.id === l.id)!.messages, 6);
  });
});

describe('doctor rules only the inside can see, each made by a real program under the agent', function () {
  this.timeout(60000);
  let capture: Capture;
  let collector: Collector;
  let model: TopologyModel;
  let env: Record<string, string>;
  beforeEach(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture });
    env = collector.environment({});
    model = new TopologyModel(capture, undefined, { throttleMs: 10 });
  });
  afterEach(async () => {
    await killAllRuns();
    model.dispose();
    await collector.stop();
    collector.dispose();
  });

  async function runToEnd(name: string, ...args: (string | number)[]): Promise<{ stdout: string; pid: number; s: TopologySnapshot }> {
    const r = await run(PYTHON, [fixture(name), ...args], env);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    await until(() => model.snapshot().agents.processes.some((p) => p.pid === r.pid && p.state === 'exited'), 'the program to exit', 8000);
    return { stdout: r.stdout, pid: r.pid, s: model.snapshot() };
  }
  const of = (s: TopologySnapshot, rule: DoctorRule, o?: DoctorOptions): Diagnostic[] => diagnose(s, o).filter((d) => d.rule === rule);

  it('send-dropped: EAGAIN at the high-water mark of a peer that does not read, and with no peer', async () => {
    const { stdout, s } = await runToEnd('hwm_drop.py');
    const [, full, alone] = /full (\d+) alone (\d+)/.exec(stdout)!.map(Number);
    assert.ok(full > 0 && alone === 5, stdout);
    const found = of(s, 'send-dropped');
    assert.equal(found.length, 2);
    const hwm = found.find((d) => d.message.includes('inproc') || d.message.includes('high-water mark:'))!;
    assert.match(hwm.message, new RegExp(`^${full} sends on PUSH \\S+ in hwm_drop.py .* failed with EAGAIN, at the high-water mark: the queue to its peer PULL .* \\(SNDHWM 1, the peer's RCVHWM 1\\)`));
    assert.equal(hwm.edgeIds.length, 1);
    const none = found.find((d) => d !== hwm)!;
    assert.match(none.message, /^5 sends on PUSH .* failed with EAGAIN, with no peer connected/);
    assert.ok(none.nodeIds.every((id) => s.nodes.some((n) => n.id === id)));
    // a connect nothing observed listens at (the agent fixtures' PUSH to port 1, SNDHWM 2)
    const r = await run(PYTHON, [agentFixture('hwm_eagain.py')], env);
    await until(() => model.snapshot().agents.processes.some((p) => p.pid === r.pid && p.state === 'exited'), 'exit', 8000);
    const lonely = of(model.snapshot(), 'send-dropped').filter((d) => d.message.includes('hwm_eagain.py'));
    assert.equal(lonely.length, 1);
    const failed = /failed (\d+)/.exec(r.stdout)![1];
    assert.match(lonely[0].message, new RegExp(`^${failed} sends on PUSH`));
    assert.match(lonely[0].message, /^\d+ sends on PUSH .* failed with EAGAIN, with no peer: nothing observed listens at tcp:\/\/127\.0\.0\.1:1, so the socket queued up to SNDHWM 2 for a peer that never came/);
  });

  it('slow-joiner: the messages a PUB sent after the SUB connected, subscribed and the PUB bound, before its first delivery, counted exactly', async () => {
    const { stdout, s } = await runToEnd('slow_joiner.py', await freePort());
    const first = Number(/first tick (\d+) received (\d+)/.exec(stdout)![1]);
    assert.ok(first > 0, `the fixture really loses its first messages: ${stdout}`);
    const [d] = of(s, 'slow-joiner');
    assert.ok(d, 'found');
    assert.equal(s.agents.slowJoiners[0].lost, first, 'lost = the number of the first tick received (ticks 0.. were lost)');
    assert.equal(s.agents.slowJoiners[0].atLeast, false);
    assert.equal(s.agents.slowJoiners[0].streamRunning, false, 'the PUB bound and published only after the SUB had subscribed');
    assert.match(d.message, new RegExp(`missed the first ${first} messages? matching its subscription`));
    assert.match(d.message, /XPUB/);
    assert.deepEqual(d.edgeIds, [s.agents.links[0].id]);
    const subNode = s.nodes.find((n) => n.id === s.agents.slowJoiners[0].sub)!;
    assert.match(subNode.detail!, new RegExp(`Missed the first ${first} matching messages of PUB \\S+ of slow_joiner\\.py when it joined$`));
  });

  it('slow-joiner: a send stamped just after its delivery (the native agent stamps once zmq_send returned) is still the first delivered, nothing lost', () => {
    const t = new AgentTopology(100_000);
    const at = (pid: number, ts: number) => ({ seq: 0, ts, session: 's', source: 'agent' as const, pid, process: `p${pid}` });
    const records: CaptureRecord[] = [
      { ...at(1, 1000), kind: 'process', endpoint: '', state: 'started', argv: ['pub'], cwd: '/' },
      { ...at(2, 1000), kind: 'process', endpoint: '', state: 'started', argv: ['sub'], cwd: '/' },
      { ...at(1, 1001), kind: 'socket', op: 'open', endpoint: '', socket: '1.1', socketType: 'PUB' },
      { ...at(1, 1002), kind: 'socket', op: 'bind', endpoint: 'ipc:///tmp/x', socket: '1.1', socketType: 'PUB' },
      { ...at(2, 1003), kind: 'socket', op: 'open', endpoint: '', socket: '2.1', socketType: 'SUB' },
      { ...at(2, 1004), kind: 'socket', op: 'connect', endpoint: 'ipc:///tmp/x', socket: '2.1', socketType: 'SUB' },
      { ...at(2, 1005), kind: 'socket', op: 'subscribe', endpoint: 'ipc:///tmp/x', socket: '2.1', socketType: 'SUB', topic: Buffer.from('') },
      { ...at(2, 1100), kind: 'message', endpoint: 'ipc:///tmp/x', socket: '2.1', socketType: 'SUB', direction: 'in', frames: [Buffer.from('first')] },
      { ...at(1, 1100.2), kind: 'message', endpoint: 'ipc:///tmp/x', socket: '1.1', socketType: 'PUB', direction: 'out', frames: [Buffer.from('first')] },
    ];
    for (const r of records) t.ingest(r);
    const [j] = t.facts(2000).slowJoiners;
    assert.ok(j, 'the link is measured');
    assert.equal(j.lost, 0);
  });

  it('req-rep-out-of-turn: a REQ that sends twice (EFSM), and a healthy REQ/REP without it', async () => {
    const { stdout, s } = await runToEnd('req_twice.py');
    assert.match(stdout, /second send EFSM: True/);
    const found = of(s, 'req-rep-out-of-turn');
    assert.equal(found.length, 1);
    assert.match(found[0].message, /^REQ \S+ in req_twice\.py \(pid \d+, exited [^)]+\) sent a request before receiving the reply to the previous one: 1 send call failed with EFSM/);
    assert.equal(found[0].severity, 'error');
    // the healthy inproc REQ/REP of the agent fixtures only trips its deliberate recv out of turn
    const r = await run(PYTHON, [agentFixture('inproc_threads.py')], env);
    await until(() => model.snapshot().agents.processes.some((p) => p.pid === r.pid && p.state === 'exited'), 'exit', 8000);
    const again = of(model.snapshot(), 'req-rep-out-of-turn').filter((d) => d.message.includes('inproc_threads.py'));
    assert.equal(again.length, 1);
    assert.match(again[0].message, /tried to receive before sending a request/);
  });

  it('router-no-delimiter: a ROUTER replying [identity, body] to a REQ', async () => {
    const { stdout, s } = await runToEnd('router_no_delimiter.py');
    assert.match(stdout, /reply arrived: False/);
    const [d] = of(s, 'router-no-delimiter');
    assert.ok(d);
    assert.match(d.message, /^ROUTER \S+ in router_no_delimiter\.py .* sent 1 message whose envelope lost its empty delimiter .* followed by "world".*is a REQ/);
    assert.equal(d.edgeIds.length, 1);
  });

  it('sub-near-miss: "Weather" vs "weather N" (case) and "weather paris" vs a topic frame "weather" (frame boundary)', async () => {
    const { stdout, s } = await runToEnd('near_miss.py');
    assert.match(stdout, /received False False/);
    const found = of(s, 'sub-near-miss', { subscribeGraceMs: 200 }).map((d) => d.message);
    assert.equal(found.length, 2, found.join('\n'));
    assert.ok(found.some((m) => /subscribes to "Weather" .*"Weather" differs from "weather" only in case or spacing/.test(m)), found.join('\n'));
    assert.ok(found.some((m) => /"weather paris" runs past the topic frame "weather"/.test(m)), found.join('\n'));
    // the slow joiner does not fire where nothing was received
    assert.equal(of(s, 'slow-joiner').length, 0);
  });

  it('healthy programs make none of the inside findings', async () => {
    const pub = start(PYTHON, ['-u', fixture('weather_pub.py'), 0], env);
    await until(() => /^\d+\n/.test(pub.stdout()), 'the port');
    const port = Number(pub.stdout().trim().split('\n')[0]);
    const sub = await run(PYTHON, [fixture('weather_sub.py'), port], env);
    await until(() => model.snapshot().agents.processes.some((p) => p.pid === sub.pid && p.state === 'exited'), 'exit', 8000);
    const inside: DoctorRule[] = ['send-dropped', 'slow-joiner', 'req-rep-out-of-turn', 'router-no-delimiter', 'sub-near-miss'];
    const s = model.snapshot();
    const found = diagnose(s, { subscribeGraceMs: 200 }).filter((d) => inside.includes(d.rule));
    assert.deepEqual(found.map((d) => d.message), []);
    // the subscriber joined a running stream: what it missed during its handshake is measured, not reported
    assert.ok(s.agents.slowJoiners.length >= 1, 'measured');
    for (const j of s.agents.slowJoiners) assert.equal(j.streamRunning, true);
  });
});
