/**
 * The native agent's shared-memory hand-over (issue 27; agents/native/shmring.c,
 * sessions/agentRing.ts): the frames a program's agent would write on its
 * connection go through a ring in a memfd the collector reads. The capture is
 * the same record for record, byte for byte, in order, as through the socket
 * (the default; ZMQ_DEBUG_AGENT_SHM=1 offers the ring), for the Python agent (pyzmq on the
 * shared libzmq) and for a C program (the native agent's own reporter); nothing
 * is ever left in /dev/shm. The collector's death is nativeAgentRing.test.ts's.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capture } from '../../src/core/capture/capture';
import { CaptureRecord } from '../../src/core/capture/records';
import { Collector } from '../../src/core/sessions/collector';
import { nativeAgentLibrary } from '../../src/core/sessions/nativeAgent';
import { AGENT_FIXTURES, collectorPerTest, run } from './helpers/agentRun';
import { PYTHON, until } from './helpers/peers';

const NATIVE_FIXTURES = join(__dirname, 'fixtures', 'native');

/** What a process's records say, without what differs from run to run (times, pids, ports, socket numbers, the order between sockets): messages by socket type and direction, in order. */
function said(records: CaptureRecord[], pid: number): { messages: Map<string, string[]>; others: string[] } {
  const messages = new Map<string, string[]>();
  const others: string[] = [];
  for (const r of records) {
    // (monitor events depend on the timing: a disconnect seen before the exit or not)
    if (r.pid !== pid || r.kind === 'event') continue;
    if (r.kind === 'message') {
      const key = `${r.socketType} ${r.direction}`;
      const list = messages.get(key) ?? [];
      list.push(`${r.frames.map((f) => Buffer.from(f).toString('hex')).join('|')}${r.truncated ? ` cut ${JSON.stringify(r.truncated)}` : ''}`);
      messages.set(key, list);
      continue;
    }
    const o = { ...r } as Record<string, unknown>;
    for (const k of ['seq', 'ts', 'pid', 'process', 'endpoint', 'peer', 'address', 'since', 'resolved', 'argv', 'ppid']) delete o[k];
    others.push(JSON.stringify(o).replace(/:\d{4,5}\b/g, ':PORT').replace(/"\d+\.\d+"/g, '"P.N"'));
  }
  return { messages, others: others.sort() };
}

/** Runs `cmd` through the ring and through the socket, one after the other; their records. */
async function bothPaths(agents: { readonly capture: Capture; readonly collector: Collector }, cmd: string, args: (string | number)[]) {
  const env = agents.collector.environment({});
  const out: ReturnType<typeof said>[] = [];
  const outputs: string[] = [];
  for (const [path, extra] of [['ring', { ZMQ_DEBUG_AGENT_SHM: '1' }], ['socket', {}]] as const) {
    const before = agents.collector.stats().sharedRings;
    const r = await run(cmd, args, { ...env, ...extra }, 100000);
    assert.equal(r.stderr, '');
    await until(() => [...agents.capture.records()].some((p) => p.kind === 'process' && p.state === 'exited' && p.pid === r.pid), `the ${path} run's exit in the capture`, 20000);
    assert.equal(agents.collector.stats().sharedRings - before, path === 'ring' ? 1 : 0, `${path}: the shared ring used or not`);
    assert.equal(agents.collector.stats().malformed, 0, `${path}: ${agents.collector.lastMalformed}`);
    assert.equal(agents.collector.stats().agentDropped, 0, `${path}: dropped`);
    out.push(said([...agents.capture.records()], r.pid));
    outputs.push(`${r.stdout}exit ${r.code}`);
  }
  assert.equal(agents.collector.stats().malformed, 0, agents.collector.lastMalformed);
  assert.equal(agents.collector.stats().agentDropped, 0);
  assert.equal(outputs[0], outputs[1], 'the program\'s own output and exit code the same');
  return { ring: out[0], socket: out[1] };
}

/** The same messages of each socket type and direction, in the same order, and the same other records. */
function sameRecords(ring: ReturnType<typeof said>, socket: ReturnType<typeof said>, n: number): void {
  assert.equal(ring.messages.get('PUSH out')?.length, n, [...ring.messages.keys()].join());
  assert.deepEqual([...ring.messages.keys()].sort(), [...socket.messages.keys()].sort());
  for (const [k, list] of ring.messages) {
    const other = socket.messages.get(k)!;
    assert.ok(list.length === other.length && other.every((m, i) => m === list[i]), `${k}: the same messages in the same order`);
  }
  assert.deepEqual(ring.others, socket.others);
}

describe('the shared-memory hand-over: the same capture as through the socket', function () {
  this.timeout(180000);
  const agents = collectorPerTest({ maxRecords: 400_000, maxBytes: 1 << 30 });
  let shmBefore: string[];
  beforeEach(() => (shmBefore = readdirSync('/dev/shm')));
  afterEach(() => assert.deepEqual(readdirSync('/dev/shm'), shmBefore, 'nothing left in /dev/shm'));

  it('pyzmq on the shared libzmq (the Python agent, the native agent recording): 10,000 paced messages, every record the same, in order', async function () {
    if (!nativeAgentLibrary()) this.skip();
    const { ring, socket } = await bothPaths(agents, PYTHON, [join(AGENT_FIXTURES, 'paced_pushpull.py'), 5000, 2]);
    sameRecords(ring, socket, 10000);
  });

  it('a C program (the native agent its own reporter): 5,000 paced messages, every record the same, in order', async function () {
    if (!nativeAgentLibrary()) this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'zmq-shm-'));
    try {
      const program = join(dir, 'paced_pushpull');
      execFileSync('gcc', ['-O1', '-Wall', '-o', program, join(NATIVE_FIXTURES, 'paced_pushpull.c'), '-lzmq', '-lpthread']);
      const { ring, socket } = await bothPaths(agents, program, [5000]);
      sameRecords(ring, socket, 5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
