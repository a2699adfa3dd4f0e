/**
 * The viewer's host side with decoders: decoded rows and detail, the filter on
 * decoded fields (its fast pre-check gives the same answer as decoding every
 * message), the diff with the previous message on the same topic, the timeline.
 */
import * as assert from 'node:assert/strict';
import { Capture } from '../../src/core/capture/capture';
import { compileFieldQuery } from '../../src/core/decoders/fieldQuery';
import { JupyterKey } from '../../src/core/decoders/jupyterKey';
import { JsonDecoder } from '../../src/core/decoders/json';
import { JupyterDecoder } from '../../src/core/decoders/jupyter';
import { DecoderRules } from '../../src/core/decoders/rules';
import { DEFAULT_FILTER, FrameFilter, FromHost, parseFromHost } from '../../src/shared/protocol/frames';
import { FilterError } from '../../src/viewers/frameFilter';
import { FramesQuery } from '../../src/viewers/framesQuery';
import { FramesViewController } from '../../src/viewers/framesViewController';
import { parseDecoderSetting, resolveDecoderPaths } from '../../src/viewers/decoderSettings';
import { spyMessage } from './helpers/records';

const filter = (p: Partial<FrameFilter>): FrameFilter => ({ ...DEFAULT_FILTER, kinds: [...DEFAULT_FILTER.kinds], ...p });
const json = new DecoderRules([{ decoder: new JsonDecoder() }]);

function jsonCapture(): Capture {
  const c = new Capture();
  const bodies = [
    '{"kind":"reading","sensor":"t1","value":1}',
    '{"kind":"alarm","sensor":"t1","value":9,"text":"hot"}',
    '{"kind":"al\\u0061rm","sensor":"t2","value":7}', // escaped: still "alarm"
    'not json',
    '{"kind":"reading","sensor":"t2","value":3,"tags":["a"]}',
    '{"kind":"alarm","sensor":"t2","value":2}',
  ];
  bodies.forEach((b, i) => c.append(spyMessage(['sensors', b], { ts: 1_700_000_000_000 + i * 500 })));
  return c;
}

describe('frames viewer with decoders', () => {
  it('filters on decoded fields, and the pre-check gives the answer decoding everything gives', () => {
    const c = jsonCapture();
    const q = new FramesQuery(c);
    q.setDecoders(json);
    const seqs = (expr: string) => {
      q.setFilter(filter({ decoded: expr }));
      return [...q.matching()].map((r) => r.seq);
    };
    assert.deepEqual(seqs('kind == "alarm"'), [2, 3, 6]);
    assert.deepEqual(seqs('kind == "alarm" && value > 5'), [2, 3]);
    assert.deepEqual(seqs('kind == "reading" || sensor == "t2"'), [1, 3, 5, 6]);
    assert.deepEqual(seqs('!(kind == "alarm")'), [1, 5], 'a message that does not decode matches nothing, not even a negation');
    assert.deepEqual(seqs('text ~ /HO/i'), [2]);
    assert.deepEqual(seqs('tags[0] == "a"'), [5]);
    assert.deepEqual(seqs('$topic == "sensors" && value >= 7'), [2, 3]);
    // brute force: decode every message, test the expression
    for (const expr of ['kind == "alarm"', 'sensor == "t2" || kind == "reading"', 'kind != "alarm"']) {
      const test = compileFieldQuery(expr).test;
      const want = [...c.records()].filter((r) => {
        const d = json.decode(r as never);
        return d?.ok === true && test(d);
      });
      assert.deepEqual(seqs(expr), want.map((r) => r.seq), expr);
    }
    assert.throws(() => q.setFilter(filter({ decoded: 'kind ==' })), (e: Error) => e instanceof FilterError && /expected a value at the end/.test(e.message));
    assert.throws(() => q.setFilter(filter({ decoded: 'kind = "a"' })), /Decoded-field filter: unexpected '= "a"'/);
    const bare = new FramesQuery(c);
    assert.throws(() => bare.setFilter(filter({ decoded: 'kind == "a"' })), /choose a decoder first/);
  });

  it('the pre-check leaves out topic frames yet answers what decoding everything answers', () => {
    const c = new Capture();
    const messages: (string | Uint8Array)[][] = [
      ['alarm', '{"kind":"reading"}'], // the needle only in the topic frame: no match
      ['alarm', '{"kind":"alarm"}'],
      ['{"kind":"alarm"}'],
      ['{"kind":"reading"}', '{"kind":"alarm"}'], // two JSON frames: an array
      ['t', '{"kind":"al\\u0061rm"}'], // escaped
      ['al\\arm', '{"kind":"reading"}'], // a backslash only in the topic frame
      [' \n{"kind":"alarm"}'], // JSON after whitespace
      ['alarm'], // one frame, not JSON
      [Buffer.from([0xff, 0x61, 0x6c, 0x61, 0x72, 0x6d]), '{"kind":"alarm"}'], // a binary topic
    ];
    messages.forEach((m) => c.append(spyMessage(m)));
    const q = new FramesQuery(c);
    q.setDecoders(json);
    for (const expr of ['kind == "alarm"', '[1].kind == "alarm"', '$topic == "alarm"', 'kind == "alarm" || [1].kind == "alarm"', 'kind != "alarm"']) {
      q.setFilter(filter({ decoded: expr }));
      const test = compileFieldQuery(expr).test;
      const want = [...c.records()].filter((r) => {
        const d = json.decode(r as never);
        return d?.ok === true && test(d);
      });
      assert.deepEqual([...q.matching()].map((r) => r.seq), want.map((r) => r.seq), expr);
    }
    q.setFilter(filter({ decoded: 'kind == "alarm"' }));
    assert.deepEqual([...q.matching()].map((r) => r.seq), [2, 3, 5, 7, 9]);
  });

  it('filters on a brushed time range', () => {
    const q = new FramesQuery(jsonCapture());
    q.setFilter(filter({ from: 1_700_000_000_500, to: 1_700_000_001_500 }));
    assert.deepEqual([...q.matching()].map((r) => r.seq), [2, 3, 4]);
  });

  it('shows decoded rows and detail, and diffs with the previous message on the same topic', () => {
    const c = jsonCapture();
    const q = new FramesQuery(c);
    q.setDecoders(json);
    const { rows } = q.rows(0, 10);
    assert.equal(rows[0].decoder, 'json');
    assert.equal(rows[0].preview, '{"kind":"reading","sensor":"t1","value":1}');
    assert.equal(rows[3].decodeError, true);
    assert.match(rows[3].preview, /not json/, 'the bytes, as before');
    const d5 = q.detail(5)!;
    assert.deepEqual(d5.decoded, { decoder: 'json', value: { kind: 'reading', sensor: 't2', value: 3, tags: ['a'] }, topic: 'sensors' });
    // the previous message on "sensors" (#4) did not decode: bytes compared
    assert.equal(d5.diff!.previousSeq, 4);
    assert.equal(d5.diff!.on, 'bytes');
    assert.deepEqual(d5.diff!.changes.map((x) => x.path), ['frame 1 @0']);
    const d6 = q.detail(6)!;
    assert.deepEqual(d6.diff, {
      previousSeq: 5,
      on: 'decoded',
      changes: [
        { path: 'kind', change: 'changed', before: '"reading"', after: '"alarm"' },
        { path: 'value', change: 'changed', before: '3', after: '2' },
        { path: 'tags', change: 'removed', before: '["a"]' },
      ],
    });
    assert.match(q.detail(4)!.decodeError!, /^json: frame 1: /);
    assert.match(q.detail(1)!.diff!.note!, /No earlier message on topic "sensors"/);
    // what the host sends passes the webview's validation
    parseFromHost({ type: 'frame/detail', seq: 6, detail: d6 });
  });

  it('uses msg_type as the topic of Jupyter messages and diffs with the previous one of that type', () => {
    const key = new JupyterKey('k');
    const c = new Capture();
    const jmsg = (type: string, content: object, ts: number) => {
      const parts = [JSON.stringify({ msg_type: type, msg_id: String(ts) }), '{}', '{}', JSON.stringify(content)].map((s) => Buffer.from(s));
      return spyMessage([`kernel.x.${type}`, '<IDS|MSG>', key.sign(parts), ...parts], { ts });
    };
    c.append(jmsg('status', { execution_state: 'busy' }, 1));
    c.append(jmsg('stream', { name: 'stdout', text: 'a' }, 2));
    c.append(jmsg('status', { execution_state: 'idle' }, 3));
    const q = new FramesQuery(c);
    q.setDecoders(new DecoderRules([{ decoder: new JupyterDecoder(key) }]));
    assert.deepEqual(q.rows(0, 3).rows.map((r) => r.topic), ['status', 'stream', 'status']);
    const d = q.detail(3)!;
    assert.equal(d.diff!.previousSeq, 1);
    assert.deepEqual(
      d.diff!.changes.filter((x) => x.path.startsWith('content')),
      [{ path: 'content.execution_state', change: 'changed', before: '"busy"', after: '"idle"' }],
    );
    q.setFilter(filter({ decoded: 'msg_type == "status" && signature == "valid"' }));
    assert.deepEqual([...q.matching()].map((r) => r.seq), [1, 3], 'the signature status is computed, never pre-checked in the bytes');
    q.setFilter(filter({ decoded: '["signature"] == "valid" && $.msg_type == "stream"' }));
    assert.deepEqual([...q.matching()].map((r) => r.seq), [2], 'however the path is written');
  });

  it('counts msg/s and bytes/s for the timeline, per session and topic', () => {
    const c = new Capture();
    for (let i = 0; i < 30; i++) c.append(spyMessage([i % 3 === 0 ? 'a' : 'b', 'xxxx'], { ts: 10_000 + i * 100 }));
    c.append(spyMessage(['a', 'y'], { ts: 20_000, session: 'spy-2' }));
    const q = new FramesQuery(c);
    q.update();
    let s = q.timeline.series();
    assert.deepEqual([s.start, s.bucketMs], [10_000, 1000]);
    assert.equal(s.messages.length, 11);
    assert.deepEqual(s.messages.slice(0, 3), [10, 10, 10]);
    assert.deepEqual(s.bytes.slice(0, 3), [50, 50, 50]);
    q.setFilter(filter({ session: 'spy-1', topicPrefix: 'a', text: 'nothing matches this' }));
    s = q.timeline.series();
    assert.equal(s.messages.reduce((a, b) => a + b, 0), 10, 'session and topic, not the text');
    assert.equal(s.messages.length, 3);
    q.setFilter(filter({ session: 'spy-1', topicPrefix: 'a', text: 'x' }));
    assert.equal(q.timeline.series().messages.reduce((a, b) => a + b, 0), 10, 'a rescan for another text counts nothing twice');
    c.clear();
    c.append(spyMessage(['a', 'new'], { ts: 30_000 }));
    q.reset();
    assert.deepEqual(q.timeline.series().messages, [1], 'a cleared capture leaves the timeline');
  });

  it('sets decoders from the viewer picker and posts the timeline only while it is shown', async () => {
    const c = jsonCapture();
    const posted: FromHost[] = [];
    const ctl = new FramesViewController(c, { post: (m) => posted.push(parseFromHost(JSON.parse(JSON.stringify(m)))) }, { decoderRules: [{ spec: 'bogus' }] });
    try {
      ctl.handle({ type: 'ready' });
      const decoders = posted.find((m) => m.type === 'decoders') as Extract<FromHost, { type: 'decoders' }>;
      assert.deepEqual(decoders.rules, []);
      assert.ok(decoders.available.includes('protobuf:FILE.proto:Type'));
      assert.equal(posted.some((m) => m.type === 'timeline'), false);
      ctl.handle({ type: 'decoder/set', spec: 'json', scope: 'session', match: 'spy-1' });
      assert.deepEqual(ctl.decoderRules, [{ spec: 'json', session: 'spy-1' }]);
      const reset = [...posted].reverse().find((m) => m.type === 'frames/reset') as Extract<FromHost, { type: 'frames/reset' }>;
      assert.equal(reset.rows[0].decoder, 'json');
      ctl.handle({ type: 'filter/changed', filter: filter({ decoded: 'kind == "alarm"' }) });
      const r2 = [...posted].reverse().find((m) => m.type === 'frames/reset') as Extract<FromHost, { type: 'frames/reset' }>;
      assert.deepEqual([r2.counters.shown, r2.filterError], [3, undefined]);
      ctl.handle({ type: 'timeline/visible', visible: true });
      const t = [...posted].reverse().find((m) => m.type === 'timeline') as Extract<FromHost, { type: 'timeline' }>;
      assert.equal(t.series.messages.reduce((a, b) => a + b, 0), 6);
      ctl.handle({ type: 'decoder/set', spec: '', scope: 'session', match: 'spy-1' });
      const r3 = [...posted].reverse().find((m) => m.type === 'frames/reset') as Extract<FromHost, { type: 'frames/reset' }>;
      assert.match(r3.filterError ?? '', /choose a decoder first/);
      assert.equal(r3.filter.decoded, '');
      const problems = ctl.setDecoderRules([{ spec: 'protobuf:/nope.proto:a.B' }]);
      assert.match(problems[0], /cannot load \/nope\.proto/);
      assert.ok(posted.some((m) => m.type === 'notice' && /cannot load/.test(m.text)));
    } finally {
      ctl.dispose();
    }
  });

  it('reads the zmqDebugger.decoders setting, item by item, with paths resolved against the workspace', () => {
    assert.equal(resolveDecoderPaths('protobuf:schemas/a.proto:pkg.T', '/ws'), 'protobuf:/ws/schemas/a.proto:pkg.T');
    assert.equal(resolveDecoderPaths('jupyter:/abs/kernel-1.json', '/ws'), 'jupyter:/abs/kernel-1.json');
    assert.equal(resolveDecoderPaths('json', '/ws'), 'json');
    const { rules, problems } = parseDecoderSetting(
      [{ decoder: 'json', session: 'spy-1' }, { decoder: 'protobuf:p.proto:a.B', topicPrefix: 'weather' }, { decoder: 3 }, { decoder: 'msgpack', session: 1 }, { decoder: 'text', colour: 'red' }],
      '/ws',
    );
    assert.deepEqual(rules, [{ spec: 'json', session: 'spy-1' }, { spec: 'protobuf:/ws/p.proto:a.B', topicPrefix: 'weather' }, { spec: 'text' }]);
    assert.deepEqual(problems, [
      'zmqDebugger.decoders[2].decoder must be a decoder such as "json" or "protobuf:FILE.proto:Type"',
      'zmqDebugger.decoders[3].session must be a string',
      'zmqDebugger.decoders[4]: unknown field colour (ignored)',
    ]);
    assert.deepEqual(parseDecoderSetting({}).problems.length, 1);
    assert.deepEqual(parseDecoderSetting(undefined), { rules: [], problems: [] });
  });
});
