/**
 * The tap's one-copy path (RecordStore.pushWireBatch): a read's messages are
 * copied into the store a run at a time and evicted a run at a time. What the
 * capture holds must be exactly what message-by-message appending holds: the
 * same records (seq, ts, fields, frame bytes), the same bytes counted, the same
 * evictions per session, the same chunks and the same place in them for every
 * record; and the same records as the decoder's general path (frame views,
 * no wire bytes at all).
 */
import { strict as assert } from 'node:assert';
import { Capture, type CaptureLimits, type WireBatch, type WireStreamMeta } from '../../src/core/capture/capture';
import { newFrameSpans } from '../../src/core/capture/recordStore';
import { tapCommandRecord, tapMessageRecord } from '../../src/core/capture/tapRecords';
import { ZmtpDecoder } from '../../src/core/zmtp/decoder';
import * as z from './helpers/zmtpBytes';

const tap: WireStreamMeta = { session: 'tap', endpoint: 'tcp://127.0.0.1:5557', direction: 'toTarget', connection: 1, socketType: 'DEALER', peerSocketType: 'ROUTER', identity: Buffer.from('id-1'), reqRepEnvelope: false };
const back: WireStreamMeta = { ...tap, session: 'tap-2', direction: 'fromTarget', connection: 2, socketType: 'REQ', peerSocketType: 'REP', identity: undefined, reqRepEnvelope: true };

/** A message's frames whose bytes say which message and frame they are. */
function frames(i: number, sizes: number[]): Buffer[] {
  return sizes.map((size, k) => {
    const f = Buffer.alloc(size);
    for (let b = 0; b < size; b++) f[b] = (i * 31 + k * 7 + b) & 0xff;
    return f;
  });
}

/** A read: `messages` as wire bytes back to back after `lead` bytes of something else, and their batch (with `gap` bytes between messages). */
function read(messages: Buffer[][], lead = 3, gap = 0): { bytes: Buffer; batch: WireBatch } {
  const parts: Buffer[] = [Buffer.alloc(lead, 0xee)];
  const batch = { count: messages.length, start: [] as number[], end: [] as number[], frames: [] as number[], payload: [] as number[] };
  let at = lead;
  for (const m of messages) {
    const wire = z.message(m);
    batch.start.push(at);
    batch.end.push((at += wire.length));
    batch.frames.push(m.length);
    batch.payload.push(m.reduce((n, f) => n + f.length, 0));
    parts.push(wire, Buffer.alloc(gap, 0xdd));
    at += gap;
  }
  return { bytes: Buffer.concat(parts), batch };
}

/** The same batch, one message at a time (the path before one copy per run). */
function appendOneByOne(c: Capture, stream: WireStreamMeta, ts: number, bytes: Uint8Array, b: WireBatch): void {
  for (let i = 0; i < b.count; i++) c.appendWire(stream, ts, bytes, { count: 1, start: [b.start[i]], end: [b.end[i]], frames: [b.frames[i]], payload: [b.payload[i]] });
}

/** Everything a reader can see of a capture, frames as hex, and where each packed record lies in the store. */
function contents(c: Capture): unknown {
  const spans = newFrameSpans();
  const records = [...c.records()].map((r) => {
    const plain: Record<string, unknown> = { ...r };
    if (r.kind === 'message') {
      plain.frames = r.frames.map((f) => Buffer.from(f).toString('hex'));
      if (r.identity) plain.identity = Buffer.from(r.identity).toString('hex');
      const meta = c.peekFrameSpans(r.seq, spans);
      plain.at = meta < 0 ? 'object' : `${spans.from}-${spans.to}`;
    }
    return plain;
  });
  const sessions = c.sessionIds().map((id) => {
    const s = c.session(id)!;
    return { id, messages: s.messages, bytes: s.bytes, evicted: s.evicted, others: s.others };
  });
  const { rate: _rate, ...stats } = c.stats();
  // chunks allocated may differ: a run is evicted for the byte limit after it is copied, not message by message
  const { spareChunks: _spare, reusedChunks: _reused, allocatedChunks: _allocated, reusedRings: _rings, ...store } = c.storeStats();
  return { records, sessions, stats, store };
}

type Step = { stream: WireStreamMeta; messages: Buffer[][]; gap?: number } | { command: string };

/** The steps into two captures, batched and one by one: they must hold the same. */
function same(limits: Partial<CaptureLimits>, steps: Step[]): Capture {
  const batched = new Capture(limits);
  const single = new Capture(limits);
  let ts = 1000;
  for (const step of steps) {
    ts++;
    if ('command' in step) {
      for (const c of [batched, single]) c.append(tapCommandRecord({ session: 'tap', endpoint: tap.endpoint, direction: 'toTarget', connection: 1 }, ts, { name: step.command, size: 5 }));
      continue;
    }
    const { bytes, batch } = read(step.messages, 3, step.gap);
    batched.appendWire(step.stream, ts, bytes, batch);
    appendOneByOne(single, step.stream, ts, bytes, batch);
    // the read buffer is reused: nothing may point into it
    bytes.fill(0xa5);
  }
  assert.deepEqual(contents(batched), contents(single));
  // and never more memory than one chunk beyond
  assert.ok(batched.storeStats().allocatedChunks <= single.storeStats().allocatedChunks + 1, `${batched.storeStats().allocatedChunks} chunks allocated, one by one ${single.storeStats().allocatedChunks}`);
  single.dispose();
  return batched;
}

describe('RecordStore: one copy per run of wire messages', function () {
  this.timeout(60000);

  it('runs across the 1 MiB chunk boundary, a window evicting part of each run: the same as one by one', () => {
    const steps: Step[] = [];
    // 16 B messages in reads of 9,000 (as the tap's at full speed): 58,254 fit a chunk
    for (let r = 0; r < 25; r++) steps.push({ stream: tap, messages: Array.from({ length: 9000 }, (_, i) => frames(r * 9000 + i, [16])) });
    const c = same({ maxRecords: 100_000 }, steps);
    assert.equal(c.stats().evicted, 125_000);
    assert.ok(c.storeStats().allocatedChunks >= 3, 'the runs crossed chunk boundaries');
  });

  it('empty frames, short and long headers, a message bigger than a shared chunk takes, a batch bigger than the window', () => {
    const shapes = [[0], [0, 0, 0], [1], [255], [256], [0, 300, 0], [70_000], [300 * 1024], [5, 0], [100_000, 200_000]];
    const messages = Array.from({ length: 40 }, (_, i) => frames(i, shapes[i % shapes.length]));
    for (const maxRecords of [1, 7, 1000]) same({ maxRecords }, [{ stream: tap, messages }, { stream: tap, messages: messages.slice(3, 30) }]);
    // the byte limit evicts inside a run too
    same({ maxRecords: 1000, maxBytes: 900_000 }, [{ stream: tap, messages }, { stream: tap, messages }]);
  });

  it('a run ends where the next message does not follow at once (a filtered batch) and where a chunk fills', () => {
    const messages = Array.from({ length: 3000 }, (_, i) => frames(i, [i % 5 === 0 ? 0 : 700 + (i % 3)]));
    same({ maxRecords: 2500 }, [
      { stream: tap, messages, gap: 0 },
      { stream: tap, messages, gap: 5 },
      { stream: tap, messages: messages.slice(0, 1500), gap: 1 },
    ]);
  });

  it('eviction runs stop at another stream and at a record kept as an object; counters per session stay exact', () => {
    const m = (n: number, at: number) => Array.from({ length: n }, (_, i) => frames(at + i, [i % 4, 10]));
    const c = same({ maxRecords: 50 }, [
      { stream: tap, messages: m(30, 0) },
      { command: 'PING' },
      { stream: back, messages: m(30, 100) },
      { stream: tap, messages: m(5, 200) },
      { command: 'PONG' },
      { stream: back, messages: m(70, 300) },
      { stream: tap, messages: m(49, 400) },
    ]);
    assert.equal(c.stats().evicted, 30 + 1 + 30 + 5 + 1 + 70 + 49 - 50);
    assert.equal(c.session('tap')!.evicted + c.session('tap-2')!.evicted, 30 + 30 + 5 + 70 + 49 - 50, 'every message but the 50 retained');
  });

  it('a ring that grows while wrapped around keeps every record where it was, those kept as objects too (they are kept by ring slot)', () => {
    const c = new Capture({ maxRecords: 20 });
    const expected: string[] = [];
    const add = (i: number) => {
      if (i % 3 === 0) {
        c.append(tapCommandRecord({ session: 'tap', endpoint: tap.endpoint, direction: 'toTarget', connection: 1 }, i, { name: `CMD${i}`, size: 5 }));
        expected.push(`command CMD${i}`);
      } else {
        const m = frames(i, [i % 5, 16]);
        const { bytes, batch } = read([m]);
        c.appendWire(tap, i, bytes, batch);
        expected.push(`message ${m.map((f) => f.toString('hex')).join('/')}`);
      }
    };
    const seen = () => [...c.records()].map((r) => (r.kind === 'command' ? `command ${r.name}` : r.kind === 'message' ? `message ${r.frames.map((f) => Buffer.from(f).toString('hex')).join('/')}` : r.kind));
    let i = 0;
    // 47 records through a window of 20: the ring's head is mid-way when the window is raised
    for (; i < 47; i++) add(i);
    assert.deepEqual(seen(), expected.slice(-20));
    c.setLimits({ maxRecords: 500 });
    // the ring (21 slots) grows while wrapped, twice
    for (; i < 47 + 60; i++) add(i);
    assert.deepEqual(seen(), expected.slice(47 - 20));
    assert.equal(c.stats().evicted, 47 - 20);
    // and evicts them all again in order
    c.setLimits({ maxRecords: 5 });
    assert.deepEqual(seen(), expected.slice(-5));
  });

  it('the ring is allocated at the window size when the first record comes (up to 131,072 slots), then doubles', () => {
    const ringFor = (maxRecords: number, n: number) => {
      const c = new Capture({ maxRecords });
      for (let i = 0; i < n; i++) c.appendWire(tap, i, ...Object.values(read([frames(i, [16])])) as [Uint8Array, WireBatch]);
      const slots = c.storeStats().ringSlots;
      c.dispose();
      return slots;
    };
    assert.equal(ringFor(100_000, 1), 100_001);
    assert.equal(ringFor(1_000_000, 1), 131_072);
    assert.equal(ringFor(1_000_000, 131_073), 262_144);
    assert.equal(ringFor(5, 1), 16);
  });

  it("a ring a disposed capture released is taken by the next capture of that window: the old ring's contents are never read", () => {
    const place = { session: 'tap', endpoint: tap.endpoint, direction: 'toTarget' as const, connection: 1 };
    // records kept as objects at some slots, packed messages at the others, the ring wrapped
    const fill = (c: Capture, n: number, salt: number) => {
      for (let i = 0; i < n; i++) {
        if ((i + salt) % 7 === 0) c.append(tapCommandRecord(place, i, { name: `CMD${i + salt}`, size: 5 }));
        else c.appendWire(i % 2 ? tap : back, i, ...Object.values(read([frames(i + salt, [(i + salt) % 9, 3])])) as [Uint8Array, WireBatch]);
      }
    };
    const fresh = new Capture({ maxRecords: 299 });
    fill(fresh, 500, 1);
    const expected = contents(fresh);
    const old = new Capture({ maxRecords: 299 });
    fill(old, 1000, 2);
    old.dispose(); // releases its ring (300 slots), full of other records
    const next = new Capture({ maxRecords: 299 });
    fill(next, 500, 1);
    assert.equal(next.storeStats().reusedRings, 1, 'the released ring was taken');
    assert.deepEqual(contents(next), expected);
    // cleared, a capture takes its own ring back
    for (const c of [fresh, next]) {
      c.clear();
      fill(c, 500, 1);
    }
    assert.deepEqual([fresh.storeStats().reusedRings, next.storeStats().reusedRings], [1, 2]);
    assert.deepEqual(contents(next), contents(fresh));
  });

  it('through the decoder, reads cut anywhere (messages split across two reads): the records the general path makes', () => {
    const shapes = [[16], [0], [3, 0, 4], [300], [16], [1000, 1], [0, 0]];
    const stream = z.nullStream('DEALER', Array.from({ length: 3000 }, (_, i) => frames(i, shapes[i % shapes.length])), { Identity: 'id-1' });
    const place = { session: 'tap', endpoint: tap.endpoint, direction: 'toTarget' as const, connection: 1 };
    const decodeInto = (c: Capture, wire: boolean, readSize: number) => {
      const d: ZmtpDecoder = new ZmtpDecoder(
        {
          greeting() {},
          command() {},
          message: (f, truncated, encrypted) => c.append(tapMessageRecord(place, 7, f, truncated, encrypted, d, 'ROUTER')),
          wireMessages: (chunk, batch) => c.appendWire(tap, 7, chunk, batch),
          undecodable: (reason) => assert.fail(reason),
        },
        { wireMessages: wire, transientChunks: true },
      );
      // one reused read buffer, scribbled over after each read
      const buf = Buffer.alloc(readSize);
      for (let i = 0; i < stream.length; i += readSize) {
        const n = stream.copy(buf, 0, i, i + readSize);
        d.push(buf.subarray(0, n));
        buf.fill(0xa5);
      }
    };
    const records = (c: Capture) => [...c.records()].map((r) => (r.kind === 'message' ? { ...r, frames: r.frames.map((f) => Buffer.from(f).toString('hex')), identity: Buffer.from(r.identity!).toString() } : r));
    const general = new Capture({ maxRecords: 2000 });
    decodeInto(general, false, 1 << 20);
    for (const readSize of [7, 100, 4096, 65536, 1 << 20]) {
      const c = new Capture({ maxRecords: 2000 });
      decodeInto(c, true, readSize);
      assert.deepEqual(records(c), records(general), `reads of ${readSize} B`);
      assert.deepEqual([c.stats().evicted, c.stats().totalMessages], [1000, 3000]);
      c.dispose();
    }
  });
});
