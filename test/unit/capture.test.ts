import { strict as assert } from 'node:assert';
import { Capture, OTHER_TOPICS, topicKey, type WireStreamMeta } from '../../src/core/capture/capture';
import { CapturedMessage } from '../../src/core/capture/records';
import { PACKED_RECORD_BYTES } from '../../src/core/capture/recordStore';
import * as z from './helpers/zmtpBytes';

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

  it('evicts by bytes, keeping retainedBytes exact: payload, frame lengths and the record itself', () => {
    const c = new Capture({ maxBytes: 1100 });
    for (let i = 0; i < 10; i++) c.append(msg('s', Buffer.alloc(300)));
    const each = 300 + 4 + PACKED_RECORD_BYTES;
    const st = c.stats();
    assert.equal(st.retained, 3);
    assert.equal(st.retainedBytes, 3 * each);
    assert.equal(st.evicted, 7);
    assert.equal(st.evictedBytes, 7 * each);
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

  it('keeps tap messages given as wire bytes and reads them back as the records the tap would have made', () => {
    const c = new Capture({ maxRecords: 100, maxBytes: 10_120 });
    const req: WireStreamMeta = { session: 'tap-1', endpoint: 'tcp://127.0.0.1:5555', direction: 'toTarget', connection: 3, socketType: 'REQ', peerSocketType: 'REP', identity: undefined, reqRepEnvelope: true };
    const dealer: WireStreamMeta = { ...req, direction: 'fromTarget', socketType: 'DEALER', peerSocketType: 'ROUTER', identity: Buffer.from('id-7'), reqRepEnvelope: false };
    const cases: [WireStreamMeta, Buffer[]][] = [
      [req, [Buffer.alloc(0), Buffer.from('hello')]],
      [dealer, [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(300, 9)]], // a long frame; an empty frame that is no envelope here
      [req, [Buffer.from('no delimiter')]],
      [dealer, [Buffer.alloc(0)]],
    ];
    // the wire bytes sit inside a bigger chunk, as they do in a socket read
    const seqs = cases.map(([stream, frames]) => {
      const wire = z.message(frames);
      const chunk = Buffer.concat([Buffer.from('before'), wire, Buffer.from('after')]);
      const payload = frames.reduce((n, f) => n + f.length, 0);
      const seq = c.appendWire(stream, 1000, chunk, { count: 1, start: [6], end: [6 + wire.length], frames: [frames.length], payload: [payload] });
      chunk.fill(0); // the capture copied what it keeps
      return seq;
    });
    const plain = c.append(msg('spy-1', 'between'));
    assert.deepEqual(seqs.concat(plain.seq), [1, 2, 3, 4, 5]);
    const expect = (stream: WireStreamMeta, frames: Buffer[], seq: number, extra: Partial<CapturedMessage> = {}): CapturedMessage => ({
      kind: 'message',
      seq,
      ts: 1000,
      session: stream.session,
      source: 'tap',
      endpoint: stream.endpoint,
      direction: stream.direction,
      connection: stream.connection,
      socketType: stream.socketType,
      peerSocketType: stream.peerSocketType,
      frames: frames.map((f) => new Uint8Array(f)),
      ...(stream.identity ? { identity: stream.identity } : {}),
      ...extra,
    });
    const norm = (r: unknown) => JSON.parse(JSON.stringify(r, (_k, v) => (v instanceof Uint8Array ? `bytes:${Buffer.from(v).toString('hex')}` : v)));
    assert.deepEqual(norm(c.get(1)), norm(expect(req, cases[0][1], 1, { envelopeFrames: 1 })));
    assert.deepEqual(norm(c.get(2)), norm(expect(dealer, cases[1][1], 2)));
    assert.deepEqual(norm(c.get(3)), norm(expect(req, cases[2][1], 3)));
    assert.deepEqual(norm(c.get(4)), norm(expect(dealer, cases[3][1], 4)));
    assert.deepEqual(c.since(4), [c.get(5)]);
    // counted like any message (payload); the byte limit counts what is held: the wire bytes, frame headers included, and each record
    assert.equal(c.session('tap-1')!.messages, 4);
    assert.equal(c.session('tap-1')!.bytes, 5 + 301 + 12);
    const held = (frames: Buffer[]) => z.message(frames).length + PACKED_RECORD_BYTES;
    const plainHeld = 7 + 4 + PACKED_RECORD_BYTES;
    assert.equal(c.stats().retainedBytes, cases.reduce((n, [, f]) => n + held(f), 0) + plainHeld);
    const big = z.message([Buffer.alloc(9_990, 1)]);
    c.appendWire(req, 2000, big, { count: 1, start: [0], end: [big.length], frames: [1], payload: [9_990] });
    assert.deepEqual([...c.records()].map((r) => r.seq), [4, 5, 6], 'evicted by bytes, oldest first, until within 10,120 B');
    assert.equal(c.session('tap-1')!.evicted, 3);
    assert.equal(c.stats().retainedBytes, held(cases[3][1]) + plainHeld + held([Buffer.alloc(9_990)]));
    assert.deepEqual((c.get(6) as CapturedMessage).frames[0], new Uint8Array(9_990).fill(1));
    // a batch: several messages of one chunk, counted together, evicting as it goes
    const batch = [[Buffer.from('x')], [Buffer.from('yy'), Buffer.alloc(0)], [Buffer.alloc(5000, 2)]].map(z.message);
    const chunk = Buffer.concat(batch);
    const starts = batch.map((_, i) => batch.slice(0, i).reduce((n, b) => n + b.length, 0));
    const last = c.appendWire(dealer, 3000, chunk, {
      count: 3,
      start: starts,
      end: starts.map((st, i) => st + batch[i].length),
      frames: [1, 2, 1],
      payload: [1, 2, 5000],
    });
    assert.equal(last, 9);
    assert.deepEqual([...c.records()].map((r) => r.seq), [7, 8, 9], 'the 9,990 B one evicted by the 5,000 B one');
    assert.deepEqual(((c.get(8) as CapturedMessage).frames).map((f) => Buffer.from(f).toString()), ['yy', '']);
    assert.equal(c.session('tap-1')!.messages, 8);
    assert.equal(c.session('tap-1')!.bytes, 5 + 301 + 12 + 9_990 + 5003);
  });
});
