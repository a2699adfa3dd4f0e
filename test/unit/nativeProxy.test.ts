/**
 * zmq_proxy and zmq_proxy_steerable under the native agent: a real C program
 * (fixtures/native/zmq_proxies.c) on Debian's libzmq runs each proxy shape
 * with and without the agent. With it, it prints the same (its capture
 * socket's copies and the STATISTICS counters included) and ends the same;
 * every message the proxy moved is in the capture as the program's own
 * sockets' receives and sends, both ways, byte-exact and once; the doctor has
 * nothing to say (no unseen path, no loss).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CapturedEvent, CapturedMessage, CaptureRecord, SocketRecord } from '../../src/core/capture/records';
import { nativeAgentLibrary } from '../../src/core/sessions/nativeAgent';
import { diagnose, Diagnostic } from '../../src/core/topology/doctor';
import { TopologyModel } from '../../src/core/topology/topology';
import { collectorPerTest, run, RunResult } from './helpers/agentRun';
import { until } from './helpers/peers';

const HERE = join(__dirname, 'fixtures', 'native');

/** A message as the fixture prints it: each frame in hex ('-' when empty), '|' between. */
const hex = (m: CapturedMessage, id = false) =>
  m.frames.map((f) => (id && f.byteLength === 5 && f[0] === 0 ? '<id>' : f.byteLength ? Buffer.from(f).toString('hex') : '-')).join('|');
const text = (s: string) => Buffer.from(s).toString('hex');
/** The fixture's lines that start with `prefix`, without it. */
const printed = (stdout: string, prefix: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith(`${prefix} `))
    .map((l) => l.slice(prefix.length + 1));
const sorted = (xs: string[]) => [...xs].sort();

interface ProxyRun {
  plain: RunResult;
  /** the program's sockets in the order it opened them */
  sockets: string[];
  /** the sockets of a type */
  ofType(type: string): string[];
  /** a socket's messages in one direction, in order, as the fixture prints them */
  on(socket: string, direction: 'in' | 'out', id?: boolean): string[];
  messages: CapturedMessage[];
  events: CapturedEvent[];
  found: Diagnostic[];
}

describe('native agent: zmq_proxy and zmq_proxy_steerable, message by message', function () {
  this.timeout(120000);
  const agents = collectorPerTest();
  let dir: string;
  let program: string;

  before(() => {
    assert.ok(nativeAgentLibrary(), 'the build made the native agent (node esbuild.mjs)');
    dir = mkdtempSync(join(tmpdir(), 'zmq-proxies-'));
    program = join(dir, 'zmq_proxies');
    execFileSync('gcc', ['-O1', '-Wall', '-o', program, join(HERE, 'zmq_proxies.c'), '-lzmq', '-lpthread']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The fixture in `mode` without the agent, then with it: the same output and end; what the agent reported. */
  async function proxyRun(mode: string, env: Record<string, string> = {}): Promise<ProxyRun> {
    const plain = await run(program, [mode], env);
    const model = new TopologyModel(agents.capture, undefined, { throttleMs: 10 });
    try {
      const r = await run(program, [mode], { ...agents.collector.environment({}), ...env });
      assert.equal(r.stdout, plain.stdout, 'the same output with the agent');
      assert.equal(r.stderr, plain.stderr);
      assert.equal(r.code, plain.code);
      assert.equal(r.signal, plain.signal);
      const exited = () => model.snapshot().agents.processes.some((p) => p.pid === r.pid && p.state === 'exited');
      if (plain.signal === null) await until(exited, 'the exit reported', 10000);
      const records: CaptureRecord[] = [...agents.capture.records()].filter((x) => x.pid === r.pid);
      const opens = records.filter((x): x is SocketRecord => x.kind === 'socket' && x.op === 'open');
      const sockets = opens.map((x) => x.socket!);
      const ofType = (type: string) => opens.filter((x) => x.socketType === type).map((x) => x.socket!);
      const messages = records.filter((x): x is CapturedMessage => x.kind === 'message');
      const events = records.filter((x): x is CapturedEvent => x.kind === 'event');
      const on = (socket: string, direction: 'in' | 'out', id = false) =>
        messages.filter((m) => m.socket === socket && m.direction === direction).map((m) => hex(m, id));
      return { plain, sockets, ofType, on, messages, events, found: diagnose(model.snapshot()) };
    } finally {
      model.dispose();
    }
  }

  /** Nothing unseen, nothing lost: no device:unseen event and no finding of the doctor. */
  function nothingUnseen(p: ProxyRun): void {
    assert.deepEqual(p.events.filter((e) => e.type === 'device:unseen'), []);
    assert.deepEqual(p.found.map((d) => `${d.rule}: ${d.message}`), []);
  }

  it('a ROUTER/DEALER queue between REQ clients and REP workers: each request and reply, with its envelope, received and sent by the proxy once', async () => {
    const p = await proxyRun('queue');
    assert.equal(p.plain.code, 0, p.plain.stderr);
    assert.match(p.plain.stdout, /proxy returned -1 ETERM\n$/);
    // the proxy's sockets are made first; the clients (main thread) and the workers (threads) after, in any order
    const [router, dealer] = p.sockets;
    const clients = p.ofType('REQ');
    const reps = p.ofType('REP');
    assert.deepEqual([clients.length, reps.length], [2, 2]);
    const requests = p.on(router, 'in');
    assert.equal(requests.length, 20);
    for (const r of requests) assert.match(r, /^[0-9a-f]{10}\|-\|/, 'the routing id and the empty delimiter come with each request');
    assert.deepEqual(p.on(dealer, 'out'), requests, 'the DEALER sent on each request the ROUTER received, in order, envelope and all');
    const replies = p.on(dealer, 'in');
    assert.equal(replies.length, 20);
    assert.deepEqual(p.on(router, 'out'), replies, 'the ROUTER sent back each reply the DEALER received');
    const body = (m: string) => m.split('|').slice(2).join('|');
    // byte-exact against both ends: what the clients sent and the workers got, what the workers sent and the clients got
    assert.deepEqual(sorted(requests.map(body)), sorted(clients.flatMap((c) => p.on(c, 'out'))));
    assert.deepEqual(sorted(requests.map(body)), sorted(reps.flatMap((w) => p.on(w, 'in'))));
    assert.deepEqual(sorted(replies.map(body)), sorted(reps.flatMap((w) => p.on(w, 'out'))));
    assert.deepEqual(sorted(replies.map(body)), sorted([...printed(p.plain.stdout, 'client0 in'), ...printed(p.plain.stdout, 'client1 in')]));
    assert.equal(p.messages.length, 20 * 8, 'each request and reply once on each of its four hops');
    nothingUnseen(p);
  });

  it('an XSUB/XPUB forwarder: the late subscription goes up through it, the messages come down, each once', async () => {
    const p = await proxyRun('forwarder');
    assert.equal(p.plain.code, 0, p.plain.stderr);
    const [xsub, xpub, pub, sub] = p.sockets;
    // the subscription the SUB made after the proxy started: received by the XPUB, sent on by the XSUB; then, when
    // the SUB's connection ends before the context does, the XPUB's unsubscription (which the XSUB may not get to send)
    const up = p.on(xpub, 'in');
    assert.ok([[`01${text('A')}`], [`01${text('A')}`, `00${text('A')}`]].some((x) => JSON.stringify(x) === JSON.stringify(up)), up.join(', '));
    const sentUp = p.on(xsub, 'out');
    assert.ok([up, up.slice(0, 1)].some((x) => JSON.stringify(x) === JSON.stringify(sentUp)), sentUp.join(', '));
    const down = p.on(xsub, 'in');
    assert.deepEqual(p.on(xpub, 'out'), down, 'the XPUB sent each message the XSUB received, in order');
    assert.deepEqual(p.on(sub, 'in'), down, 'and the SUB received each');
    assert.deepEqual(down.slice(-6), printed(p.plain.stdout, 'sub in'));
    const published = p.on(pub, 'out');
    assert.ok(down.every((m) => m.startsWith(`${text('A')}|`) && published.includes(m)), 'only what was published on A');
    const afterSync = published.slice(published.indexOf(`${text('A')}|${text('go')}`) + 1);
    assert.deepEqual(afterSync.filter((m) => m.startsWith(`${text('A')}|`)), down.slice(-6), 'every A after the sync came through');
    nothingUnseen(p);
  });

  it('zmq_proxy_steerable between PAIRs: both ways, PAUSE, RESUME, STATISTICS (libzmq\'s counters), TERMINATE; an unknown command aborts as libzmq does', async () => {
    const p = await proxyRun('steer');
    assert.equal(p.plain.code, 0, p.plain.stderr);
    assert.match(p.plain.stdout, /^statistics after 8: 5 20 3 30 3 30 5 20$/m);
    assert.match(p.plain.stdout, /^paused: y has 0$/m);
    assert.match(p.plain.stdout, /proxy returned 0\n$/);
    const [front, back, control, x, y, me] = p.sockets;
    const forward = p.on(front, 'in');
    assert.equal(forward.length, 6);
    assert.deepEqual(p.on(x, 'out'), forward);
    assert.deepEqual(p.on(back, 'out'), forward);
    assert.deepEqual(p.on(y, 'in'), forward);
    assert.deepEqual(forward.slice(-1), [`${text('x')}|${text('while paused')}`], 'held while paused, sent on after RESUME');
    const backward = p.on(back, 'in');
    assert.equal(backward.length, 3);
    assert.deepEqual(p.on(y, 'out'), backward);
    assert.deepEqual(p.on(front, 'out'), backward);
    assert.deepEqual(p.on(x, 'in'), backward);
    // the control socket: the commands received, the STATISTICS replies sent (8 little-endian uint64 frames)
    const commands = ['STATISTICS', 'PAUSE', 'STATISTICS', 'STATISTICS', 'RESUME', 'STATISTICS', 'TERMINATE'].map(text);
    assert.deepEqual(p.on(control, 'in'), commands);
    assert.deepEqual(p.on(me, 'out'), commands);
    const counters = p.on(control, 'out');
    assert.deepEqual(p.on(me, 'in'), counters);
    const decoded = counters.map((m) => m.split('|').map((f) => Buffer.from(f, 'hex').readBigUInt64LE().toString()).join(' '));
    assert.deepEqual(decoded, printed(p.plain.stdout, 'statistics').map((l) => l.replace(/^[^:]*: /, '')));
    assert.equal(p.messages.length, 6 * 4 + 3 * 4 + 7 * 2 + 4 * 2);
    nothingUnseen(p);

    // a command libzmq does not know: its message, its assertion, SIGABRT; nothing forwarded twice before it
    const bad = await proxyRun('badcmd');
    assert.equal(bad.plain.signal, 'SIGABRT');
    assert.match(bad.plain.stderr, /^Assertion failed: false \(src\/proxy\.cpp:\d+\)/m);
  });

  it('the program\'s own capture socket gets exactly libzmq\'s copies (each frame, control commands too), and its sends are reported', async () => {
    const p = await proxyRun('capture');
    assert.equal(p.plain.code, 0, p.plain.stderr);
    const [router, dealer, capture, control, copies] = p.sockets;
    const requests = p.on(router, 'in', true);
    const replies = p.on(dealer, 'in', true);
    assert.equal(requests.length, 3);
    assert.deepEqual(p.on(dealer, 'out', true), requests);
    assert.deepEqual(p.on(router, 'out', true), replies);
    // what libzmq sends the capture: each request, then its reply, then the two commands (no STATISTICS reply)
    const expected = [...requests.flatMap((r, i) => [r, replies[i]]), text('STATISTICS'), text('TERMINATE')];
    assert.deepEqual(printed(p.plain.stdout, 'capture'), expected, 'the program printed what libzmq copied');
    assert.deepEqual(p.on(capture, 'out', true), expected, 'the capture socket\'s sends reported');
    assert.deepEqual(p.on(copies, 'in', true), expected);
    assert.deepEqual(p.on(control, 'in'), [text('STATISTICS'), text('TERMINATE')]);
    nothingUnseen(p);
  });

  it('ZMQ_DEBUG_AGENT_DEVICES=native keeps libzmq\'s loop: the same output, its sockets unseen (the doctor says so), no loss reported', async () => {
    const p = await proxyRun('queue', { ZMQ_DEBUG_AGENT_DEVICES: 'native' });
    const [router, dealer] = p.sockets;
    assert.deepEqual([p.on(router, 'in'), p.on(dealer, 'out')], [[], []]);
    assert.deepEqual(sorted(p.events.filter((e) => e.type === 'device:unseen').map((e) => e.socket ?? '')), sorted([router, dealer]));
    assert.deepEqual(p.found.map((d) => d.rule), ['unseen-path']);
    // the finding says why the native agent kept libzmq's loop, not the Python agent's reason
    assert.match(p.found[0].message, /native agent runs zmq_proxy.*ZMQ_DEBUG_AGENT_DEVICES=native/);
  });
});
