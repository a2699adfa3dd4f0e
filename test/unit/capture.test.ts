import { strict as assert } from 'node:assert';
import { Capture, OTHER_TOPICS, topicKey } from '../../src/core/capture';
import { CapturedMessage } from '../../src/core/records';

function msg(session: string, ...frames: (string | Uint8Array)[]): CapturedMessage {
  return {
    kind: 'message',
    seq: 0,
    ts: 0,
    session,
    source: 'spy',
    endpoint: 'tcp://127.0.0.1:5556',
    direction: 'in',
    frames: frames.map((f) => (typeof f === 'string' ? Buffer.from(f) : f)),
  };
}

describe('Capture', () => {
  it('assigns increasing seqs and returns records in order', () => {
    const c = new Capture();
    const a = c.append(msg('s', 'a'));
    const b = c.append(msg('s', 'b'));
    assert.equal(b.seq, a.seq + 1);
    assert.ok(a.ts > 0);
    assert.deepEqual([...c.records()].map((r) => r.seq), [a.seq, b.seq]);
    assert.deepEqual(c.get(b.seq), b);
    assert.deepEqual(c.since(a.seq), [b]);
  });

  it('evicts by count and counts every eviction, per session too', () => {
    const c = new Capture({ maxRecords: 3 });
    for (let i = 0; i < 10; i++) c.append(msg(i % 2 ? 'odd' : 'even', String(i)));
    const st = c.stats();
    assert.equal(st.retained, 3);
    assert.equal(st.evicted, 7);
    assert.equal(st.total, 10);
    assert.equal(st.totalMessages, 10);
    assert.deepEqual([...c.records()].map((r) => Buffer.from((r as CapturedMessage).frames[0]).toString()), ['7', '8', '9']);
    assert.equal(c.session('even')!.evicted + c.session('odd')!.evicted, 7);
    assert.equal(c.session('even')!.messages, 5);
    assert.equal(c.get(1), undefined);
    assert.equal(c.since(0).length, 3);
  });

  it('evicts by bytes, keeping retainedBytes exact', () => {
    const c = new Capture({ maxBytes: 1000 });
    for (let i = 0; i < 10; i++) c.append(msg('s', Buffer.alloc(300)));
    const st = c.stats();
    assert.equal(st.retained, 3);
    assert.equal(st.retainedBytes, 900);
    assert.equal(st.evicted, 7);
    assert.equal(st.evictedBytes, 2100);
  });

  it('shrinking the limits evicts at once and counts it; bad limits are refused clearly', () => {
    const c = new Capture({ maxRecords: 100 });
    for (let i = 0; i < 50; i++) c.append(msg('s', 'x'));
    c.setLimits({ maxRecords: 10 });
    assert.equal(c.stats().retained, 10);
    assert.equal(c.stats().evicted, 40);
    for (let i = 0; i < 50; i++) c.append(msg('s', 'y'));
    assert.equal(c.stats().retained, 10);
    assert.equal(c.stats().evicted, 90);
    assert.throws(() => c.setLimits({ maxRecords: 0 }), /maxRecords must be a whole number ≥ 1/);
    assert.throws(() => new Capture({ maxBytes: -1 }), /maxBytes must be ≥ 1/);
  });

  it('counts topics per session and bounds how many distinct topics it tracks', () => {
    const c = new Capture();
    c.append(msg('s', '10001 20 30', ''));
    c.append(msg('s', '10001 21 31'));
    c.append(msg('s', Buffer.from([0xff, 0x00])));
    const topics = c.session('s')!.topics;
    assert.equal(topics.get('10001 20 30')!.messages, 1);
    assert.equal(topics.get('0xff00')!.messages, 1);
    for (let i = 0; i < 1100; i++) c.append(msg('s', `t${i}`));
    assert.equal(topics.size, 1001);
    assert.equal(topics.get(OTHER_TOPICS)!.messages, 1100 + 3 - 1000);
    assert.equal(topicKey(Buffer.alloc(100, 0x41)), 'A'.repeat(64) + '…');
    // a single-frame seed message "10001 42" counts under its leading word
    assert.equal(topics.get('10001')!.messages, 1);
  });

  it('reports dropped messages separately from evictions', () => {
    const c = new Capture();
    c.reportDropped('tap-1', 5);
    assert.equal(c.stats().dropped, 5);
    assert.equal(c.session('tap-1')!.dropped, 5);
  });

  it('tells listeners once per tick, with the appended range', async () => {
    const c = new Capture();
    const events: { fromSeq: number; toSeq: number }[] = [];
    c.onDidAppend((e) => events.push(e));
    for (let i = 0; i < 1000; i++) c.append(msg('s', 'x'));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(events, [{ fromSeq: 1, toSeq: 1000 }]);
  });

  it('computes the message rate over the last full second', () => {
    const c = new Capture();
    const base = Math.floor(Date.now() / 1000) * 1000 + 5000;
    for (let i = 0; i < 40; i++) {
      const m = msg('s', 'x');
      m.ts = base + i * 10; // 40 messages within the first 400 ms of a second
      c.append(m);
    }
    assert.equal(c.stats(base + 1200).rate, 40);
    assert.equal(c.session('s', base + 1200)!.rate, 40);
    assert.equal(c.stats(base + 2500).rate, 0);
  });
});
