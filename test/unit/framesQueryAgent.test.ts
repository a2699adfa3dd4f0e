/**
 * The frames viewer's query on agent records (issue 16): filter by process
 * (program name or pid) and by socket (`<pid>.<n>`), the drop-down lists of
 * what was seen, and the process/socket a row and its detail show.
 */
import * as assert from 'node:assert/strict';
import { Capture } from '../../src/core/capture/capture';
import { CapturedEvent, CapturedMessage, CaptureRecord } from '../../src/core/capture/records';
import { DEFAULT_FILTER, FrameFilter, parseFilter, parseFromHost } from '../../src/shared/protocol/frames';
import { FramesQuery } from '../../src/viewers/framesQuery';
import { summarize } from '../../src/viewers/recordRows';
import { recordFromJson, recordToJson } from '../../src/core/capture/exportFormat';
import { spyMessage } from './helpers/records';

const filter = (f: Partial<FrameFilter>): FrameFilter => ({ ...DEFAULT_FILTER, kinds: [...DEFAULT_FILTER.kinds], ...f });

function agentMsg(pid: number, name: string, n: number, type: string, text: string, direction: 'in' | 'out' = 'out'): CapturedMessage {
  return { kind: 'message', seq: 0, ts: 1, session: 'agent', source: 'agent', endpoint: 'tcp://127.0.0.1:5556', process: name, pid, socket: `${pid}.${n}`, socketType: type, direction, frames: [Buffer.from(text)] };
}

function agentEvent(pid: number, name: string, n: number, type: string, peer?: string): CapturedEvent {
  return { kind: 'event', seq: 0, ts: 1, session: 'agent', source: 'agent', endpoint: 'tcp://127.0.0.1:5556', process: name, pid, socket: `${pid}.${n}`, type, address: 'tcp://127.0.0.1:5556', ...(peer ? { peer } : {}) };
}

describe('FramesQuery: agent records by process and socket', () => {
  let capture: Capture;
  let q: FramesQuery;
  beforeEach(() => {
    capture = new Capture();
    const records: CaptureRecord[] = [
      { kind: 'process', seq: 0, ts: 1, session: 'agent', source: 'agent', endpoint: '', process: 'pub_server.py', pid: 100, state: 'started' },
      { kind: 'socket', seq: 0, ts: 1, session: 'agent', source: 'agent', endpoint: '', process: 'pub_server.py', pid: 100, socket: '100.1', op: 'open', socketType: 'PUB' },
      agentMsg(100, 'pub_server.py', 1, 'PUB', '10001 a'),
      agentMsg(200, 'sub_client.py', 1, 'SUB', '10001 a', 'in'),
      agentMsg(300, 'sub_client.py', 1, 'SUB', '10001 a', 'in'),
      agentMsg(300, 'sub_client.py', 2, 'PUSH', 'done'),
      agentEvent(100, 'pub_server.py', 1, 'accept', 'tcp://127.0.0.1:40000'),
      spyMessage(['10001', 'from a spy']),
    ];
    for (const r of records) capture.append(r);
    q = new FramesQuery(capture);
    q.reset();
  });
  afterEach(() => capture.dispose());

  const seqs = (f: Partial<FrameFilter>) => {
    q.setFilter(filter(f));
    return q.rows(0, 100).rows.map((r) => r.seq);
  };

  it('filters by pid, by program name (every process of that name), by socket, and with the other filters', () => {
    assert.deepEqual(seqs({ process: '100' }), [1, 2, 3, 7]);
    assert.deepEqual(seqs({ process: 'sub_client.py' }), [4, 5, 6]);
    assert.deepEqual(seqs({ process: ' 300 ' }), [5, 6]);
    assert.deepEqual(seqs({ socket: '300.2' }), [6]);
    assert.deepEqual(seqs({ socket: '100.1' }), [2, 3, 7]);
    assert.deepEqual(seqs({ process: '300', socket: '300.1' }), [5]);
    assert.deepEqual(seqs({ process: '300', socket: '100.1' }), []);
    assert.deepEqual(seqs({ socket: '100.1', kinds: ['event'] }), [7]);
    assert.deepEqual(seqs({ process: 'sub_client.py', direction: 'out' }), [6]);
    // records of other sources have no process: a process filter leaves them out
    assert.deepEqual(seqs({ process: 'nobody.py' }), []);
    assert.equal(seqs({}).length, 8);
  });

  it('lists the programs and sockets seen, for the drop-downs, typed when the records say', () => {
    assert.deepEqual(q.processes, [
      { pid: 100, name: 'pub_server.py' },
      { pid: 200, name: 'sub_client.py' },
      { pid: 300, name: 'sub_client.py' },
    ]);
    assert.deepEqual(q.sockets, [
      { id: '100.1', pid: 100, type: 'PUB' },
      { id: '200.1', pid: 200, type: 'SUB' },
      { id: '300.1', pid: 300, type: 'SUB' },
      { id: '300.2', pid: 300, type: 'PUSH' },
    ]);
    // the lists survive a filter (they are what the capture holds, not what is shown)
    q.setFilter(filter({ socket: '300.2' }));
    assert.equal(q.sockets.length, 4);
    capture.clear();
    q.reset();
    assert.deepEqual([q.processes, q.sockets], [[], []]);
  });

  it('rows and details say which program and socket; a monitor event shows its peer', () => {
    const rows = q.rows(0, 100).rows;
    assert.equal(rows[2].process, 'pub_server.py · 100');
    assert.equal(rows[2].socket, '100.1');
    assert.equal(rows[7].process, undefined);
    assert.equal(rows[7].socket, undefined);
    const d = q.detail(7)!;
    assert.deepEqual(
      d.fields.filter(([k]) => ['process', 'socket', 'event', 'peer'].includes(k)),
      [['process', 'pub_server.py (pid 100)'], ['socket', '100.1'], ['event', 'accept'], ['peer', 'tcp://127.0.0.1:40000']],
    );
    assert.equal(summarize(capture.get(4)!).process, 'sub_client.py · 200');
  });

  it('a monitor event keeps its peer and retry count through the export format', () => {
    const e: CapturedEvent = { ...agentEvent(100, 'pub_server.py', 1, 'connect:retried'), peer: 'tcp://127.0.0.1:40000', attempts: 7, since: 5 };
    const j = JSON.parse(JSON.stringify(recordToJson(e))) as Record<string, unknown>;
    assert.deepEqual([j.peer, j.attempts, j.since, j.socket, j.pid], ['tcp://127.0.0.1:40000', 7, 5, '100.1', 100]);
    assert.deepEqual(recordFromJson(j), { ...e });
  });

  it('the protocol carries the new fields and still reads filters and counters without them', () => {
    const f = parseFilter({ ...filter({ process: 'pub_server.py', socket: '100.1' }) });
    assert.deepEqual([f.process, f.socket], ['pub_server.py', '100.1']);
    const { process: _p, socket: _s, ...old } = filter({});
    void _p;
    void _s;
    assert.deepEqual([parseFilter(old).process, parseFilter(old).socket], ['', '']);
    assert.throws(() => parseFilter({ ...filter({}), socket: 42 }));
    const counters = { received: 0, records: 0, retained: 0, shown: 0, evicted: 0, dropped: 0, rate: 0, paused: false, scanning: 0, source: 'live', sessions: [], socketTypes: [] };
    const m = parseFromHost({ type: 'counters', counters: { ...counters, processes: [{ pid: 1, name: 'a.py' }], sockets: [{ id: '1.1', pid: 1, type: 'PUB' }] } });
    assert.ok(m.type === 'counters' && m.counters.sockets?.[0].type === 'PUB' && m.counters.processes?.[0].name === 'a.py');
    const plain = parseFromHost({ type: 'counters', counters });
    assert.ok(plain.type === 'counters' && plain.counters.processes === undefined);
    assert.throws(() => parseFromHost({ type: 'counters', counters: { ...counters, sockets: [{ id: 1 }] } }));
  });
});
