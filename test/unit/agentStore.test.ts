/**
 * The store of agent facts fed records directly: a message is counted on the
 * socket its record names, whichever socket the record before it named (the
 * store keeps the last socket looked up), and never on a socket or process the
 * store has forgotten since.
 */
import { strict as assert } from 'node:assert';
import type { CapturedMessage, CaptureRecord } from '../../src/core/capture/records';
import { AgentStore, LIMITS } from '../../src/core/sessions/agentStore';

const base = { seq: 0, session: 'agent', source: 'agent' as const, endpoint: '' };
const started = (pid: number, ts: number): CaptureRecord => ({ ...base, kind: 'process', ts, pid, process: `p${pid}`, state: 'started', argv: [`p${pid}`], cwd: '/' });
const exited = (pid: number, ts: number): CaptureRecord => ({ ...base, kind: 'process', ts, pid, process: `p${pid}`, state: 'exited' });
const open = (pid: number, n: number, ts: number): CaptureRecord => ({ ...base, kind: 'socket', ts, pid, process: `p${pid}`, op: 'open', socket: `${pid}.${n}`, socketType: 'PUSH' });
const close = (pid: number, n: number, ts: number): CaptureRecord => ({ ...base, kind: 'socket', ts, pid, process: `p${pid}`, op: 'close', socket: `${pid}.${n}`, socketType: 'PUSH' });
const msg = (pid: number, n: number, ts: number, bytes = 3): CapturedMessage => ({
  ...base,
  kind: 'message',
  ts,
  pid,
  process: `p${pid}`,
  socket: `${pid}.${n}`,
  socketType: 'PUSH',
  direction: 'out',
  frames: [Buffer.alloc(bytes, 0x61)],
});

function sent(store: AgentStore, pid: number, id: string): number | undefined {
  return store.processes(2000).find((p) => p.pid === pid)?.sockets.get(id)?.sent.messages;
}

describe('agent store: messages counted on their socket', () => {
  it('runs of messages on interleaved sockets and processes: each counted on its own, exactly', () => {
    const store = new AgentStore();
    for (const pid of [1, 2]) {
      store.ingest(started(pid, 1000));
      for (const n of [1, 2]) store.ingest(open(pid, n, 1000));
    }
    const order = [1, 1, 2, 1, 2, 2, 2, 1];
    for (let i = 0; i < 400; i++) store.ingest(msg(order[i % 8] === 1 ? 1 : 2, order[(i + 3) % 8], 1001 + i / 1000));
    const counts = [sent(store, 1, '1.1'), sent(store, 1, '1.2'), sent(store, 2, '2.1'), sent(store, 2, '2.2')];
    assert.equal(counts.reduce((a, b) => a! + b!, 0), 400);
    const want = [0, 0, 0, 0];
    for (let i = 0; i < 400; i++) want[(order[i % 8] === 1 ? 0 : 2) + order[(i + 3) % 8] - 1]++;
    assert.deepEqual(counts, want);
  });

  it('a pid used again by a new program: its messages count on the new one, not on the socket last looked up', () => {
    const store = new AgentStore();
    store.ingest(started(7, 1000));
    store.ingest(open(7, 1, 1000));
    for (let i = 0; i < 5; i++) store.ingest(msg(7, 1, 1001));
    store.ingest(exited(7, 1002));
    store.ingest(started(7, 1003)); // the same pid: a new program
    store.ingest(open(7, 1, 1003));
    for (let i = 0; i < 3; i++) store.ingest(msg(7, 1, 1004));
    assert.equal(store.processes(2000).length, 1);
    assert.equal(sent(store, 7, '7.1'), 3);
  });

  it('a socket forgotten among the closed ones: a late message does not bring it back, nor count on it', () => {
    const store = new AgentStore();
    store.ingest(started(3, 1000));
    store.ingest(open(3, 1, 1000));
    store.ingest(msg(3, 1, 1001));
    store.ingest(close(3, 1, 1002));
    // LIMITS.closedSockets more closed after it: socket 1 is forgotten
    for (let n = 2; n <= LIMITS.closedSockets + 1; n++) {
      store.ingest(open(3, n, 1003));
      store.ingest(close(3, n, 1003));
    }
    assert.equal(sent(store, 3, '3.1'), undefined);
    store.ingest(msg(3, 1, 1004));
    assert.equal(sent(store, 3, '3.1'), undefined);
    store.ingest(open(3, 9999, 1005));
    store.ingest(msg(3, 9999, 1005));
    assert.equal(sent(store, 3, '3.9999'), 1);
  });
});
