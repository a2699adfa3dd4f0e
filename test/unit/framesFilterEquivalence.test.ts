/**
 * The frames viewer's text filter scans a packed message's bytes where the
 * capture keeps them (src/viewers/frameTextScan.ts) instead of building every
 * record: its answers must be the record predicate's (compileFilter), always.
 * Compared here on varied captures (text, binary, invalid UTF-8, non-ASCII,
 * multipart, envelopes, tap wire bytes with long frames, messages kept as
 * objects, agent records, events and commands, more than one chunk, a big
 * message in a chunk of its own) for hand-picked patterns and for a few
 * hundred random ones, case-sensitive or not, regex or plain.
 */
import * as assert from 'node:assert/strict';
import { Capture } from '../../src/core/capture/capture';
import { CaptureRecord } from '../../src/core/capture/records';
import { newFrameSpans } from '../../src/core/capture/recordStore';
import { DEFAULT_FILTER, FrameFilter } from '../../src/shared/protocol/frames';
import { compileFilter } from '../../src/viewers/frameFilter';
import { FramesQuery } from '../../src/viewers/framesQuery';
import { compileFrameTextScan, requiredLiteral } from '../../src/viewers/frameTextScan';
import { spyMessage } from './helpers/records';

const filter = (f: Partial<FrameFilter>): FrameFilter => ({ ...DEFAULT_FILTER, kinds: [...DEFAULT_FILTER.kinds], ...f });

/** A small deterministic generator (the same captures and patterns on every run). */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick };
}

/** Text the patterns below can match: ASCII of both cases, digits, punctuation, and characters that fold oddly (ſ, ı, İ, the Kelvin sign), ü, an emoji. */
const PIECES = ['a', 'b', 'A', 'B', 's', 'S', 'k', 'K', 'i', 'I', ' ', '.', '-', '7', '1', '0', '\n', 'update', 'UpDaTe', 'sports', 'ſ', 'ı', 'İ', '\u212a', 'ü', '😀', '|', '(', '\\', '$'];

function randomText(r: ReturnType<typeof rng>, max: number): string {
  let s = '';
  for (let n = r.int(max); n > 0; n--) s += r.pick(PIECES);
  return s;
}

/** A frame: text, or bytes that are not valid UTF-8 with ASCII around and inside the broken sequences. */
function randomFrame(r: ReturnType<typeof rng>, max = 8): Buffer {
  const text = Buffer.from(randomText(r, max));
  switch (r.int(6)) {
    case 0: {
      // a broken sequence: a lead byte cut short by ASCII, a lone continuation byte, 0xff
      const bad = r.pick([[0xe2, 0x61], [0xf0, 0x9f, 0x41], [0x80], [0xff], [0xc3], [0xed, 0xa0, 0x80]]);
      const at = r.int(text.length + 1);
      return Buffer.concat([text.subarray(0, at), Buffer.from(bad), text.subarray(at)]);
    }
    case 1:
      return Buffer.from(Array.from({ length: r.int(12) }, () => r.int(256)));
    case 2:
      return Buffer.alloc(0);
    default:
      return text;
  }
}

/** Tap wire bytes of one message: ZMTP frames (short headers, and a long one for a frame over 255 bytes). */
function wireOf(frames: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  frames.forEach((f, i) => {
    const more = i < frames.length - 1 ? 1 : 0;
    if (f.length > 255) {
      const h = Buffer.alloc(9);
      h[0] = 0x02 | more;
      h.writeUInt32BE(f.length, 5);
      parts.push(h, f);
    } else parts.push(Buffer.from([more, f.length]), f);
  });
  return Buffer.concat(parts);
}

const TAP = { session: 'tap-1', endpoint: 'tcp://127.0.0.1:5557', direction: 'toTarget' as const, connection: 1, socketType: 'DEALER', peerSocketType: 'ROUTER', identity: undefined, reqRepEnvelope: false };
const REQ = { ...TAP, connection: 2, socketType: 'REQ', peerSocketType: 'REP', reqRepEnvelope: true };

/** Every kind of record the capture keeps, packed or as objects, over more than one chunk. */
function variedCapture(seed: number, count: number, long = true): Capture {
  const r = rng(seed);
  // timestamps in order, as a capture's are (a record with none is stamped now): the timeline prunes by the oldest's
  const c = new Capture({ maxRecords: count + 2000 });
  for (let i = 0; i < count; i++) {
    const frames = Array.from({ length: 1 + r.int(4) }, () => randomFrame(r));
    if (long && i % 97 === 5) frames.push(Buffer.from(`padding ${'x'.repeat(300)} update 7`));
    switch (r.int(10)) {
      case 0: {
        const wire = wireOf(frames);
        c.appendWire(r.int(2) ? TAP : REQ, 1 + i, wire, { count: 1, start: [0], end: [wire.length], frames: [frames.length], payload: [frames.reduce((n, f) => n + f.length, 0)] });
        break;
      }
      case 1:
        // a program renamed now and then (exec): the drop-down keeps a pid's last name
        c.append(spyMessage(frames, { ts: 1 + i, source: 'agent', session: 'agent', direction: 'out', pid: 4242, process: r.int(5) ? 'pub.py' : 'pub2.py', socket: `4242.${1 + r.int(2)}`, socketType: r.int(2) ? 'PUB' : 'XPUB' }));
        break;
      case 2:
        // kept as objects by the store: a truncated message, an encrypted one
        c.append(spyMessage(frames, r.int(2) ? { ts: 1 + i, truncated: { 0: 5000 } } : { ts: 1 + i, encrypted: true }));
        break;
      case 3:
        c.append(spyMessage([Buffer.from('id'), Buffer.alloc(0), ...frames], { ts: 1 + i, envelopeFrames: 2 }));
        break;
      case 4: {
        const kind = r.int(4);
        const text = randomText(r, 6);
        if (kind === 0) c.append({ kind: 'event', seq: 0, ts: 1 + i, session: 'spy-1', source: 'spy', endpoint: 'tcp://127.0.0.1:5556', type: `connect ${text}`, address: 'tcp://127.0.0.1:5556', error: text });
        else if (kind === 1) c.append({ kind: 'command', seq: 0, ts: 1 + i, session: 'tap-1', source: 'tap', endpoint: 'tcp://127.0.0.1:5557', direction: 'toTarget', connection: 1, name: 'SUBSCRIBE', topic: randomFrame(r) });
        else if (kind === 2) c.append({ kind: 'process', seq: 0, ts: 1 + i, session: 'agent', source: 'agent', endpoint: '', process: r.int(2) ? `prog ${text}.py` : 'exec.py', pid: r.int(2) ? 100 + i : 4242, state: 'started' });
        else c.append({ kind: 'socket', seq: 0, ts: 1 + i, session: 'agent', source: 'agent', endpoint: '', process: 'p.py', pid: 7, socket: '7.1', op: 'subscribe', topic: randomFrame(r) });
        break;
      }
      default:
        c.append(spyMessage(frames, { ts: 1 + i }));
    }
  }
  if (!long) return c;
  // past a chunk (1 MiB): the scan crosses chunks, and a big message has a chunk of its own
  c.append(spyMessage([Buffer.from('big'), Buffer.concat([Buffer.alloc(300_000, 0x41), Buffer.from(' sports UPDATE 17')])]));
  for (let i = 0; i < 1200; i++) c.append(spyMessage([Buffer.from('sports'), Buffer.from(`sports update ${i} ${'.'.repeat(900)}`)]));
  return c;
}

/** The seqs the record predicate accepts (what the viewer showed before the byte scan). */
function byRecords(c: Capture, f: FrameFilter): number[] {
  const p = compileFilter(f)!;
  const out: number[] = [];
  for (const r of c.records()) if (p(r)) out.push(r.seq);
  return out;
}

/**
 * The seqs the viewer's query shows, scanned in slices of `slice` records;
 * `rescan`: as the viewer does when a filter is typed, after a first scan with
 * no filter (the timeline has counted every record: the scan may pass over
 * messages without looking at them, RecordStore.nextToScan).
 */
function byQuery(c: Capture, f: FrameFilter, slice = Infinity, rescan = false): number[] {
  const q = new FramesQuery(c);
  if (rescan) q.reset();
  q.setFilter(f, false);
  while (q.update(slice).pending > 0);
  const out: number[] = [];
  for (let row = q.base; row < q.base + q.shown; row++) out.push(q.seqAt(row)!);
  return out;
}

/** For every packed message: the byte scan's answer and the text predicate's. */
function scanMatchesPredicate(c: Capture, f: FrameFilter): void {
  const scan = compileFrameTextScan(f)!;
  const text = compileFilter(filter({ text: f.text, regex: f.regex, caseSensitive: f.caseSensitive }))!;
  const spans = newFrameSpans();
  scan.begin();
  const { firstSeq, lastSeq } = c.stats();
  for (let seq = firstSeq; seq <= lastSeq; seq++) {
    if (c.peekPackedBytes(seq, spans) < 0) continue;
    const { from, to } = spans;
    const may = scan.mayHold(spans.buf, from, to);
    assert.ok(c.peekFrameSpans(seq, spans) >= 0);
    // the record's bytes hold its frames, the last one ending it
    assert.deepEqual([spans.from, spans.to], [from, to]);
    if (spans.count) assert.ok(from <= spans.start[0] && spans.end[spans.count - 1] === to, `seq ${seq}: frames within the record's bytes`);
    const r = c.peek(seq) as CaptureRecord;
    assert.equal(scan.test(spans), text(r), `seq ${seq} ${JSON.stringify(f)}`);
    if (!may) assert.equal(text(r), false, `seq ${seq}: passed over by mayHold, yet it matches ${JSON.stringify(f)}`);
  }
}

const HAND_PICKED: [string, boolean][] = [
  ['spo.ts update \\d*7$', true],
  ['update', true],
  ['^sports', true],
  ['7$', true],
  ['^$', true],
  ['UPDATE 1', true],
  ['a|update', true],
  ['(update)+ 1', true],
  ['up?date', true],
  ['upd{1}ate', true],
  ['upd{,2}ate', true],
  ['\\x75pdate', true],
  ['\\u0075pdate', true],
  ['\\165pdate', true],
  ['\\cJupdate', true],
  ['\\k<x>update', true],
  ['(?<x>u)\\k<x>pdate', true],
  ['(?<=s)port', true],
  ['[]update', true],
  ['[^]update', true],
  ['[\\]]?update', true],
  ['\\.\\.\\.', true],
  ['\\bupdate\\b', true],
  ['s', true],
  ['k', true],
  ['i', true],
  ['ſ', true],
  ['\u212a', true],
  ['İ', true],
  ['ü', true],
  ['😀', true],
  ['\ufffd', true],
  ['\\ufffda', true],
  ['a.b', true],
  ['update', false],
  ['sports update 1', false],
  ['...', false],
  ['a|b', false],
  ['(', false],
  ['\\', false],
  ['$', false],
  ['ü', false],
  ['UpDaTe', false],
  [' ', false],
];

describe('frames filter: the byte scan answers as the record predicate', function () {
  this.timeout(120_000);
  const captures = [variedCapture(1, 2500), variedCapture(2, 2500)];
  // short frames only for random patterns: a pattern like `.*.*.*` is slow on long ones
  const short = [variedCapture(3, 1500, false), variedCapture(4, 1500, false)];
  after(() => [...captures, ...short].forEach((c) => c.dispose()));

  it('finds the literal every match must contain, and none where it cannot prove one', () => {
    assert.equal(requiredLiteral('spo.ts update \\d*7$'), 'ts update ');
    assert.equal(requiredLiteral('a|update'), '');
    assert.equal(requiredLiteral('(update)+ 1'), ' 1');
    assert.equal(requiredLiteral('up?date'), 'date');
    assert.equal(requiredLiteral('upd{1}ate'), 'ate');
    assert.equal(requiredLiteral('\\x75pdate'), '');
    assert.equal(requiredLiteral('\\165pdate'), '');
    assert.equal(requiredLiteral('\\cJupdate'), '');
    assert.equal(requiredLiteral('\\k<x>update'), 'update');
    assert.equal(requiredLiteral('[]update'), 'update');
    assert.equal(requiredLiteral('a\\.b\\|c'), 'a.b|c');
    assert.equal(requiredLiteral('ü update'), ' update');
  });

  for (const caseSensitive of [false, true]) {
    it(`hand-picked patterns, ${caseSensitive ? 'case-sensitive' : 'case-insensitive'}`, () => {
      for (const c of captures) {
        for (const [text, regex] of HAND_PICKED) {
          const f = filter({ text, regex, caseSensitive });
          if (regex && !tryCompile(f)) continue;
          scanMatchesPredicate(c, f);
          const expected = byRecords(c, f);
          assert.deepEqual(byQuery(c, f), expected, `${JSON.stringify(f)}`);
          assert.deepEqual(byQuery(c, f, 7), expected, `${JSON.stringify(f)} in slices`);
          assert.deepEqual(byQuery(c, f, Infinity, true), expected, `${JSON.stringify(f)} rescanned`);
          assert.deepEqual(byQuery(c, f, 5, true), expected, `${JSON.stringify(f)} rescanned in slices`);
        }
      }
    });
  }

  it('random patterns and plain texts', () => {
    const r = rng(42);
    let compared = 0;
    let matched = 0;
    let withLiteral = 0;
    for (let n = 0; n < 400; n++) {
      const regex = r.int(4) > 0;
      const f = filter({ text: regex ? randomPattern(r) : randomText(r, 4) || 'a', regex, caseSensitive: r.int(2) === 0 });
      if (!tryCompile(f)) continue;
      const c = short[n % short.length];
      scanMatchesPredicate(c, f);
      const expected = byRecords(c, f);
      assert.deepEqual(byQuery(c, f, 1 + r.int(500), n % 2 === 0), expected, JSON.stringify(f));
      compared++;
      if (expected.length) matched++;
      if (requiredLiteral(f.regex ? f.text : f.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))) withLiteral++;
    }
    // the patterns must say something: most compile, and many match some messages but not all
    assert.ok(compared > 250, `${compared} patterns compared`);
    assert.ok(matched > 100, `${matched} patterns matched something`);
    // and the byte pre-check had something to look for in most of them
    assert.ok(withLiteral > 100, `${withLiteral} patterns with a required literal`);
  });

  it('sees the same programs, sockets, socket types and timeline as the scan of whole records', () => {
    // a pid's name changed by a record kept as an object between two packed messages of one stream
    const renamed = new Capture();
    const agent = { source: 'agent' as const, session: 'agent', direction: 'out' as const, pid: 4242, process: 'pub.py', socket: '4242.1', socketType: 'PUB' };
    renamed.append(spyMessage(['update 1'], agent));
    renamed.append({ kind: 'process', seq: 0, ts: 1, session: 'agent', source: 'agent', endpoint: '', process: 'exec.py', pid: 4242, state: 'started' });
    renamed.append(spyMessage(['update 2'], agent));
    for (const c of [...captures, renamed]) {
      for (const [text, regex] of HAND_PICKED.slice(0, 8)) {
        for (const session of ['', 'agent', 'tap-1']) {
          const f = filter({ text, regex, session });
          for (const rescan of [false, true]) {
            const q = new FramesQuery(c);
            if (rescan) q.reset();
            q.setFilter(f, false);
            while (q.update(101).pending > 0);
            // a filter without text scans whole records
            const ref = new FramesQuery(c);
            ref.setFilter(filter({ from: 1, session }), false);
            while (ref.update(101).pending > 0);
            assert.deepEqual(q.processes, ref.processes);
            assert.deepEqual(q.sockets, ref.sockets);
            assert.deepEqual(q.socketTypes, ref.socketTypes);
            assert.deepEqual(q.timeline.series(), ref.timeline.series(), JSON.stringify({ text, session, rescan }));
          }
        }
      }
    }
    renamed.dispose();
  });

  it('with other parts of the filter (session, kinds, topic, time) the scan still only narrows', () => {
    for (const c of captures) {
      for (const extra of [{ session: 'tap-1' }, { kinds: ['message' as const] }, { topicPrefix: 'sports' }, { from: 100, to: 2000 }, { process: 'pub.py' }]) {
        const f = filter({ text: 'update', regex: true, ...extra });
        assert.deepEqual(byQuery(c, f, 33), byRecords(c, f), JSON.stringify(f));
      }
    }
  });
});

function tryCompile(f: FrameFilter): boolean {
  try {
    compileFilter(f);
    return true;
  } catch {
    return false;
  }
}

/** A random pattern from the syntax the literal finder must get right (escapes, classes, groups, quantifiers, anchors, alternation). */
function randomPattern(r: ReturnType<typeof rng>): string {
  const atoms = [
    () => r.pick(['a', 'b', 'A', 'k', 's', 'i', ' ', '7', '1', 'update', 'sports', 'ü', 'ſ', '\u212a', '-', '/', ']', '}']),
    () => r.pick(['\\d', '\\w', '\\s', '\\b', '\\B', '\\.', '\\|', '\\(', '\\\\', '\\$', '\\-', '\\/', '\\x61', '\\u0061', '\\141', '\\1', '\\0', '\\cJ', '\\c1', '\\k<n>', '\\n', '\\p', '\\a']),
    () => r.pick(['[ab]', '[^a]', '[]', '[^]', '[\\]a]', '[a-z]', '[.]', '[(]']),
    () => r.pick(['^', '$', '.']),
  ];
  // a group is never quantified: `(a*)*` backtracks exponentially
  const group = () => `(${r.pick(['', '?:', '?=', '?!', '?<=', '?<!', '?<n>'])}${sequence(2)}${r.int(3) ? '' : '|' + sequence(2)})`;
  const quant = () => r.pick(['', '', '', '', '?', '*', '+', '{2}', '{1,}', '{0,1}', '{,2}', '{x}', '??', '*?', '+?']);
  function sequence(max: number): string {
    let s = '';
    for (let n = 1 + r.int(max); n > 0; n--) s += r.int(5) ? r.pick(atoms)() + quant() : group();
    return s;
  }
  let p = sequence(5);
  if (r.int(8) === 0) p += '|' + sequence(3);
  return p;
}
