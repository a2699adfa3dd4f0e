/**
 * The agents' wire protocol (docs/agent-protocol.md, src/core/sessions/agentProtocol.ts).
 *
 * Conformance: the real encoders — the Python agent in pyzmq programs, the Node
 * agent in a zeromq.js program, the native agent (LD_PRELOAD) in a C program —
 * report to a real collector through a recording proxy; every frame each sends
 * must pass the validator (and the collector must count nothing malformed), and
 * every report type and socket op the page lists must be sent by some agent.
 * Then the validator's refusals: each a reason, counted by a live collector,
 * never thrown.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capture } from '../../src/core/capture/capture';
import { AGENT_PROTOCOL_VERSION, checkReport, FRAME_KIND, LIMITS, readHello, readMessage, readReport, REPORT_TYPES, SOCKET_OPS } from '../../src/core/sessions/agentProtocol';
import { Collector } from '../../src/core/sessions/collector';
import { forEachBatchedMessage } from '../../src/core/sessions/messageBatch';
import { nativeAgentLibrary } from '../../src/core/sessions/nativeAgent';
import { AGENT_FIXTURES, killAllRuns, run } from './helpers/agentRun';
import { PYTHON, until } from './helpers/peers';

const ROOT = join(__dirname, '..', '..');
const SPEC = readFileSync(join(ROOT, 'docs', 'agent-protocol.md'), 'utf8');

/** One frame an agent sent, as the proxy saw it. */
interface SentFrame {
  agent: string;
  /** The first frame of its connection (the hello). */
  first: boolean;
  body: Buffer;
}

/**
 * A TCP proxy in front of the collector that keeps a copy of every frame the
 * agents send (the collector never writes back).
 */
async function recordingProxy(target: string): Promise<{ address: string; frames: SentFrame[]; open(): number; close(): Promise<void> }> {
  const frames: SentFrame[] = [];
  const conns = new Set<Socket>();
  const [host, port] = target.split(':');
  const server: Server = createServer((agent) => {
    conns.add(agent);
    const up = connect(Number(port), host);
    let pending = Buffer.alloc(0);
    let name = '?';
    agent.on('data', (chunk: Buffer) => {
      up.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const body = Buffer.from(pending.subarray(4, 4 + pending.readUInt32BE(0)));
        pending = pending.subarray(4 + body.length);
        const first = name === '?';
        if (first) {
          const hello = readHello(body);
          name = hello.ok ? hello.value.agent : 'not a hello';
        }
        frames.push({ agent: name, first, body });
      }
    });
    const done = () => {
      conns.delete(agent);
      up.end();
    };
    agent.on('close', done);
    agent.on('error', done);
    up.on('error', () => agent.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address() as { port: number };
  return {
    address: `127.0.0.1:${a.port}`,
    frames,
    open: () => conns.size,
    close: () => {
      for (const c of conns) c.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The spec's "Who sends what" table: row (`socket:bind`, `error`, `message`, …) → agent → ✓ (sent, and in the conformance test), · (sent, not exercised there) or —. */
function whoSendsWhat(): Map<string, Record<string, string>> {
  const section = SPEC.slice(SPEC.indexOf('## Who sends what'));
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  const table = new Map<string, Record<string, string>>();
  for (const row of rows) {
    const [what, python, node, native] = row.split('|').slice(1, 5).map((c) => c.trim());
    const m = /^`(\w+)`(?: `(\w+)`)?$/.exec(what);
    assert.ok(m, `a row of the table: ${row}`);
    table.set(m[2] ? `${m[1]}:${m[2]}` : m[1] === 'M' ? 'message' : m[1] === 'B' ? 'batch' : m[1], { python, node, native });
  }
  return table;
}

/** A 'B' frame read as the collector reads it (messageBatch.ts): whole, or refused. */
function batchChecked(body: Buffer): { ok: true; value: number } | { ok: false; reason: string } {
  let n = 0;
  return forEachBatchedMessage(body, () => n++) ? { ok: true, value: n } : { ok: false, reason: 'a malformed batch' };
}

/** What a frame is, for the coverage: `socket:bind`, `error`, `message`, ... */
function kindOf(body: Buffer): string {
  if (body[0] === FRAME_KIND.message) return 'message';
  if (body[0] === FRAME_KIND.batch) return 'batch';
  const j = JSON.parse(body.toString('utf8', 1)) as { type: string; op?: string };
  return j.type === 'socket' ? `socket:${j.op}` : j.type;
}

describe("the agents' wire protocol: the real agents' frames against the validator and a collector", function () {
  this.timeout(120000);
  let capture: Capture;
  let collector: Collector;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let tmp: string;
  /** Every kind of frame sent, by agent. */
  const sent = new Map<string, Set<string>>();

  before(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture });
    proxy = await recordingProxy(collector.address);
    tmp = mkdtempSync(join(tmpdir(), 'zmq-protocol-'));
  });
  after(async () => {
    await killAllRuns();
    await proxy.close();
    await collector.stop();
    collector.dispose();
    capture.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The environment of a program under the agents, reporting through the proxy (`native`: with the LD_PRELOAD interposer). */
  function agentEnv(native = false): Record<string, string> {
    const env = collector.environment({});
    env.ZMQ_DEBUG_COLLECTOR = proxy.address;
    if (!native) delete env.LD_PRELOAD;
    return env;
  }

  /** Waits for the agents' connections to end, then checks every frame recorded since `from`: the validator reads it, the collector counted nothing malformed. */
  async function checkFrames(from: number, agent: string): Promise<void> {
    await until(() => proxy.open() === 0, 'the agents to close their connections', 20000);
    const frames = proxy.frames.slice(from);
    assert.ok(frames.length > 2, `${agent}: frames were sent`);
    const kinds = sent.get(agent) ?? new Set<string>();
    sent.set(agent, kinds);
    for (const f of frames) {
      // each connection starts with its hello; a hello later on is refused
      const checked = f.first ? readHello(f.body) : f.body[0] === FRAME_KIND.message ? readMessage(f.body) : f.body[0] === FRAME_KIND.batch ? batchChecked(f.body) : readReport(f.body);
      assert.ok(checked.ok, `${f.agent}: ${f.body.subarray(0, 200).toString()} → ${checked.ok ? '' : checked.reason}`);
      if (f.first) assert.equal((checked.value as { version: number }).version, AGENT_PROTOCOL_VERSION);
      kinds.add(kindOf(f.body));
      assert.equal(f.agent, agent);
    }
    const st = collector.stats();
    assert.equal(st.malformed, 0, `the collector refused a frame: ${collector.lastMalformed}`);
    assert.equal(st.rejected + st.oversized + st.refused, 0);
  }

  it('the Python agent (pyzmq): sockets, endpoints, subscriptions, options, failures, monitor events, messages, waits, drops, exit', async () => {
    const from = proxy.frames.length;
    const r = await run(PYTHON, ['-u', join(AGENT_FIXTURES, 'protocol_everything.py')], agentEnv());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '70000\nEAGAIN\nTrue\nin use\n');
    // sends a green/async layer held at the high-water mark: `wait`
    const waits = await run(PYTHON, ['-u', join(AGENT_FIXTURES, '..', 'agent-truth', 'asyncio_hwm.py')], agentEnv());
    assert.equal(waits.code, 0, waits.stderr);
    // more messages than the agent's gate lets through: `drops`
    const flood = await run(PYTHON, ['-u', join(AGENT_FIXTURES, 'flood.py'), 20000], { ...agentEnv(), ZMQ_DEBUG_AGENT_GATE: '1' });
    assert.equal(flood.code, 0, flood.stderr);
    await checkFrames(from, 'python');
  });

  it('the Node agent (zeromq.js): sockets, endpoints, subscriptions, messages, a failed receive, exit', async () => {
    const from = proxy.frames.length;
    const r = await run(process.execPath, [join(AGENT_FIXTURES, 'node_protocol.js')], agentEnv());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '70000\ntimed out EAGAIN\n');
    await checkFrames(from, 'node');
  });

  it('the native agent with its shared ring: the `ring` report on the connection once the collector attached the ring', async function () {
    if (!nativeAgentLibrary()) this.skip();
    const from = proxy.frames.length;
    const program = join(tmp, 'paced_pushpull');
    execFileSync('gcc', ['-O1', '-Wall', '-o', program, join(__dirname, 'fixtures', 'native', 'paced_pushpull.c'), '-lzmq']);
    const r = await run(program, [3000], { ...agentEnv(true), ZMQ_DEBUG_AGENT_SHM: '1' });
    assert.equal(r.code, 0, r.stderr);
    await checkFrames(from, 'native');
    assert.ok(sent.get('native')?.has('ring'), 'the ring report went');
  });

  it('the native agent (a C program on libzmq): sockets, endpoints, subscriptions, options, messages cut at 64 KiB, a failure, drops, exit', async function () {
    if (!nativeAgentLibrary()) this.skip(); // built by `node esbuild.mjs` (nativeAgent.test.ts fails without it)
    const from = proxy.frames.length;
    const program = join(tmp, 'wire_protocol');
    execFileSync('gcc', ['-O1', '-Wall', '-o', program, join(__dirname, 'fixtures', 'native', 'wire_protocol.c'), '-lzmq']);
    const r = await run(program, [], { ...agentEnv(true), ZMQ_DEBUG_AGENT_GATE: '1' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '70000\nEAGAIN\n');
    await checkFrames(from, 'native');
  });

  it("every report type and socket op the spec lists is sent by an agent, as the spec's table of who sends what says", () => {
    const table = whoSendsWhat();
    const listed = [...REPORT_TYPES.filter((t) => t !== 'socket'), ...SOCKET_OPS.map((op) => `socket:${op}`), 'message', 'batch'];
    assert.deepEqual([...table.keys()].sort(), listed.sort(), 'the table has a row for every report type, socket op, the message frame and the batch');
    const seen = JSON.stringify(Object.fromEntries([...sent].map(([a, k]) => [a, [...k].sort()])));
    for (const [kind, cells] of table) {
      assert.ok(Object.values(cells).includes('✓'), `${kind}: sent by at least one agent in this test`);
      for (const [agent, cell] of Object.entries(cells)) {
        if (cell === '✓') assert.ok(sent.get(agent)?.has(kind), `the spec says ${agent} sends ${kind}; sent: ${seen}`);
        if (cell === '—') assert.ok(!sent.get(agent)?.has(kind), `the spec says ${agent} never sends ${kind}; sent: ${seen}`);
      }
    }
  });
});

describe("the agents' wire protocol: the spec page and the validator say the same", () => {
  it('the same report types and socket ops', () => {
    const headings = [...SPEC.matchAll(/^### `(\w+)`/gm)].map((m) => m[1]);
    assert.deepEqual(headings.sort(), [...REPORT_TYPES].sort());
    const socketSection = SPEC.slice(SPEC.indexOf('### `socket`'), SPEC.indexOf('### `error`'));
    const ops = [...socketSection.matchAll(/^\| ((?:`\w+`(?:, )?)+) \|/gm)].flatMap((m) => [...m[1].matchAll(/`(\w+)`/g)].map((x) => x[1]));
    assert.deepEqual(ops.filter((o) => o !== 'op').sort(), [...SOCKET_OPS].sort());
    assert.match(SPEC, new RegExp(`^# The agents' wire protocol, version ${AGENT_PROTOCOL_VERSION}$`, 'm'));
  });

  it('the same limits', () => {
    const row = (label: string) => {
      const m = new RegExp(`^\\| ${label.replace(/[()[\]]/g, '\\$&')} \\| ([\\d,]+) (?:KiB|MiB|s|characters|strings|in all)?`, 'm').exec(SPEC);
      assert.ok(m, `the Limits table has a row ${label}`);
      return Number(m[1].replace(/,/g, ''));
    };
    assert.equal(row('the first frame (`hello`)') * 1024, LIMITS.helloBytes);
    assert.equal(row('one frame after `hello`') * 1024 * 1024, LIMITS.frameBytes);
    assert.equal(row('agents connected at once'), LIMITS.agents);
    assert.equal(row('connections still to say `hello`'), LIMITS.unauthenticated);
    assert.equal(row('time to `hello`') * 1000, LIMITS.helloTimeoutMs);
    assert.equal(row('`agent`'), LIMITS.agentName);
    assert.equal(row('`name`, `runtime`'), LIMITS.processName);
    assert.equal(row('`argv`'), LIMITS.argv);
    assert.equal(row('`socketType`, `code` of a failure'), LIMITS.socketType);
    assert.equal(row('`endpoint`, `resolved`, `error`, `address`, `peer`, a site\'s `file`'), LIMITS.text);
    assert.equal(row('`option`, `event`, `code` of an event or endpoint'), LIMITS.name);
    assert.equal(row('`socket` (a socket number)'), LIMITS.socketNumber);
    assert.equal(row('distinct event names per socket (counted in the Processes view)'), LIMITS.eventNamesPerSocket);
    assert.equal(row('connected peers listed per socket'), LIMITS.peersPerSocket);
  });
});

describe("the agents' wire protocol: what the validator refuses", function () {
  this.timeout(20000);
  const J = (o: unknown) => Buffer.from('J' + JSON.stringify(o));
  const refused = (o: Record<string, unknown>) => {
    const r = checkReport(o);
    assert.ok(!r.ok, `refused: ${JSON.stringify(o)}`);
    return r.reason;
  };

  it('wrong types, missing required fields, unknown types and ops: a reason each, never a throw', () => {
    assert.match(refused({ type: 'socket', op: 'open', socket: 'x' }), /'socket' must be a whole number/);
    assert.match(refused({ type: 'socket', op: 'open', socket: -1 }), /'socket' must be a whole number/);
    assert.match(refused({ type: 'socket', op: 'open', socket: 1.5 }), /'socket' must be a whole number/);
    assert.match(refused({ type: 'socket', op: 'open', socket: 2 ** 32 }), /from 0 to 4294967295/);
    assert.match(refused({ type: 'socket', op: 'bind', socket: 1 }), /'endpoint' must be a string/);
    assert.match(refused({ type: 'socket', op: 'bind', socket: 1, endpoint: 5 }), /'endpoint' must be a string/);
    assert.match(refused({ type: 'socket', op: 'subscribe', socket: 1, topic: [] }), /'topic' must be a base64 string/);
    assert.match(refused({ type: 'socket', op: 'option', socket: 1 }), /'option' must be a string/);
    assert.match(refused({ type: 'socket', op: 'explode', socket: 1 }), /unknown socket op "explode"/);
    assert.match(refused({ type: 'error', socket: 1, op: 'poll', code: 'EAGAIN' }), /'op' of an error/);
    assert.match(refused({ type: 'error', socket: 1, op: 'send' }), /'code' of an error/);
    assert.match(refused({ type: 'wait', socket: 1, op: 'recv' }), /'op' of a wait/);
    assert.match(refused({ type: 'event', socket: 1 }), /'event' must be a string/);
    assert.match(refused({ type: 'drops', dropped: '5' }), /'dropped'/);
    assert.match(refused({ type: 'drops', dropped: -1 }), /'dropped'/);
    assert.match(refused({ type: 'nope' }), /unknown report type "nope"/);
    assert.match(refused({}), /unknown report type undefined/);
    assert.match(refused({ type: 'hello', token: 'x' }), /a second hello/);
    for (const body of [Buffer.from('J{x'), Buffer.from('J[1]'), Buffer.from('Jnull'), Buffer.from('X{}'), Buffer.from([0x4a, 0xff, 0xfe])]) {
      const r = readReport(body);
      assert.ok(!r.ok, body.toString());
    }
  });

  it('optional fields of the wrong type are left out, strings cut to their limits, ts in ms', () => {
    const long = 'e'.repeat(5000);
    const r = checkReport({ type: 'socket', op: 'bind', socket: 3, endpoint: long, resolved: 7, error: long, code: 'c'.repeat(100), site: { file: 'f', line: 0 }, ts: 1765000000.5 });
    assert.ok(r.ok);
    assert.deepEqual(r.value, { type: 'socket', socket: 3, op: 'bind', endpoint: long.slice(0, LIMITS.text), error: long.slice(0, LIMITS.text), code: 'c'.repeat(LIMITS.name), ts: 1765000000500 });
    const p = checkReport({ type: 'process', pid: 'x', argv: ['a', 1, 'b'], name: '', runtime: 'r'.repeat(300), ts: -1 });
    assert.deepEqual(p, { ok: true, value: { type: 'process', argv: ['a', 'b'], runtime: 'r'.repeat(LIMITS.processName) } });
    const big = checkReport({ type: 'event', socket: 0, event: 'x'.repeat(100), attempts: 0, since: Number.POSITIVE_INFINITY });
    assert.deepEqual(big, { ok: true, value: { type: 'event', socket: 0, event: 'x'.repeat(LIMITS.name) } });
  });

  it('a hello: its type, a token, and a version this collector reads', () => {
    assert.deepEqual(readHello(J({ type: 'hello', token: 't', agent: 'a'.repeat(40), version: 1, pid: 9 })), { ok: true, value: { type: 'hello', token: 't', agent: 'a'.repeat(LIMITS.agentName), version: 1, pid: 9 } });
    assert.deepEqual(readHello(J({ type: 'hello', token: 't' })), { ok: true, value: { type: 'hello', token: 't', agent: 'unknown', version: 1, pid: 0 } });
    assert.match((readHello(J({ type: 'hello', token: 't', version: 2 })) as { reason: string }).reason, /speaks protocol version 2; this collector reads version 1/);
    assert.match((readHello(J({ type: 'hello' })) as { reason: string }).reason, /'token' must be a string/);
    // a shared ring offered: kept only whole and right
    const ring = { fd: 7, bytes: 1 << 25, nonce: 'ab'.repeat(16) };
    assert.deepEqual(readHello(J({ type: 'hello', token: 't', ring })), { ok: true, value: { type: 'hello', token: 't', agent: 'unknown', version: 1, pid: 0, ring } });
    for (const bad of [{ ...ring, fd: -1 }, { ...ring, bytes: '1' }, { ...ring, nonce: '/dev/shm/x' }, 'ring']) assert.equal((readHello(J({ type: 'hello', token: 't', ring: bad })) as { value: { ring?: unknown } }).value.ring, undefined);
    assert.match((readHello(J({ type: 'process', token: 't' })) as { reason: string }).reason, /first frame must be a hello/);
  });

  it('message frames: bad direction, frames that do not fit, bytes after the last frame', () => {
    const message = (direction: number, frames: [number, Buffer][], extra = Buffer.alloc(0)) => {
      const head = Buffer.alloc(18);
      head[0] = FRAME_KIND.message;
      head[1] = direction;
      head.writeUInt32BE(4, 2);
      head.writeDoubleBE(1765000000, 6);
      head.writeUInt32BE(frames.length, 14);
      const parts = frames.map(([orig, kept]) => {
        const h = Buffer.alloc(8);
        h.writeUInt32BE(orig);
        h.writeUInt32BE(kept.length, 4);
        return Buffer.concat([h, kept]);
      });
      return Buffer.concat([head, ...parts, extra]);
    };
    const ok = readMessage(message(1, [[2, Buffer.from('ab')], [100, Buffer.from('cut')]]));
    assert.ok(ok.ok);
    assert.deepEqual([ok.value.direction, ok.value.socket, ok.value.ts, ok.value.frames.map(String), ok.value.truncated], ['in', 4, 1765000000000, ['ab', 'cut'], { 1: 100 }]);
    assert.match((readMessage(message(2, [])) as { reason: string }).reason, /direction must be 0 or 1/);
    assert.match((readMessage(message(0, [[1, Buffer.from('ab')]])) as { reason: string }).reason, /kept 2 of 1 bytes/);
    assert.match((readMessage(message(0, [[2, Buffer.from('ab')]], Buffer.from('z'))) as { reason: string }).reason, /1 bytes after its last frame/);
    assert.match((readMessage(message(0, []).subarray(0, 10)) as { reason: string }).reason, /shorter than its header/);
  });

  it('a live collector counts each refused report as malformed, keeps the connection, keeps the reason, and a hello of another version is rejected', async () => {
    const capture = new Capture();
    const collector = await Collector.start({ capture });
    try {
      const token = collector.environment({}).ZMQ_DEBUG_TOKEN;
      const frame = (b: Buffer) => {
        const h = Buffer.alloc(4);
        h.writeUInt32BE(b.length);
        return Buffer.concat([h, b]);
      };
      const [host, port] = collector.address.split(':');
      const s = connect(Number(port), host);
      s.on('error', () => undefined);
      const bad = [{ type: 'socket', op: 'open', socket: 'x' }, { type: 'nope' }, { type: 'error', socket: 1, op: 'send' }, { type: 'drops', dropped: 5 }, { type: 'drops', dropped: 4 }];
      s.write(Buffer.concat([J({ type: 'hello', token, agent: 'test', version: 1, pid: 5 }), ...bad.map(J), J({ type: 'socket', op: 'open', socket: 1, socketType: 'PUB' })].map(frame)));
      await until(() => [...capture.records()].some((r) => r.kind === 'socket'), 'the good report after the bad ones');
      // the drop from 5 back to 4 contradicts the running total: malformed too
      assert.equal(collector.stats().malformed, 4);
      assert.match(collector.lastMalformed ?? '', /drops report that contradicts/);
      assert.equal(s.destroyed, false);
      s.destroy();
      const v2 = connect(Number(port), host);
      v2.on('error', () => undefined);
      v2.write(frame(J({ type: 'hello', token, agent: 'future', version: 2, pid: 6 })));
      const closed = await new Promise<boolean>((r) => {
        const t = setTimeout(() => r(false), 3000);
        v2.on('close', () => (clearTimeout(t), r(true)));
      });
      v2.destroy();
      assert.ok(closed, 'the collector closed the connection of a version-2 hello');
      assert.equal(collector.stats().rejected, 1);
      assert.equal(collector.stats().agents, 1);
    } finally {
      await collector.stop();
      collector.dispose();
      capture.dispose();
    }
  });
});
