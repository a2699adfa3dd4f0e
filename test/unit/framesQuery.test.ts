/**
 * The frames viewer's query model in plain Node: filters over the capture's
 * records, an index kept up to date as records arrive and are evicted, row
 * summaries and details, and exact counts at a million records.
 */
import * as assert from 'node:assert/strict';
import { Capture } from '../../src/core/capture/capture';
import { compileFilter, FilterError } from '../../src/viewers/frameFilter';
import { FramesQuery } from '../../src/viewers/framesQuery';
import { summarize } from '../../src/viewers/recordRows';
import { CapturedMessage, CaptureRecord, payloadBytes } from '../../src/core/capture/records';
import { Timeline } from '../../src/viewers/timeline';
import { DEFAULT_FILTER, FrameFilter } from '../../src/shared/protocol/frames';
import { spyMessage } from './helpers/records';

const filter = (f: Partial<FrameFilter>): FrameFilter => ({ ...DEFAULT_FILTER, kinds: [...DEFAULT_FILTER.kinds], ...f });

const msg = (frames: (string | Buffer)[], extra: Partial<CapturedMessage> = {}): CapturedMessage => spyMessage(frames, { ts: 1_700_000_000_123, ...extra });

function event(type: string): CaptureRecord {
  return { kind: 'event', seq: 0, ts: 1, session: 'spy-1', source: 'spy', endpoint: 'tcp://127.0.0.1:5556', type, address: 'tcp://127.0.0.1:5556' };
}

describe('FramesQuery', () => {
  let capture: Capture;
  beforeEach(() => {
    capture = new Capture();
  });
  afterEach(() => capture.dispose());

  it('scans unfiltered by headers (no frames built) to the same timeline, socket types and programs as a full scan', () => {
    const stream = { session: 'tap-1', endpoint: 'tcp://127.0.0.1:5557', direction: 'toTarget' as const, connection: 1, socketType: 'PUSH', peerSocketType: 'PULL', identity: undefined, reqRepEnvelope: false };
    for (let i = 0; i < 3000; i++) {
      const ts = 1_700_000_000_000 + i * 7;
      if (i % 5 === 0) capture.append({ ...event('connect'), ts });
      else if (i % 5 === 1) capture.append(msg(['weather', `reading ${i}`], { ts, socketType: 'SUB', peerSocketType: 'PUB' }));
      else if (i % 5 === 2) {
        // an agent's record: program, pid and socket
        capture.append(msg([`agent ${i}`], { ts, source: 'agent', session: 'agent', direction: 'out', pid: 4242, process: 'pub.py', socket: 's1', socketType: 'PUB' }));
      } else if (i % 5 === 3) {
        const body = Buffer.from(`wire ${i}`);
        const wire = Buffer.concat([Buffer.from([0, body.length]), body]);
        capture.appendWire(stream, ts, wire, { count: 1, start: [0], end: [wire.length], frames: [1], payload: [body.length] });
      } else capture.append(msg(['t', Buffer.alloc(300 + i)], { ts, truncated: { 1: 5000 } }));
    }
    const byHeaders = new FramesQuery(capture);
    byHeaders.setFilter(filter({}));
    assert.equal(byHeaders.shown, 3000);
    // what a scan of the whole records gives
    const timeline = new Timeline();
    const types = new Set<string>();
    for (const r of capture.records()) {
      if (r.kind !== 'message') continue;
      timeline.add(r.ts, payloadBytes(r));
      for (const t of [r.socketType, r.peerSocketType]) if (t) types.add(t);
    }
    assert.deepEqual(byHeaders.timeline.series(), timeline.series());
    assert.deepEqual(byHeaders.socketTypes, [...types].sort());
    assert.deepEqual(byHeaders.processes.map((p) => [p.pid, p.name]), [[4242, 'pub.py']]);
    assert.deepEqual(byHeaders.sockets.map((k) => [k.id, k.pid, k.type]), [['s1', 4242, 'PUB']]);
    // a session's timeline by headers too
    byHeaders.setFilter(filter({ session: 'tap-1' }));
    assert.equal(byHeaders.timeline.series().messages.reduce((a, b) => a + b, 0), 600);
  });

  it('shows every record with no filter, then follows appends', () => {
    const q = new FramesQuery(capture);
    capture.append(msg(['10001', '22 33']));
    capture.append(event('connect'));
    q.reset();
    assert.equal(q.shown, 2);
    capture.append(msg(['10002', 'x']));
    assert.deepEqual(q.update(), { added: 1, removed: 0, pending: 0 });
    assert.equal(q.shown, 3);
    const { start, rows } = q.rows(0, 10);
    assert.equal(start, 0);
    assert.deepEqual(rows.map((r) => r.kind), ['message', 'event', 'message']);
    assert.equal(rows[0].topic, '10001');
    assert.equal(rows[0].frames, 2);
    assert.equal(rows[0].size, 10);
    assert.equal(rows[0].preview, '10001 | 22 33');
    assert.equal(rows[1].preview, 'connect tcp://127.0.0.1:5556');
  });

  it('filters by text in any frame, regex, topic prefix (text and hex), direction, session, socket type and kind', () => {
    capture.append(msg(['weather', 'sunny 21C']));
    capture.append(msg(['sports', 'score 3:1'], { direction: 'out', session: 'monitor-1', peerSocketType: 'ROUTER' }));
    capture.append(msg([Buffer.from([0x0a, 0xff]), Buffer.from([0x00, 0x01])]));
    capture.append(event('connect:retry'));
    const q = new FramesQuery(capture);
    const seqs = (f: Partial<FrameFilter>) => {
      q.setFilter(filter(f));
      return q.rows(0, 100).rows.map((r) => r.seq);
    };
    assert.deepEqual(seqs({ text: 'SUNNY' }), [1]);
    assert.deepEqual(seqs({ text: 'SUNNY', caseSensitive: true }), []);
    assert.deepEqual(seqs({ text: 'score \\d:\\d', regex: true }), [2]);
    assert.deepEqual(seqs({ text: 'retry' }), [4], 'events are searched by their description');
    assert.deepEqual(seqs({ topicPrefix: 'wea' }), [1]);
    assert.deepEqual(seqs({ topicPrefix: 'hex:0a' }), [3]);
    assert.deepEqual(seqs({ direction: 'out' }), [2]);
    assert.deepEqual(seqs({ session: 'monitor-1' }), [2]);
    assert.deepEqual(seqs({ socketType: 'router' }), [2]);
    assert.deepEqual(seqs({ kinds: ['event'] }), [4]);
    assert.deepEqual(seqs({ kinds: ['message'], text: 'r' }), [1, 2]);
    assert.deepEqual(q.socketTypes, ['ROUTER', 'SUB']);
  });

  it('rejects a bad regex or hex prefix with a clear error and keeps the previous filter', () => {
    assert.throws(() => compileFilter(filter({ text: 'a(', regex: true })), (e: Error) => e instanceof FilterError && /Invalid regular expression/.test(e.message));
    assert.throws(() => compileFilter(filter({ topicPrefix: 'hex:abc' })), /even number of hex digits/);
    const q = new FramesQuery(capture);
    capture.append(msg(['a']));
    q.setFilter(filter({ text: 'a' }));
    assert.throws(() => q.setFilter(filter({ text: '(', regex: true })), FilterError);
    assert.equal(q.filter.text, 'a');
    assert.equal(q.shown, 1);
  });

  it('drops evicted rows from the head and counts them in base, filtered or not', () => {
    capture.setLimits({ maxRecords: 10 });
    const all = new FramesQuery(capture);
    const odd = new FramesQuery(capture);
    odd.setFilter(filter({ text: 'odd' }));
    for (let i = 1; i <= 10; i++) capture.append(msg([`m${i}`, i % 2 ? 'odd' : 'even']));
    all.reset();
    odd.update();
    assert.equal(all.shown, 10);
    assert.equal(odd.shown, 5);
    for (let i = 11; i <= 14; i++) capture.append(msg([`m${i}`, i % 2 ? 'odd' : 'even']));
    assert.deepEqual(all.update(), { added: 4, removed: 4, pending: 0 });
    assert.deepEqual(odd.update(), { added: 2, removed: 2, pending: 0 });
    assert.equal(all.base, 4);
    assert.equal(all.shown, 10);
    assert.equal(all.rows(all.base, 1).rows[0].seq, 5);
    assert.equal(odd.base, 2);
    assert.deepEqual(odd.rows(0, 100).rows.map((r) => r.seq), [5, 7, 9, 11, 13]);
    // a window that starts before base is clamped to what still exists
    assert.equal(odd.rows(0, 1).start, 2);
    // records evicted before they were ever scanned were never rows
    for (let i = 15; i <= 40; i++) capture.append(msg([`m${i}`, i % 2 ? 'odd' : 'even']));
    all.update();
    odd.update();
    assert.equal(all.shown, 10);
    assert.deepEqual(odd.rows(odd.base, 100).rows.map((r) => r.seq), [31, 33, 35, 37, 39]);
    assert.equal(capture.stats().evicted, 30);
  });

  it('a flood scanned and shown lets the capture recycle its memory: evictions read only headers, rows are lent', () => {
    // 1 KiB messages through a 500-record window: 40 windows, ~20 MiB of 1 MiB chunks; the viewer scans
    // (evicted rows dropped, the timeline pruned to the oldest record's time) and shows its tail
    capture.setLimits({ maxRecords: 500 });
    const q = new FramesQuery(capture);
    const body = Buffer.alloc(1024, 0x61);
    for (let i = 1; i <= 20_000; i++) {
      capture.append(msg(['weather', body], { ts: 1_700_000_000_000 + i }));
      if (i % 100 === 0) {
        q.update();
        assert.equal(q.tail(20).rows.length, 20);
      }
    }
    assert.equal(q.base + q.shown, 20_000);
    // a chunk built into a record (Capture.get) is never reused: pruning the timeline that way cost every chunk a fresh one (20)
    const { allocatedChunks, reusedChunks } = capture.storeStats();
    assert.ok(allocatedChunks <= 4, `chunks allocated: ${allocatedChunks} (reused ${reusedChunks})`);
  });

  it("a row's detail looks back for its previous message without keeping the capture from recycling the memory it walked", () => {
    // 1 KiB messages in a 5,000-record window (~5 MiB of 1 MiB chunks); the detail of a message on a
    // topic seen nowhere else walks back over the whole window for a previous one, then 20,000 more come
    capture.setLimits({ maxRecords: 5000 });
    const q = new FramesQuery(capture);
    const body = Buffer.alloc(1024, 0x61);
    for (let i = 0; i < 5000; i++) capture.append(msg(['weather', body]));
    const rare = capture.append(msg(['rare', body])).seq;
    q.update();
    const d = q.detail(rare)!;
    assert.equal(d.diff?.previousSeq, undefined);
    assert.match(d.diff?.note ?? '', /No earlier message on topic "rare"/);
    const before = capture.storeStats().allocatedChunks;
    for (let i = 0; i < 20_000; i++) {
      capture.append(msg(['weather', body]));
      if (i % 100 === 0) q.update();
    }
    // the walk built no record (Capture.get marks its chunk as viewed, never reused): only the detailed one's chunk is lost
    const fresh = capture.storeStats().allocatedChunks - before;
    assert.ok(fresh <= 2, `fresh chunks after the detail: ${fresh}`);
  });

  it('scans in slices (maxRecords) and up to a seq (a paused view), with the same result as at once', () => {
    for (let i = 0; i < 1000; i++) capture.append(msg([i % 3 ? 'a' : 'b', String(i)]));
    const whole = new FramesQuery(capture);
    whole.setFilter(filter({ topicPrefix: 'b' }));
    const sliced = new FramesQuery(capture);
    sliced.setFilter(filter({ topicPrefix: 'b' }), false);
    assert.equal(sliced.shown, 0);
    assert.deepEqual(sliced.update(300, 900), { added: 100, removed: 0, pending: 600 });
    assert.deepEqual(sliced.update(300, 900), { added: 100, removed: 0, pending: 300 });
    assert.deepEqual(sliced.update(Infinity, 900), { added: 100, removed: 0, pending: 0 });
    assert.equal(sliced.shown, 300, 'nothing after seq 900');
    assert.deepEqual(sliced.update(), { added: 34, removed: 0, pending: 0 });
    assert.deepEqual(sliced.rows(0, 1000).rows.map((r) => r.seq), whole.rows(0, 1000).rows.map((r) => r.seq));
    const all = new FramesQuery(capture);
    all.reset(false);
    assert.deepEqual(all.update(250), { added: 250, removed: 0, pending: 750 });
    assert.equal(all.shown, 250);
  });

  it('a window over an evicted record (paused view) shows a placeholder, not a crash', () => {
    capture.setLimits({ maxRecords: 3 });
    const q = new FramesQuery(capture);
    for (let i = 0; i < 3; i++) capture.append(msg([`m${i}`]));
    q.update();
    for (let i = 0; i < 3; i++) capture.append(msg([`n${i}`]));
    // no update(): the index is frozen as a paused view keeps it
    const rows = q.rows(0, 3).rows;
    assert.equal(rows.length, 3);
    assert.match(rows[0].preview, /evicted/);
    assert.equal(q.detail(1), undefined);
  });

  it('labels ROUTER envelopes and the empty delimiter, and gives every frame whole in its detail', () => {
    const r = capture.append(msg([Buffer.from([0, 1, 2, 3, 4]), Buffer.alloc(0), 'hello', Buffer.from([0xc3, 0x28])], { envelopeFrames: 2, identity: Buffer.from([0, 1, 2, 3, 4]) }));
    const q = new FramesQuery(capture);
    const d = q.detail(r.seq)!;
    assert.deepEqual(d.frames.map((f) => f.role), ['envelope', 'delimiter', 'body', 'body']);
    assert.deepEqual(d.frames.map((f) => f.length), [5, 0, 5, 2]);
    assert.equal(Buffer.from(d.frames[3].data, 'base64').toString('hex'), 'c328');
    assert.ok(d.fields.some(([k]) => k === 'identity'));
    const row = summarize(r);
    assert.equal(row.topic, 'hello');
    assert.match(row.preview, /^\[1 id\] hello \| /);
    assert.equal(q.frameAs(r.seq, 3, 'hex'), 'c328');
    assert.equal(q.frameAs(r.seq, 2, 'base64'), 'aGVsbG8=');
    assert.equal(q.frameAs(r.seq, 2, 'text'), 'hello');
    assert.throws(() => q.frameAs(r.seq, 9, 'text'), /has no frame 9/);
  });

  it('1,000,000 retained records: filters by regex, counts exactly', function () {
    this.timeout(60000);
    capture.setLimits({ maxRecords: 1_000_000 });
    const topics = ['weather', 'sports', 'news', 'prices'];
    const payloads = topics.map((t) => Buffer.from(`${t} update payload`));
    for (let i = 0; i < 1_000_000; i++) {
      capture.append(msg([topics[i % 4], payloads[i % 4], Buffer.from(String(i))]));
    }
    const q = new FramesQuery(capture);
    q.reset();
    assert.equal(q.shown, 1_000_000);
    let t = process.hrtime.bigint();
    q.setFilter(filter({ text: 'spo.ts upd', regex: true }));
    const regexMs = Number(process.hrtime.bigint() - t) / 1e6;
    assert.equal(q.shown, 250_000);
    t = process.hrtime.bigint();
    q.setFilter(filter({ text: 'news', caseSensitive: true }));
    const bytesMs = Number(process.hrtime.bigint() - t) / 1e6;
    assert.equal(q.shown, 250_000);
    q.setFilter(filter({ text: '999999', caseSensitive: true }));
    assert.deepEqual(q.rows(0, 10).rows.map((r) => r.seq), [1_000_000]);
    console.log(`      (1M records: regex filter ${regexMs.toFixed(0)} ms, byte search ${bytesMs.toFixed(0)} ms)`);
    // appends after the filter keep the counts exact
    for (let i = 0; i < 1000; i++) capture.append(msg(['x', '999999']));
    assert.deepEqual(q.update(), { added: 1000, removed: 0, pending: 0 });
    assert.equal(q.shown, 1001);
    q.setFilter(filter({ text: 'news', caseSensitive: true }));
    // 1000 of the oldest were evicted: seqs 1..1000 hold 250 'news' messages
    assert.equal(q.shown, 249_750);
    assert.equal(capture.stats().totalMessages, 1_001_000);
  });
});
