import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { Capture } from '../../src/core/capture/capture';
import { messageToLine, parseJsonLines, recordToJson, recordToLine, toJsonLines } from '../../src/core/capture/exportFormat';
import { JsonLinesEncoder } from '../../src/core/capture/jsonLinesEncoder';
import { CaptureRecord } from '../../src/core/capture/records';

function sample(): CaptureRecord[] {
  return [
    { kind: 'message', seq: 0, ts: 1700000000123.5, session: 'spy-1', source: 'spy', endpoint: 'tcp://127.0.0.1:5556', direction: 'in', frames: [Buffer.from('10001 42'), randomBytes(1000), Buffer.alloc(0)], socketType: 'SUB' },
    { kind: 'message', seq: 0, ts: 1700000000124, session: 'mon-1', source: 'monitor', endpoint: 'tcp://127.0.0.1:5562', direction: 'out', frames: [Buffer.from([0, 0x80, 1]), Buffer.alloc(0), Buffer.from('<img src=x onerror=alert(1)>')], envelopeFrames: 2, identity: Buffer.from([0, 0x80, 1]) },
    { kind: 'message', seq: 0, ts: 1700000000125, session: 'tap-1', source: 'tap', endpoint: 'tcp://127.0.0.1:5555', direction: 'toTarget', frames: [randomBytes(64)], connection: 3, peerSocketType: 'REP', socketType: 'REQ', truncated: { 0: 1048576 } },
    { kind: 'message', seq: 0, ts: 1700000000126, session: 'tap-1', source: 'tap', endpoint: 'tcp://127.0.0.1:5555', direction: 'fromTarget', frames: [Buffer.alloc(0)], connection: 3, encrypted: true, truncated: { 0: 77 } },
    { kind: 'event', seq: 0, ts: 1700000000127, session: 'spy-1', source: 'spy', endpoint: 'tcp://127.0.0.1:5557', type: 'connect:retry', address: 'tcp://127.0.0.1:5557', interval: 100 },
    { kind: 'event', seq: 0, ts: 1700000000128, source: 'spy', endpoint: 'tcp://127.0.0.1:5557', type: 'handshake:error:protocol', error: 'Mechanism mismatch', code: 'ERR_ZMTP_MECHANISM_MISMATCH' },
    { kind: 'greeting', seq: 0, ts: 1700000000129, session: 'tap-1', source: 'tap', endpoint: 'tcp://127.0.0.1:5555', direction: 'toTarget', connection: 3, version: '3.1', mechanism: 'NULL', asServer: false },
    { kind: 'command', seq: 0, ts: 1700000000130, session: 'tap-1', source: 'tap', endpoint: 'tcp://127.0.0.1:5555', direction: 'toTarget', connection: 3, name: 'READY', properties: { 'Socket-Type': Buffer.from('REQ'), Identity: Buffer.alloc(0), 'X-Bin': Buffer.from([255]) } },
    { kind: 'command', seq: 0, ts: 1700000000131, session: 'tap-1', source: 'tap', endpoint: 'tcp://127.0.0.1:5555', direction: 'toTarget', connection: 3, name: 'SUBSCRIBE', topic: Buffer.from([0xff, 0x00]) },
    { kind: 'connection', seq: 0, ts: 1700000000132, session: 'tap-1', source: 'tap', endpoint: 'tcp://127.0.0.1:5555', connection: 3, state: 'undecodable', peer: '127.0.0.1:40000', reason: 'not decoded: version 2.0' },
  ];
}

describe('export format (JSON Lines)', () => {
  it('round-trips every record kind byte-exact through a capture', () => {
    const capture = new Capture();
    for (const r of sample()) capture.append(r);
    const text = toJsonLines(capture.records(), capture.stats());
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, sample().length + 1, 'one line per record plus the summary');
    const back = parseJsonLines(text);
    assert.deepEqual(back.errors, []);
    assert.equal(back.records.length, sample().length);
    const original = [...capture.records()];
    for (let i = 0; i < original.length; i++) {
      assert.deepEqual(recordToJson(back.records[i]), recordToJson(original[i]));
    }
    const m = back.records[0];
    assert.ok(m.kind === 'message' && Buffer.from(m.frames[1]).equals(Buffer.from((original[0] as { frames: Uint8Array[] }).frames[1])));
    assert.equal(back.summary?.records, sample().length);
  });

  it('writes a message line (the fast path) as the very text of JSON.stringify of its object', () => {
    const capture = new Capture();
    const records: CaptureRecord[] = [...sample()];
    // every frame size around the small-frame encoder's edges, strings that need escaping, agent fields, seq 0 and set
    for (let n = 0; n <= 130; n++) records.push({ kind: 'message', seq: n % 2 ? n : 0, ts: 1700000000000 + n / 3, session: n % 3 ? 'spy-"1"\u2028' : undefined, source: 'spy', endpoint: `tcp://127.0.0.1:${n}\n`, direction: 'in', frames: [randomBytes(n), randomBytes(n % 5)] });
    records.push({ kind: 'message', seq: 9, ts: 1, source: 'agent', endpoint: '', process: 'wörker.js "x"', pid: 42, socket: '42.1', direction: 'out', frames: [], identity: randomBytes(5), envelopeFrames: 0, truncated: { 1: 5, 0: 9 }, encrypted: false });
    records.push({ kind: 'message', seq: 10, ts: 2, source: 'spy', endpoint: 'e', direction: 'in', frames: [Buffer.from('\ud800')] });
    for (const r of records) capture.append(r);
    let messages = 0;
    for (const r of [...records, ...capture.records()]) {
      if (r.kind !== 'message') continue;
      assert.equal(messageToLine(r), JSON.stringify(recordToJson(r)));
      assert.equal(recordToLine(r), JSON.stringify(recordToJson(r)));
      messages++;
    }
    assert.equal(messages, 2 * (4 + 131 + 2), 'the records as built and as read back from the capture');
    // the byte encoder (the CLI's --json): the same text, UTF-8, every kind, across its buffer's growth
    const all = [...records, ...capture.records()];
    const encoder = new JsonLinesEncoder();
    const parts: Buffer[] = [];
    for (let round = 0; round < 3; round++) {
      for (const r of all) encoder.add(r);
      if (round === 1) parts.push(encoder.take());
    }
    parts.push(encoder.take());
    assert.equal(encoder.length, 0);
    const expected = Buffer.from([0, 1, 2].map(() => all.map((r) => recordToLine(r) + '\n').join('')).join(''));
    assert.ok(Buffer.concat(parts).equals(expected), 'the encoder wrote other bytes than recordToLine');
    // a big frame (Buffer's own base64) and a non-ASCII endpoint
    const big: CaptureRecord = { kind: 'message', seq: 1, ts: 5, source: 'spy', endpoint: 'tcp://ünï:1', direction: 'in', frames: [randomBytes(200_000)], socketType: 'SUB', peerSocketType: 'PUB', connection: 2 };
    encoder.add(big);
    assert.equal(encoder.take().toString('utf8'), recordToLine(big) + '\n');
  });

  it('the byte encoder reuses a line part only for the same fields: every change of ts, seq, session, connection, types, envelope, identity or encryption shows', () => {
    // consecutive messages that differ from the one before in one field each, so
    // that a cached part (ts, the session's fields, the connection's tail) reused
    // where it should not be writes other bytes than recordToLine
    const base = { kind: 'message' as const, seq: 1, ts: 1700000000000, session: 'spy', source: 'spy' as const, endpoint: 'tcp://127.0.0.1:1', direction: 'in' as const, frames: [Buffer.from('x')] };
    const variants: Partial<Record<string, unknown>>[] = [
      {},
      { ts: 1700000000001 },
      { ts: 1700000000001.25 },
      { ts: 0.1 + 0.2 },
      { ts: NaN },
      { ts: NaN },
      { seq: 0 },
      { seq: 9 },
      { seq: 10 },
      { seq: 99_999_999 },
      { seq: Number.MAX_SAFE_INTEGER },
      { seq: 2 ** 60 },
      { seq: 1e21 },
      { seq: -3 },
      { seq: 2.5 },
      { session: undefined },
      { session: 'spy-2' },
      { session: 'spy-\u2028"é' },
      { source: 'tap' },
      { endpoint: 'tcp://127.0.0.1:2' },
      { endpoint: 'tcp://ü:2' },
      { pid: 7 },
      { pid: 8 },
      { direction: 'out' },
      { connection: 1 },
      { connection: 2 },
      { connection: 2, socketType: 'SUB' },
      { connection: 2, socketType: 'XSUB' },
      { connection: 2, socketType: 'XSUB', peerSocketType: 'PUB' },
      { connection: 2, socketType: 'XSUB', peerSocketType: 'XPUB' },
      { envelopeFrames: 0 },
      { envelopeFrames: 2 },
      { envelopeFrames: 2, encrypted: true },
      { envelopeFrames: 2, encrypted: false },
      { identity: Buffer.from([0, 0x80, 1]), envelopeFrames: 2 },
      { identity: Buffer.alloc(0), connection: 4, socketType: 'ROUTER', peerSocketType: 'DEALER', encrypted: true },
      { identity: randomBytes(200), envelopeFrames: 1 },
      { frames: [] },
      { frames: [Buffer.alloc(0), randomBytes(97), randomBytes(3)] },
    ];
    // ten sessions and ten connections in turn: more than the encoder keeps
    for (let i = 0; i < 10; i++) variants.push({ session: `s${i}`, connection: i });
    for (let i = 9; i >= 0; i--) variants.push({ session: `s${i}`, connection: i });
    const records = [...variants, ...variants.slice().reverse(), ...variants].map((v) => ({ ...base, ...v }) as CaptureRecord);
    const encoder = new JsonLinesEncoder();
    for (const r of records) encoder.add(r);
    const got = encoder.take().toString('utf8').split('\n');
    const want = records.map((r) => recordToLine(r));
    for (let i = 0; i < want.length; i++) assert.equal(got[i], want[i], `record ${i}: ${JSON.stringify(records[i])}`);
    assert.equal(got.length, want.length + 1);
  });

  it('the byte encoder hands out buffers of their own: one not given back is never written again, one given back is reused', () => {
    const line = (seq: number): CaptureRecord => ({ kind: 'message', seq, ts: 5, source: 'spy', endpoint: 'e', direction: 'in', frames: [Buffer.alloc(40, seq)] });
    const encoder = new JsonLinesEncoder();
    const held: { bytes: Buffer; copy: Buffer }[] = [];
    let seq = 1;
    for (let round = 0; round < 40; round++) {
      // enough lines to grow the buffer now and then
      for (let i = 0; i < (round % 7) * 300 + 1; i++) encoder.add(line(seq++));
      const bytes = encoder.take();
      held.push({ bytes, copy: Buffer.from(bytes) });
      // every other buffer given back (twice: the second is ignored), the others kept
      if (round % 2) {
        encoder.recycle(bytes);
        encoder.recycle(bytes);
        held.pop();
      }
    }
    const all = held.map((h) => h.bytes);
    for (const h of held) assert.ok(h.bytes.equals(h.copy), 'a buffer not given back was written again');
    for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) assert.notEqual(all[i].buffer, all[j].buffer, 'two buffers held share memory');
    // given back: its memory is what the encoder fills after the buffer it was filling then
    const a = encoder.take();
    encoder.recycle(a);
    encoder.add(line(seq++));
    const b = encoder.take();
    encoder.add(line(seq++));
    const c = encoder.take();
    assert.notEqual(b.buffer, a.buffer);
    assert.equal(c.buffer, a.buffer);
    assert.equal(c.toString(), recordToLine(line(seq - 1)) + '\n');
    encoder.add(line(seq++));
    const d = encoder.take();
    assert.ok(d.buffer !== b.buffer && d.buffer !== c.buffer, 'b was not given back, c is held');
  });

  it('writes the documented shape', () => {
    const [m] = sample();
    const j = recordToJson({ ...m, seq: 7 });
    assert.deepEqual(Object.keys(j), ['kind', 'ts', 'seq', 'session', 'source', 'endpoint', 'direction', 'frames', 'socketType']);
    assert.equal((j.frames as string[])[0], Buffer.from('10001 42').toString('base64'));
  });

  it('says which line and which field is wrong, and keeps the good lines', () => {
    const good = JSON.stringify(recordToJson(sample()[0]));
    const text = [
      good,
      '{not json',
      JSON.stringify({ kind: 'message', ts: 1, source: 'spy', endpoint: 'e', direction: 'in', frames: ['@@@'] }),
      JSON.stringify({ kind: 'message', ts: 1, source: 'nope', endpoint: 'e', direction: 'in', frames: [] }),
      JSON.stringify({ kind: 'weird', ts: 1 }),
      '',
      '[1,2]',
      good,
    ].join('\n');
    const r = parseJsonLines(text);
    assert.equal(r.records.length, 2);
    assert.deepEqual(
      r.errors.map((e) => e.line),
      [2, 3, 4, 5, 7],
    );
    assert.match(r.errors[0].message, /not JSON/);
    assert.match(r.errors[1].message, /'frames\[0\]' is not base64/);
    assert.match(r.errors[2].message, /'source' must be one of spy, monitor, tap/);
    assert.match(r.errors[3].message, /unknown record kind "weird"/);
    assert.match(r.errors[4].message, /expected a JSON object/);
  });
});

describe('export format: agent records (added kinds and fields)', () => {
  const base = { seq: 0, session: 'agent', source: 'agent' as const, process: 'pub_server.py', pid: 4242 };
  const records: CaptureRecord[] = [
    { ...base, kind: 'process', ts: 1, endpoint: '', state: 'started', argv: ['python3', 'pub_server.py'], cwd: '/w', ppid: 1, runtime: 'python 3.11.2 pyzmq 24.0.1 libzmq 4.3.4' },
    { ...base, kind: 'socket', ts: 2, endpoint: '', socket: '4242.1', op: 'open', socketType: 'PUB', sndhwm: 1000, rcvhwm: 1000 },
    { ...base, kind: 'socket', ts: 3, endpoint: 'tcp://0.0.0.0:41234', socket: '4242.1', op: 'bind', socketType: 'PUB', requested: 'tcp://*:0' },
    { ...base, kind: 'socket', ts: 4, endpoint: 'tcp://0.0.0.0:41234', socket: '4242.2', op: 'subscribe', socketType: 'SUB', topic: Buffer.from('10001') },
    { ...base, kind: 'socket', ts: 5, endpoint: '', socket: '4242.3', op: 'option', option: 'routing_id', bytes: Buffer.from([0, 1, 2]) },
    { ...base, kind: 'socket', ts: 6, endpoint: 'tcp://127.0.0.1:1', socket: '4242.3', op: 'bind', error: 'Address already in use', code: 'EADDRINUSE' },
    { ...base, kind: 'message', ts: 7, endpoint: 'tcp://0.0.0.0:41234', socket: '4242.1', direction: 'out', socketType: 'PUB', frames: [Buffer.from('10001 42'), randomBytes(5)] },
    { ...base, kind: 'event', ts: 8, endpoint: 'tcp://0.0.0.0:41234', socket: '4242.1', type: 'send:error', code: 'EAGAIN', count: 17 },
    { ...base, kind: 'process', ts: 9, endpoint: '', state: 'exited', dropped: 3 },
  ];

  it('round-trips process, socket, message and failure records with process, pid and socket, through a capture', () => {
    const capture = new Capture();
    for (const r of records) capture.append(structuredClone(r));
    const text = toJsonLines(capture.records());
    const parsed = parseJsonLines(text);
    assert.deepEqual(parsed.errors, []);
    assert.equal(parsed.records.length, records.length);
    for (let i = 0; i < records.length; i++) assert.deepEqual(recordToJson(parsed.records[i]), recordToJson(capture.get(i + 1)!));
    const json = recordToJson(capture.get(7)!);
    assert.equal(json.source, 'agent');
    assert.equal(json.process, 'pub_server.py');
    assert.equal(json.pid, 4242);
    assert.equal(json.socket, '4242.1');
  });

  it('names a bad op or argv', () => {
    const r = parseJsonLines('{"kind":"socket","ts":1,"source":"agent","endpoint":"","op":"explode"}\n{"kind":"process","ts":1,"source":"agent","endpoint":"","state":"started","argv":[1]}\n');
    assert.match(r.errors[0].message, /'op' must be one of/);
    assert.match(r.errors[1].message, /'argv' must be an array of strings/);
  });
});
