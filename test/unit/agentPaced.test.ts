/**
 * Every message of a program at a real rate (issue 27). A paced pyzmq PUSH → PULL
 * pair: every message is in the capture once on each side, with its exact bytes
 * (frames over 64 KiB cut with their length kept), nothing dropped. Twice: with
 * the collector's environment as it is (pyzmq on the shared libzmq: the native
 * agent records the messages of the Python agent's sockets, default gate) and
 * with the Python agent alone (no LD_PRELOAD, as on macOS: single frames
 * batched, multipart and large ones in their own records; its gate raised to
 * ZMQ_DEBUG_AGENT_GATE=10000, 200,000 messages a second, above the rate).
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Capture } from '../../src/core/capture/capture';
import { CapturedMessage } from '../../src/core/capture/records';
import { Collector } from '../../src/core/sessions/collector';
import { forEachBatchedMessage } from '../../src/core/sessions/messageBatch';
import { nativeAgentLibrary } from '../../src/core/sessions/nativeAgent';
import { AGENT_FIXTURES, collectorPerTest, run } from './helpers/agentRun';
import { PYTHON, until } from './helpers/peers';

const SIZES = [16, 1024, 0, 16, 16, 1024, 16, 16, 0, 16];

/** The frames of message i, as the fixture sends them. */
function expected(i: number): Buffer[] {
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(i));
  const size = i % 1000 === 999 ? 65546 : i % 100 === 37 ? 9000 : SIZES[i % SIZES.length];
  const body = Buffer.concat([head, Buffer.alloc(Math.max(0, size - 8), 65 + (i % 26))]);
  return i % 50 === 49 ? [head, Buffer.alloc(0), body] : [body];
}

/** Which wrapper the Python agent put in place of Socket.send in a process with `env` ('adopted_wrappers' when the native agent records). */
async function sendWrapper(env: Record<string, string>): Promise<string> {
  const r = await run(PYTHON, ['-c', 'import zmq; print(zmq.Socket.send.__qualname__)'], env);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** The paced fixture's capture: each message once on each side, byte for byte, none dropped. */
async function checkPacedRun(agents: { readonly capture: Capture; readonly collector: Collector }, env: Record<string, string>): Promise<void> {
  const r = await run(PYTHON, [join(AGENT_FIXTURES, 'paced_pushpull.py'), 10000, 2], env, 100000);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  const n = 20000;
  assert.equal(r.stdout, `${n} messages\n`);
  await until(() => [...agents.capture.records()].some((p) => p.kind === 'process' && p.state === 'exited' && p.pid === r.pid), 'the program to exit in the capture', 20000);
  const msgs = [...agents.capture.records()].filter((m): m is CapturedMessage => m.kind === 'message' && m.pid === r.pid);
  assert.equal(agents.collector.stats().agentDropped, 0);
  assert.equal(agents.collector.stats().malformed, 0);
  for (const direction of ['out', 'in'] as const) {
    const side = msgs.filter((m) => m.direction === direction);
    assert.equal(side.length, n, `${direction}: every message once`);
    const seen = new Set<number>();
    let last = -1;
    for (const m of side) {
      const frames = m.frames.map((f) => Buffer.from(f));
      const i = Number(frames[0].readBigUInt64BE(0));
      assert.ok(!seen.has(i), `${direction}: message ${i} twice`);
      assert.ok(i > last, `${direction}: message ${i} after ${last}: in the order sent`);
      last = i;
      seen.add(i);
      const want = expected(i);
      assert.equal(frames.length, want.length, `${direction} ${i}: frames`);
      for (let f = 0; f < want.length; f++) {
        const cut = want[f].length > 65536;
        assert.ok(frames[f].equals(cut ? want[f].subarray(0, 65536) : want[f]), `${direction} ${i}: frame ${f} bytes`);
        if (cut) assert.equal(m.truncated?.[f], want[f].length, `${direction} ${i}: frame ${f} cut, its length kept`);
      }
    }
    assert.equal(seen.size, n);
  }
}

describe('the Python agent at real rates: every message of a paced program', function () {
  this.timeout(120000);
  const agents = collectorPerTest({ maxRecords: 200_000, maxBytes: 1 << 30 });

  it('with the native agent (pyzmq on the shared libzmq), its default gate: 10,000 msg/s for 2 s, each message once on the PUSH and once on the PULL, byte for byte, none dropped', async function () {
    if (!nativeAgentLibrary()) this.skip();
    const env = agents.collector.environment({});
    assert.match(await sendWrapper(env), /^adopted_wrappers\./, 'the native agent records the messages');
    await checkPacedRun(agents, env);
  });

  it('the Python agent alone (no native agent), ZMQ_DEBUG_AGENT_GATE=10000: the same, whole', async () => {
    const env: Record<string, string> = { ...agents.collector.environment({}), ZMQ_DEBUG_AGENT_GATE: '10000' };
    delete env.LD_PRELOAD;
    assert.doesNotMatch(await sendWrapper(env), /adopted/);
    await checkPacedRun(agents, env);
  });

  it('with the native agent, a program above the gate is sampled: each message captured once, whole, or counted dropped', async function () {
    if (!nativeAgentLibrary()) this.skip();
    // 200,000 sends and receives as fast as the program goes, against a gate of 10,000 a second
    const program = [
      'import struct, zmq',
      'c = zmq.Context()',
      'a = c.socket(zmq.PUSH); a.setsockopt(zmq.SNDHWM, 0); a.bind("inproc://p")',
      'b = c.socket(zmq.PULL); b.setsockopt(zmq.RCVHWM, 0); b.connect("inproc://p")',
      'for k in range(200):',
      '    for i in range(k * 1000, k * 1000 + 1000): a.send(struct.pack(">Q", i) * 2)',
      '    for i in range(1000): b.recv()',
      'a.close(); b.close(); c.term()',
      'print("done")',
    ].join('\n');
    const r = await run(PYTHON, ['-c', program], { ...agents.collector.environment({}), ZMQ_DEBUG_AGENT_GATE: '500' }, 100000);
    assert.equal(r.code, 0, r.stderr);
    await until(() => [...agents.capture.records()].some((p) => p.kind === 'process' && p.state === 'exited' && p.pid === r.pid), 'the program to exit in the capture', 20000);
    const msgs = [...agents.capture.records()].filter((m): m is CapturedMessage => m.kind === 'message' && m.pid === r.pid);
    const dropped = agents.collector.stats().agentDropped;
    assert.equal(msgs.length + dropped, 400000, `${msgs.length} captured + ${dropped} dropped: every message once`);
    assert.ok(msgs.length < 100000, `sampled: ${msgs.length} captured`);
    const seen = new Set<string>();
    for (const m of msgs) {
      const f = Buffer.from(m.frames[0]);
      assert.ok(f.length === 16 && f.subarray(0, 8).equals(f.subarray(8)), 'whole');
      const key = `${m.direction} ${f.readBigUInt64BE(0)}`;
      assert.ok(!seen.has(key), `${key} twice`);
      seen.add(key);
    }
  });

  it('a malformed batch record adds nothing', () => {
    const entry = (ts: number, key: number, frame: Buffer) => {
      const h = Buffer.alloc(16);
      h.writeDoubleLE(ts, 0);
      h.writeUInt32LE(key, 8);
      h.writeUInt32LE(frame.length, 12);
      return Buffer.concat([h, frame]);
    };
    const good = Buffer.concat([Buffer.from('B'), entry(1.5, 7, Buffer.from('abc')), entry(2.5, 8, Buffer.alloc(0))]);
    const seen: unknown[] = [];
    assert.ok(forEachBatchedMessage(good, (m) => seen.push([m.socket, m.direction, m.tsSec, m.frame.toString()])));
    assert.deepEqual(seen, [
      [3, 'in', 1.5, 'abc'],
      [4, 'out', 2.5, ''],
    ]);
    for (const bad of [good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from([0])]), Buffer.from('B'), Buffer.from('Bxxxxxxxxxxxxxxxx')]) {
      assert.equal(
        forEachBatchedMessage(bad, () => assert.fail('called on a malformed batch')),
        false,
      );
    }
  });
});
