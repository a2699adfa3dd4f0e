/**
 * The map's graph and its message protocol (pure functions), and what the
 * model learns from an example run of the real catalog.
 */
import assert from 'node:assert/strict';
import { diagnose } from '../../src/core/topology/doctor';
import { processFromExample } from '../../src/core/topology/exampleTopology';
import { EXAMPLES } from '../../src/core/examples/catalog';
import type { ExampleProcess, ExampleRun } from '../../src/core/examples/exampleRunner';
import { formatRate, framesFilterFor, toMapGraph } from '../../src/viewers/mapGraph';
import { TopologyModel } from '../../src/core/topology/topology';
import { parseFromMap, parseToMap } from '../../src/shared/protocol/topology';
import { formatMs, latencyBrief, latencyHistogramLines, latencySummary } from '../../src/shared/latencyText';
import type { CaptureRecord } from '../../src/core/capture/records';

function modelWithCode(): TopologyModel {
  const m = new TopologyModel(undefined, undefined, { throttleMs: 1e6 });
  m.setCodeEndpoints([
    { endpoint: 'tcp://*:5557', role: 'bind', socketType: 'PUSH', file: '/w/vent.py', line: 5 },
    { endpoint: 'tcp://localhost:5557', role: 'connect', socketType: 'SUB', file: '/w/sub.py', line: 3 },
    { endpoint: 'tcp://localhost:5999', role: 'connect', socketType: 'PULL', file: '/w/lost.py', line: 7 },
  ]);
  return m;
}

describe('toMapGraph', () => {
  it('hides endpoints known only from code unless asked, and folds code sites into their endpoint', () => {
    const m = modelWithCode();
    const s = m.snapshot();
    const findings = diagnose(s);
    const hidden = toMapGraph(s, findings);
    assert.deepEqual(hidden.nodes, []);
    assert.equal(hidden.hiddenCodeNodes, 2);
    assert.equal(hidden.showCode, false);
    assert.deepEqual(hidden.counts, { error: 0, warning: 2, info: 0 });

    const shown = toMapGraph(s, findings, { showCode: true });
    assert.deepEqual(shown.nodes.map((n) => n.id).sort(), ['ep:tcp://*:5557', 'ep:tcp://*:5999']);
    const vent = shown.nodes.find((n) => n.id === 'ep:tcp://*:5557')!;
    assert.equal(vent.codeOnly, true);
    assert.equal(vent.severity, 'warning');
    assert.match(vent.detail!, /In code: PUSH bind vent\.py:6; SUB connect sub\.py:4/);
    assert.match(vent.problems[0], /SUB connects to tcp:\/\/localhost:5557, which vent\.py:6 binds as PUSH/);
    assert.deepEqual(shown.edges, []);
    m.dispose();
  });

  it('formats rates and finds the frames filter of a node', () => {
    assert.equal(formatRate(0, 0), '');
    assert.equal(formatRate(1.234, 20), '1.23 msg/s · 20 B/s');
    assert.equal(formatRate(1234, 3 * 1024 * 1024), '1234 msg/s · 3 MiB/s');
    const m = new TopologyModel(undefined, { list: () => [], onDidChange: () => ({ dispose() {} }) });
    m.ingest({ seq: 1, ts: Date.now(), kind: 'message', source: 'spy', session: 'spy-1', endpoint: 'tcp://127.0.0.1:5556', direction: 'in', frames: [new Uint8Array([65])] });
    const s = m.snapshot();
    assert.deepEqual(framesFilterFor(s, 'node', 'spy:spy-1@tcp://*:5556'), { session: 'spy-1' });
    assert.deepEqual(framesFilterFor(s, 'node', 'ep:tcp://*:5556'), { endpoint: 'tcp://127.0.0.1:5556' });
    assert.equal(framesFilterFor(s, 'node', 'nope'), undefined);
    m.dispose();
  });
});

describe('request latency on the map', () => {
  it("puts a tap connection's round trips on its edge, and nowhere else", () => {
    const m = new TopologyModel(undefined, undefined, { throttleMs: 1e6 });
    const base = { session: 'tap-1', source: 'tap' as const, endpoint: 'tcp://127.0.0.1:5555', connection: 1 };
    let seq = 0;
    const rec = (r: object) => m.ingest({ seq: ++seq, ...base, ...r } as CaptureRecord);
    rec({ kind: 'connection', ts: 1000, state: 'open', peer: '127.0.0.1:40000' });
    // REQ → REP: round trips of 3, 12 and 40 ms
    for (const [sent, rtt] of [
      [2000, 3],
      [3000, 12],
      [4000, 40],
    ]) {
      rec({ kind: 'message', ts: sent, direction: 'toTarget', socketType: 'REQ', peerSocketType: 'REP', frames: [Buffer.alloc(0), Buffer.from('ping')] });
      rec({ kind: 'message', ts: sent + rtt, direction: 'fromTarget', socketType: 'REP', peerSocketType: 'REQ', frames: [Buffer.alloc(0), Buffer.from('pong')] });
    }
    rec({ kind: 'message', ts: 5000, direction: 'toTarget', socketType: 'REQ', peerSocketType: 'REP', frames: [Buffer.alloc(0), Buffer.from('ping')] });
    const s = m.snapshot();
    assert.deepEqual(m.connectionLatency('tap-1#1'), s.connections[0].latency);
    const g = toMapGraph(s, []);
    const edge = g.edges.find((e) => e.id === 'edge:tap-1#1')!;
    assert.deepEqual(
      { ...edge.latency, histogram: undefined },
      { requests: 3, p50Ms: 12, p95Ms: 40, p99Ms: 40, maxMs: 40, pending: 1, histogram: undefined },
    );
    assert.deepEqual(edge.latency!.histogram!.counts.slice(0, 7), [0, 0, 1, 0, 1, 1, 0], '≤5, ≤20 and ≤50 ms');
    assert.equal(g.edges.filter((e) => e.latency).length, 1);
    // through the protocol as the webview gets it
    const back = parseToMap(JSON.parse(JSON.stringify({ type: 'topology/update', graph: g })));
    assert.equal(back.type, 'topology/update');
    if (back.type === 'topology/update') assert.deepEqual(back.graph.edges.find((e) => e.id === edge.id)!.latency, edge.latency);
    m.dispose();
  });

  it('renders latency as text, one way for the CLI, the Sessions view and the map', () => {
    const l = { requests: 60, p50Ms: 20.4, p95Ms: 80.2, p99Ms: 81, maxMs: 1234, pending: 1, unmatched: 2 };
    assert.equal(formatMs(0.84), '0.8 ms');
    assert.equal(latencyBrief(l), 'p50 20 ms · p99 81 ms');
    assert.equal(latencySummary(l), '60 requests, p50 20 ms, p95 80 ms, p99 81 ms, max 1234 ms, 1 pending, 2 unmatched');
    assert.equal(latencySummary({ ...l, requests: 1, pending: 0, unmatched: 0 }), '1 request, p50 20 ms, p95 80 ms, p99 81 ms, max 1234 ms');
    const bounds = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
    assert.deepEqual(latencyHistogramLines({ boundsMs: bounds, counts: [0, 0, 0, 0, 40, 0, 20, 0, 0, 0, 1] }, 8), [
      '≤ 20 ms   ████████  40',
      '≤ 50 ms              0',
      '≤ 100 ms  ████      20',
      '≤ 200 ms             0',
      '≤ 500 ms             0',
      '≤ 1 s                0',
      '> 1 s     █          1',
    ]);
    assert.deepEqual(latencyHistogramLines({ boundsMs: bounds, counts: new Array(11).fill(0) }), []);
  });

  it('drops a latency or a histogram that does not hold together', () => {
    const graph = (latency: unknown) => ({
      type: 'topology/update',
      graph: { nodes: [{ id: 'a', kind: 'endpoint', label: 'REP x', problems: [] }], edges: [{ id: 'e', from: 'a', to: 'a', latency }] },
    });
    const latencyOf = (v: unknown) => {
      const m = parseToMap(graph(v));
      return m.type === 'topology/update' ? m.graph.edges[0].latency : undefined;
    };
    const ok = { requests: 2, p50Ms: 1, p95Ms: 2, p99Ms: 2, maxMs: 2 };
    assert.deepEqual(latencyOf(ok), ok);
    assert.equal(latencyOf({ ...ok, p99Ms: -1 }), undefined);
    assert.equal(latencyOf({ ...ok, requests: 'many' }), undefined);
    assert.deepEqual(latencyOf({ ...ok, histogram: { boundsMs: [1, 2], counts: [1, 1] } }), ok, 'one count more than bounds');
    assert.deepEqual(latencyOf({ ...ok, histogram: { boundsMs: [1, 'x'], counts: [1, 1, 0] } }), ok);
    assert.deepEqual(latencyOf({ ...ok, histogram: { boundsMs: [1, 2], counts: [1, 1, 0] } }), { ...ok, histogram: { boundsMs: [1, 2], counts: [1, 1, 0] } });
  });
});

describe('toMapGraph with agent records', () => {
  it('draws a program as a process holding its sockets (parent), and the protocol keeps the grouping', () => {
    const m = new TopologyModel(undefined, undefined, { throttleMs: 1e6 });
    const ts = Date.now();
    const base = { seq: 0, ts, session: 'agent', source: 'agent' as const, process: 'pub_server.py', pid: 4242 };
    m.ingest({ ...base, kind: 'process', endpoint: '', state: 'started', argv: ['python3', 'pub_server.py'], cwd: '/w' });
    m.ingest({ ...base, kind: 'socket', op: 'open', endpoint: '', socket: '4242.1', socketType: 'PUB', sndhwm: 1000, rcvhwm: 1000 });
    m.ingest({ ...base, kind: 'socket', op: 'bind', endpoint: 'tcp://0.0.0.0:5556', requested: 'tcp://*:5556', socket: '4242.1', socketType: 'PUB' });
    const s = m.snapshot();
    const g = toMapGraph(s, diagnose(s));
    const proc = g.nodes.find((n) => n.kind === 'process')!;
    const sock = g.nodes.find((n) => n.kind === 'socket')!;
    assert.deepEqual([proc.id, proc.label], ['aproc:agent:4242', 'pub_server.py (4242)']);
    assert.deepEqual([sock.label, sock.parent, sock.socketType], ['PUB tcp://0.0.0.0:5556', proc.id, 'PUB']);
    assert.match(sock.detail!, /bind tcp:\/\/0\.0\.0\.0:5556 \(asked tcp:\/\/\*:5556\)/);
    assert.match(sock.detail!, /High-water marks: sndhwm 1000, rcvhwm 1000/);
    assert.match(proc.detail!, /Command: python3 pub_server\.py/);
    const back = parseToMap(JSON.parse(JSON.stringify({ type: 'topology/update', graph: g })));
    assert.ok(back.type === 'topology/update' && back.graph.nodes.find((n) => n.id === sock.id)!.parent === proc.id);
    // selecting them narrows the frames viewer to the program's or the socket's records
    assert.deepEqual(framesFilterFor(s, 'node', sock.id), { session: 'agent', socket: '4242.1' });
    assert.deepEqual(framesFilterFor(s, 'node', proc.id), { session: 'agent', process: '4242' });
    m.dispose();
  });
});

describe('topology map protocol', () => {
  it('accepts what the host sends and drops what does not hold together', () => {
    const m = parseToMap({
      type: 'topology/update',
      graph: {
        nodes: [{ id: 'a', kind: 'endpoint', label: 'PUB x', problems: ['p', 3] }, { id: 'b', label: 'no kind' }, 'junk'],
        edges: [
          { id: 'e1', from: 'a', to: 'a', both: true, rateText: '1 msg/s', problems: [] },
          { id: 'e2', from: 'a', to: 'missing' },
        ],
        counts: { error: 1, warning: 'x' },
        hiddenCodeNodes: 3,
        showCode: true,
      },
    });
    assert.equal(m.type, 'topology/update');
    if (m.type !== 'topology/update') return;
    assert.deepEqual(m.graph.nodes.map((n) => [n.id, n.problems]), [['a', ['p']]]);
    assert.deepEqual(m.graph.edges.map((e) => e.id), ['e1']);
    assert.deepEqual(m.graph.counts, { error: 1, warning: 0, info: 0 });
    assert.equal(m.graph.hiddenCodeNodes, 3);
    assert.throws(() => parseToMap({ type: 'other' }), /unknown message type/);
    assert.throws(() => parseToMap(null), /without a type/);
  });

  it('validates what the webview sends', () => {
    assert.deepEqual(parseFromMap({ type: 'select', target: 'edge', id: 'x' }), { type: 'select', target: 'edge', id: 'x' });
    assert.deepEqual(parseFromMap({ type: 'setShowCode', showCode: true }), { type: 'setShowCode', showCode: true });
    assert.throws(() => parseFromMap({ type: 'select', target: 'graph', id: 'x' }), /bad select/);
    assert.throws(() => parseFromMap({ type: 'openFrames', target: 'node', id: 'x'.repeat(3000) }), /bad openFrames/);
    assert.throws(() => parseFromMap({ type: 'setShowCode', showCode: 'yes' }), /bad setShowCode/);
  });
});

describe('processFromExample', () => {
  function fakeProcess(run: ExampleRun, role: string, args: string[], stderr: string[] = []): ExampleProcess {
    return {
      id: `${run.id}/${role}-1`,
      runId: run.id,
      role,
      instance: 1,
      label: role,
      command: 'node',
      args: ['script.js', ...args],
      pid: 4242,
      state: 'running',
      exitCode: undefined,
      signal: undefined,
      error: undefined,
      restarts: 0,
      droppedLines: 0,
      output: () => stderr.map((text) => ({ ts: 1, stream: 'stderr' as const, text })),
    };
  }

  it('reads roles, socket types and endpoints from the catalog, and connects through taps to their targets', () => {
    const example = EXAMPLES.find((e) => e.id === 'round-robin')!;
    const run: ExampleRun = {
      id: 'round-robin#1',
      example,
      language: 'node',
      startedAt: 0,
      useTaps: true,
      ports: { push: 5000 },
      observations: [{ kind: 'tap', label: 'tap', endpoint: 'tcp://127.0.0.1:5000', listen: 'tcp://127.0.0.1:6000', inPath: true }],
      processes: [],
    };
    const vent = processFromExample(run, fakeProcess(run, 'ventilator', ['tcp://127.0.0.1:5000', '20']));
    assert.deepEqual(vent.sockets, [{ endpoint: 'tcp://127.0.0.1:5000', role: 'bind', socketType: 'PUSH' }]);
    assert.equal(vent.label, 'round-robin#1 ventilator');
    const worker = processFromExample(run, fakeProcess(run, 'worker', ['tcp://127.0.0.1:6000', '1'], ['Error: Address already in use tcp://127.0.0.1:5000']));
    assert.deepEqual(worker.sockets, [{ endpoint: 'tcp://127.0.0.1:5000', role: 'connect', socketType: 'PULL' }]);
    assert.deepEqual(worker.errors?.map((e) => e.endpoint), ['tcp://127.0.0.1:5000']);
  });
});
