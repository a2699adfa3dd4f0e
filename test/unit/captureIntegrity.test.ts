/**
 * The capture never lies (issue 15): records handed out keep their bytes while
 * the window evicts and refills many times over, and what the store keeps beside
 * records (metadata per tap stream) is released with the last record using it.
 */
import { strict as assert } from 'node:assert';
import type { Pull, Push } from 'zeromq';
import { Capture, type WireStreamMeta } from '../../src/core/capture/capture';
import { parseJsonLines } from '../../src/core/capture/exportFormat';
import { writeExport } from '../../src/core/capture/exportWriter';
import { CapturedMessage } from '../../src/core/capture/records';
import { Writable } from 'node:stream';
import { zmq } from '../../src/core/zmq/zmqLoader';
import { freePort } from './helpers/peers';
import * as z from './helpers/zmtpBytes';

const CAPACITY = 2000;
const SIZE = 1024;

/** A 1 KiB spy message whose bytes say which one it is. */
function spyMessage(i: number): CapturedMessage {
  const frame = Buffer.alloc(SIZE);
  for (let k = 0; k < SIZE; k += 4) frame.writeUInt32LE((i * 2654435761 + k) >>> 0, k);
  return { kind: 'message', seq: 0, ts: 0, session: 'spy-1', source: 'spy', endpoint: 'tcp://127.0.0.1:5556', direction: 'in', frames: [frame] };
}

const stream: WireStreamMeta = { session: 'tap-1', endpoint: 'tcp://127.0.0.1:5557', direction: 'toTarget', connection: 1, socketType: 'PUSH', peerSocketType: 'PULL', identity: undefined, reqRepEnvelope: false };

/** Appends message i as the tap does: ZMTP wire bytes inside a bigger socket read. */
function appendTap(c: Capture, i: number, s = stream): void {
  const body = spyMessage(i).frames[0];
  const wire = z.message([body]);
  const chunk = Buffer.concat([Buffer.from('xx'), wire]);
  c.appendWire(s, 1, chunk, { count: 1, start: [2], end: [2 + wire.length], frames: [1], payload: [body.length] });
}

const copyFrames = (r: CapturedMessage) => r.frames.map((f) => Buffer.from(f));

describe('Capture: records are safe to hold while the window evicts', function () {
  this.timeout(20000);

  for (const [path, add] of [
    ['spy (append)', (c: Capture, i: number) => void c.append(spyMessage(i))],
    ['tap (appendWire)', appendTap],
  ] as const) {
    it(`${path}: a snapshot keeps every byte while 10× the capacity is appended and evicted`, () => {
      const c = new Capture({ maxRecords: CAPACITY });
      for (let i = 0; i < CAPACITY; i++) add(c, i);
      const snapshot = [...c.records()] as CapturedMessage[];
      const expected = snapshot.map(copyFrames);
      for (let i = CAPACITY; i < 11 * CAPACITY; i++) add(c, i);
      assert.equal(c.stats().evicted, 10 * CAPACITY);
      let changed = 0;
      snapshot.forEach((r, i) => {
        if (!r.frames.every((f, k) => Buffer.from(f).equals(expected[i][k]))) changed++;
      });
      assert.equal(changed, 0, `${changed} of ${snapshot.length} held records changed their bytes`);
      // and they are the bytes that were appended
      assert.ok(Buffer.from(snapshot[7].frames[0]).equals(spyMessage(7).frames[0]));
    });
  }

  it('a replay in flight (frames waiting in a real zeromq PUSH with no peer yet) sends the captured bytes', async () => {
    const c = new Capture({ maxRecords: CAPACITY });
    for (let i = 0; i < CAPACITY; i++) c.append(spyMessage(i));
    const picked = [c.get(1), c.get(CAPACITY / 2), c.get(CAPACITY)] as CapturedMessage[];
    const expected = picked.flatMap(copyFrames);
    const port = await freePort();
    const push: Push = new (zmq().Push)({ linger: 0 });
    const pull: Pull = new (zmq().Pull)({ linger: 0, receiveTimeout: 5000 });
    try {
      await push.bind(`tcp://127.0.0.1:${port}`);
      // no peer: send() waits holding the frames, as the composer's replay does (frames > 128 B go to libzmq uncopied)
      const sending = push.send(picked.flatMap((r) => r.frames));
      for (let i = CAPACITY; i < 11 * CAPACITY; i++) c.append(spyMessage(i + 1));
      pull.connect(`tcp://127.0.0.1:${port}`);
      await sending;
      const got = await pull.receive();
      assert.equal(got.length, expected.length);
      got.forEach((f, k) => assert.ok(f.equals(expected[k]), `replayed frame ${k} carries the bytes that were captured`));
    } finally {
      push.close();
      pull.close();
    }
  });

  it('a window that is read as it fills stays bounded: read chunks are left to the GC, unread ones recycled', () => {
    const c = new Capture({ maxRecords: CAPACITY });
    for (let i = 0; i < 20 * CAPACITY; i++) {
      c.append(spyMessage(i));
      if (i % 3 === 0) c.get(i + 1);
    }
    // 2,000 records of ~1 KiB: about 2 MiB of chunks live, a few spare
    const st = c.storeStats();
    assert.ok(st.chunks <= 4, `chunks held: ${st.chunks}`);
    assert.ok(st.spareChunks <= 4);
  });

  it('a window read lent (peek) as it fills reuses its memory instead of allocating afresh; held records still keep their bytes', () => {
    const churn = (read: (c: Capture, seq: number) => void) => {
      const c = new Capture({ maxRecords: CAPACITY });
      for (let i = 0; i < 20 * CAPACITY; i++) {
        c.append(spyMessage(i));
        read(c, i + 1);
      }
      // chunks it had to find beyond its own spares: new, or left by a capture disposed earlier
      const st = c.storeStats();
      return st.allocatedChunks + st.reusedChunks;
    };
    // ~40 MiB appended through a ~2 MiB window
    const held = churn((c, seq) => c.get(seq));
    const lent = churn((c, seq) => {
      const r = c.peek(seq) as CapturedMessage;
      assert.ok(Buffer.from(r.frames[0]).equals(spyMessage(seq - 1).frames[0]), `lent record ${seq} shows its bytes`);
    });
    assert.ok(held >= 30, `records read to hold leave their chunks to the GC: ${held} chunks allocated`);
    assert.ok(lent <= 8, `records read lent leave their chunks recyclable: ${lent} chunks allocated`);
    // mixed: what was read to hold keeps its bytes while lent reads let the rest recycle
    const c = new Capture({ maxRecords: CAPACITY });
    for (let i = 0; i < CAPACITY; i++) c.append(spyMessage(i));
    const kept = c.get(5) as CapturedMessage;
    const expected = copyFrames(kept);
    for (let i = CAPACITY; i < 20 * CAPACITY; i++) {
      c.append(spyMessage(i));
      c.peek(i + 1);
    }
    assert.ok(Buffer.from(kept.frames[0]).equals(expected[0]), 'a record read with get() is never overwritten by recycling');
  });

  it("a disposed capture's unread chunks fill the next capture instead of new memory; a chunk read to hold is never passed on", () => {
    const first = new Capture({ maxRecords: CAPACITY });
    for (let i = 0; i < 4 * CAPACITY; i++) first.append(spyMessage(i));
    const seq = first.stats().lastSeq - 10;
    const kept = first.get(seq) as CapturedMessage;
    const expected = copyFrames(kept);
    first.dispose();
    const next = new Capture({ maxRecords: CAPACITY });
    for (let i = 0; i < 1500; i++) next.append(spyMessage(100_000 + i));
    const st = next.storeStats();
    assert.ok(st.reusedChunks >= 1, `the next capture took the disposed one's chunks: ${JSON.stringify(st)}`);
    for (let s = 1; s <= 1500; s += 97) {
      assert.ok(Buffer.from((next.peek(s) as CapturedMessage).frames[0]).equals(spyMessage(100_000 + s - 1).frames[0]), `record ${s} of the next capture`);
    }
    assert.ok(Buffer.from(kept.frames[0]).equals(expected[0]), 'a record held from the disposed capture keeps its bytes');
    next.dispose();
  });
});

describe('writeExport', function () {
  this.timeout(20000);

  it('streams a snapshot to a slow destination, honouring drain, while the capture keeps evicting: every byte verifies', async () => {
    const c = new Capture({ maxRecords: CAPACITY });
    for (let i = 0; i < CAPACITY; i++) c.append(spyMessage(i));
    const chunks: string[] = [];
    let maxBuffered = 0;
    // a slow file: each write takes a tick, 4 KiB of buffer
    const out = new Writable({
      highWaterMark: 4096,
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk.toString());
        maxBuffered = Math.max(maxBuffered, out.writableLength);
        // meanwhile live sessions keep appending into the full window
        for (let k = 0; k < 50; k++) c.append(spyMessage(1e6 + k));
        setImmediate(done);
      },
    });
    const firstSeq = c.stats().firstSeq;
    const result = await writeExport([...c.records()], out, { totals: () => c.stats() });
    assert.equal(result.records, CAPACITY);
    assert.ok(c.stats().evicted >= CAPACITY, 'the window turned over while exporting');
    assert.ok(maxBuffered <= 4096 + 70 * 1024, `buffered at most one batch over the high-water mark (saw ${maxBuffered})`);
    const parsed = parseJsonLines(chunks.join(''));
    assert.deepEqual(parsed.errors, []);
    assert.equal(parsed.records.length, CAPACITY);
    parsed.records.forEach((r, i) => {
      assert.equal(r.seq, firstSeq + i);
      assert.ok(Buffer.from((r as CapturedMessage).frames[0]).equals(spyMessage(i).frames[0]), `record ${i} verifies`);
    });
    assert.equal(parsed.summary?.records, CAPACITY);
    // read when the export ended: the evictions during the export count (the last write's appends come after)
    assert.ok(parsed.summary!.evicted >= CAPACITY && parsed.summary!.evicted <= c.stats().evicted, `summary evicted ${parsed.summary!.evicted}`);
    const line = chunks.join('').trim().split('\n').pop()!;
    assert.deepEqual(Object.keys(JSON.parse(line)), ['kind', 'ts', 'format', 'records', 'evicted', 'evictedBytes', 'dropped'], 'the summary carries its own fields only');
  });

  it('rejects with the destination error (a closed pipe) instead of hanging', async () => {
    const c = new Capture();
    for (let i = 0; i < 500; i++) c.append(spyMessage(i));
    const out = new Writable({
      highWaterMark: 1024,
      write(_chunk, _enc, done) {
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    await assert.rejects(writeExport([...c.records()], out), /EPIPE/);
  });
});

describe('Capture: metadata is released with the last record that uses it', () => {
  it('100,000 short-lived tap connections keep the metadata bounded by the window', () => {
    const c = new Capture({ maxRecords: 1000 });
    for (let conn = 1; conn <= 100_000; conn++) {
      // the tap hands a new stream object per connection direction (and per READY change)
      const toTarget: WireStreamMeta = { ...stream, connection: conn };
      const fromTarget: WireStreamMeta = { ...stream, connection: conn, direction: 'fromTarget', socketType: 'PULL', peerSocketType: 'PUSH' };
      appendTap(c, conn, toTarget);
      appendTap(c, conn, fromTarget);
      // the connection's open/close records are objects, not metadata
      c.append({ kind: 'connection', seq: 0, ts: 1, session: 'tap-1', source: 'tap', endpoint: stream.endpoint, connection: conn, state: 'closed' });
    }
    const st = c.storeStats();
    assert.ok(st.metaEntries <= 1000, `metadata entries held: ${st.metaEntries}`);
    // what is still retained reads back with its own stream's fields
    const last = [...c.records()].filter((r): r is CapturedMessage => r.kind === 'message').pop()!;
    assert.equal(last.connection, 100_000);
    assert.equal(last.direction, 'fromTarget');
    assert.equal(last.socketType, 'PULL');
  });

  it('spy metadata (one entry per session and endpoint) is released too, and re-created when needed', () => {
    const c = new Capture({ maxRecords: 10 });
    for (let i = 0; i < 5000; i++) c.append({ ...spyMessage(i), session: `spy-${i}` });
    assert.ok(c.storeStats().metaEntries <= 10);
    c.append({ ...spyMessage(1), session: 'spy-4999' });
    const [a, b] = [c.get(c.stats().lastSeq - 1), c.get(c.stats().lastSeq)];
    assert.equal(a!.session, 'spy-4999');
    assert.equal(b!.session, 'spy-4999');
  });
});
