import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Capture } from '../../src/core/capture/capture';
import { CapturedMessage } from '../../src/core/capture/records';
import { AutoDecoder } from '../../src/core/decoders/auto';
import { DecodeOk } from '../../src/core/decoders/decoder';
import { JsonDecoder } from '../../src/core/decoders/json';
import { JupyterDecoder } from '../../src/core/decoders/jupyter';
import { parseConnectionInfo } from '../../src/core/decoders/jupyterConnection';
import { JupyterKey } from '../../src/core/decoders/jupyterKey';
import { MsgpackDecoder } from '../../src/core/decoders/msgpack';
import { decodeCborFrame } from '../../src/core/decoders/cbor';
import { ProtobufDecoder } from '../../src/core/decoders/protobuf';
import { createDecoder } from '../../src/core/decoders/registry';
import { compileFieldQuery } from '../../src/core/decoders/fieldQuery';
import { DecoderRules } from '../../src/core/decoders/rules';
import { PubSpy } from '../../src/core/sessions/spy';
import { freePort, killAllPython, until } from './helpers/peers';
import { runPythonFile } from './helpers/pythonFiles';

const PROTO = join(__dirname, 'fixtures', 'decoders', 'demo.proto');
const b = (s: string) => Buffer.from(s);
const messages = (c: Capture) => [...c.records()].filter((r): r is CapturedMessage => r.kind === 'message');

/** Spies on a structured_pub.py publisher until `n` messages are captured; the bytes are what pyzmq sent. */
async function capturePublisher(kind: string, n: number, spies: PubSpy[]): Promise<CapturedMessage[]> {
  const port = await freePort();
  const pub = runPythonFile('structured_pub.py', [port, kind]);
  await pub.waitFor('bound');
  const capture = new Capture();
  spies.push(new PubSpy({ id: 'spy', endpoints: [`tcp://127.0.0.1:${port}`], capture }));
  await until(() => messages(capture).length >= n, `${n} ${kind} messages`);
  return messages(capture);
}

describe('payload decoders', function () {
  this.timeout(20000);
  const spies: PubSpy[] = [];
  afterEach(async () => {
    await Promise.all(spies.splice(0).map((s) => s.stop()));
    await killAllPython();
  });

  it('decodes a real Python msgpack publisher, 64-bit integers exact, bytes as base64', async () => {
    const msgs = await capturePublisher('msgpack', 3, spies);
    const before = msgs.map((m) => m.frames.map((f) => Buffer.from(f).toString('hex')));
    const dec = createDecoder('msgpack');
    for (const m of msgs) {
      const r = dec.decode(m) as DecodeOk;
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.topic, 'reading');
      const v = r.value as Record<string, unknown>;
      assert.equal(v.sensor, 't1');
      assert.equal(v.value, 20.5 + (v.seq as number));
      assert.equal(v.big, String(2 ** 40 + (v.seq as number)));
      assert.deepEqual(v.raw, { $bytes: Buffer.from([0, 0xff]).toString('base64') });
      assert.deepEqual(v.tags, ['a', 'b']);
    }
    assert.deepEqual(
      msgs.map((m) => m.frames.map((f) => Buffer.from(f).toString('hex'))),
      before,
      'decoding never alters the captured bytes',
    );
  });

  it('decodes a real Python CBOR publisher (cbor2): bignums and 64-bit integers exact, bytes as base64, dates as text', async () => {
    const msgs = await capturePublisher('cbor', 3, spies);
    const before = msgs.map((m) => m.frames.map((f) => Buffer.from(f).toString('hex')));
    const dec = createDecoder('cbor');
    for (const m of msgs) {
      const r = dec.decode(m) as DecodeOk;
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.decoder, 'cbor');
      assert.equal(r.topic, 'reading', 'the topic frame is not one CBOR item: taken as the topic');
      const v = r.value as Record<string, unknown>;
      const seq = v.seq as number;
      assert.deepEqual(v, {
        sensor: 't1',
        value: 20.5 + seq,
        seq,
        big: (2n ** 70n + BigInt(seq)).toString(),
        neg: (-(2n ** 64n) - BigInt(seq)).toString(),
        raw: { $bytes: Buffer.from([0, 0xff]).toString('base64') },
        tags: ['a', 'b'],
        when: '2024-01-02T03:04:05Z',
        ok: true,
        none: null,
        '7': 'seven',
      });
    }
    assert.deepEqual(msgs.map((m) => m.frames.map((f) => Buffer.from(f).toString('hex'))), before, 'decoding never alters the captured bytes');
    // what is not CBOR says why, and the JSON of a row is not taken for CBOR
    const bad = dec.decode({ frames: [b('{"a":1}')] });
    assert.equal(bad.ok, false);
    assert.match((bad as { error: string }).error, /^frame 0: (truncated|\d+ trailing bytes)/);
  });

  it('reads the CBOR of RFC 8949 Appendix A, and refuses what is malformed without allocating', () => {
    const cases: [string, unknown][] = [
      ['00', 0], ['17', 23], ['1818', 24], ['1903e8', 1000], ['1a000f4240', 1000000], ['1b000000e8d4a51000', 1000000000000],
      ['1bffffffffffffffff', '18446744073709551615'], ['c249010000000000000000', '18446744073709551616'],
      ['3bffffffffffffffff', '-18446744073709551616'], ['c349010000000000000000', '-18446744073709551617'],
      ['20', -1], ['3863', -100], ['f90000', 0], ['f93c00', 1], ['f93e00', 1.5], ['f97bff', 65504], ['f90001', 5.960464477539063e-8],
      ['fa47c35000', 100000], ['fb3ff199999999999a', 1.1], ['f97c00', 'Infinity'], ['f97e00', 'NaN'], ['fbfff0000000000000', '-Infinity'],
      ['f4', false], ['f5', true], ['f6', null], ['f7', null], ['f0', { $simple: 16 }], ['f8ff', { $simple: 255 }],
      ['c074323031332d30332d32315432303a30343a30305a', '2013-03-21T20:04:00Z'], ['c11a514b67b0', '2013-03-21T20:04:00.000Z'],
      ['d74401020304', { $tag: 23, value: { $bytes: 'AQIDBA==' } }], ['40', { $bytes: '' }], ['4401020304', { $bytes: 'AQIDBA==' }],
      ['60', ''], ['6161', 'a'], ['6449455446', 'IETF'], ['62225c', '"\\'], ['63e6b0b4', '水'], ['64f0908591', '𐅑'],
      ['80', []], ['83010203', [1, 2, 3]], ['8301820203820405', [1, [2, 3], [4, 5]]], ['a0', {}], ['a201020304', { '1': 2, '3': 4 }],
      ['a26161016162820203', { a: 1, b: [2, 3] }], ['826161a161626163', ['a', { b: 'c' }]],
      ['5f42010243030405ff', { $bytes: 'AQIDBAU=' }], ['7f657374726561646d696e67ff', 'streaming'], ['9fff', []],
      ['9f018202039f0405ffff', [1, [2, 3], [4, 5]]], ['83018202039f0405ff', [1, [2, 3], [4, 5]]],
      ['bf61610161629f0203ffff', { a: 1, b: [2, 3] }], ['bf6346756ef563416d7421ff', { Fun: true, Amt: -2 }],
      ['a1695f5f70726f746f5f5f01', JSON.parse('{"__proto__":1}')],
    ];
    for (const [hex, want] of cases) assert.deepEqual(decodeCborFrame(Buffer.from(hex, 'hex')), want, hex);
    assert.equal(Object.getPrototypeOf(decodeCborFrame(Buffer.from('a1695f5f70726f746f5f5fa0', 'hex'))), Object.prototype, 'a "__proto__" key is data');
    const refused: [string, RegExp][] = [
      ['', /empty frame/],
      ['0001', /1 trailing bytes/],
      ['1a0000', /truncated/],
      ['9b00000000ffffffff', /array of 4294967295 items\/bytes with 0 bytes left/],
      ['5affffffff', /byte string of 4294967295/],
      ['62c328', /not valid UTF-8/],
      ['1c', /reserved additional information 28/],
      ['ff', /unexpected break/],
      ['5f6161ff', /bad chunk/],
      ['9f01', /truncated/],
      ['81'.repeat(300), /array of 1 items\/bytes with 0 bytes left/], // read over past the depth limit, still checked to its end
    ];
    for (const [hex, re] of refused) assert.throws(() => decodeCborFrame(Buffer.from(hex, 'hex')), re, hex);
    // nesting past MAX_DECODED_DEPTH is read over and cut with a marker (test/hostile/decoderBombs.test.ts has the bombs)
    assert.match(JSON.stringify(decodeCborFrame(Buffer.from('81'.repeat(300) + '00', 'hex'))), /\[\{"\$cut":"nested deeper than 64 levels"\}\]/);
    assert.deepEqual(createDecoder('cbor').decode({ frames: [Buffer.from('a16161f5', 'hex')] }), { ok: true, decoder: 'cbor', value: { a: true } });
    assert.throws(() => createDecoder('cbor:x'), /takes no argument/);
  });

  it('decodes a real Python protobuf publisher with the message type chosen per topic', async () => {
    const msgs = await capturePublisher('protobuf', 4, spies);
    const dec = new ProtobufDecoder({ files: [PROTO], topics: { reading: 'demo.Reading', alarm: 'demo.Alarm' } });
    const readings = msgs.filter((m) => b('reading').equals(m.frames[0]));
    const alarms = msgs.filter((m) => b('alarm').equals(m.frames[0]));
    assert.ok(readings.length && alarms.length);
    const r = dec.decode(readings[0]) as DecodeOk;
    assert.ok(r.ok, JSON.stringify(r));
    const v = r.value as Record<string, unknown>;
    assert.equal(v.sensor, 't1');
    assert.equal(v.unit, 'CELSIUS');
    assert.deepEqual(v.tags, ['a', 'b']);
    assert.match(String(v.ts_us), /^17000000000000\d\d$/, 'int64 as an exact string');
    const a = dec.decode(alarms[0]) as DecodeOk;
    assert.ok(a.ok);
    assert.match((a.value as { text: string }).text, /^too hot \d+$/);
    // the CLI's form: one type for everything
    const cli = createDecoder(`protobuf:${PROTO}:demo.Reading`);
    const one = cli.decode(readings[0]) as DecodeOk;
    assert.deepEqual([one.ok, one.decoder, (one.value as { sensor: string }).sensor], [true, 'protobuf', 't1']);
  });

  it('says why a payload is not what the decoder expects, and the bytes are untouched', async () => {
    const msgs = await capturePublisher('json', 2, spies);
    const m = msgs[0];
    const copy = m.frames.map((f) => Buffer.from(f));
    const asMsgpack = new MsgpackDecoder().decode(m);
    assert.equal(asMsgpack.ok, false);
    assert.match((asMsgpack as { error: string }).error, /^frame 1: /);
    const asProto = createDecoder(`protobuf:${PROTO}:demo.Reading`).decode(m);
    assert.equal(asProto.ok, false, JSON.stringify(asProto));
    assert.match((asProto as { error: string }).error, /^frame 1: not a demo\.Reading: /);
    const asJupyter = new JupyterDecoder().decode(m);
    assert.deepEqual(asJupyter, { ok: false, decoder: 'jupyter', error: 'no <IDS|MSG> delimiter frame' });
    const asJson = new JsonDecoder().decode(m) as DecodeOk;
    assert.equal(asJson.topic, 'reading');
    assert.equal((asJson.value as { sensor: string }).sensor, 't1');
    m.frames.forEach((f, i) => assert.ok(copy[i].equals(f)));
    // broken JSON says where
    const broken = new JsonDecoder().decode({ frames: [b('{"a": 1,')] });
    assert.equal(broken.ok, false);
    assert.match((broken as { error: string }).error, /^frame 0: .*JSON/);
    // a frame captured truncated is not decoded as if whole
    const cut = new JsonDecoder().decode({ frames: [b('{"a"')], truncated: { 0: 100 } });
    assert.deepEqual(cut, { ok: false, decoder: 'json', error: 'frame 0: captured truncated (4 of 100 B)' });
  });

  it('auto picks JSON, a MessagePack map, Jupyter or text, and names the one it chose', () => {
    const auto = new AutoDecoder();
    const json = auto.decode({ frames: [b('topic'), b(' {"x": [1, 2]}')] }) as DecodeOk;
    assert.deepEqual([json.decoder, json.topic, json.value], ['json', 'topic', { x: [1, 2] }]);
    const mp = auto.decode({ frames: [Buffer.from([0x81, 0xa1, 0x6b, 0x01])] }) as DecodeOk; // {"k": 1}
    assert.deepEqual([mp.decoder, mp.value], ['msgpack', { k: 1 }]);
    const text = auto.decode({ frames: [b('10001 23 45')] }) as DecodeOk;
    assert.deepEqual([text.decoder, text.value], ['text', '10001 23 45']);
    const bin = auto.decode({ frames: [Buffer.from([0, 1, 2, 0xff])] });
    assert.equal(bin.ok, false);
    const numberLike = auto.decode({ frames: [b('42')] }) as DecodeOk;
    assert.equal(numberLike.decoder, 'text', 'only objects and arrays are taken as JSON');
  });

  it('chooses a decoder per session, endpoint or topic prefix, the most specific first', () => {
    const json = new JsonDecoder();
    const mp = new MsgpackDecoder();
    const text = createDecoder('text');
    const rules = new DecoderRules([
      { decoder: text },
      { decoder: json, session: 's1' },
      { decoder: mp, endpoint: 'tcp://a:1' },
      { decoder: json, topicPrefix: 'weather.' },
      { decoder: mp, topicPrefix: 'weather.eu' },
    ]);
    const m = (frames: string[], session = 's0', endpoint = 'tcp://b:2') => ({ frames: frames.map(b), session, endpoint });
    assert.equal(rules.decoderFor(m(['x']))!.name, 'text');
    assert.equal(rules.decoderFor(m(['x'], 's1'))!.name, 'json');
    assert.equal(rules.decoderFor(m(['x'], 's1', 'tcp://a:1'))!.name, 'msgpack');
    assert.equal(rules.decoderFor(m(['weather.us', '{}'], 's0', 'tcp://a:1'))!.name, 'json');
    assert.equal(rules.decoderFor(m(['weather.eu.paris', '{}']))!.name, 'msgpack');
    assert.equal(new DecoderRules([]).decode(m(['x'])), undefined);
    const bin = new DecoderRules([{ decoder: mp, topicPrefix: 'hex:00ff' }]);
    assert.equal(bin.decoderFor({ frames: [Buffer.from([0, 0xff, 1]), b('{}')], endpoint: 'e' })?.name, 'msgpack');
    assert.equal(bin.decoderFor({ frames: [Buffer.from([0, 0xfe]), b('{}')], endpoint: 'e' }), undefined);
  });

  it('rejects bad decoder specs with clear errors', () => {
    assert.throws(() => createDecoder('yaml'), /unknown decoder 'yaml' \(known: text, json, msgpack, cbor, auto, jupyter\[:CONNECTION_FILE\], protobuf:FILE\.proto:Type\)/);
    assert.throws(() => createDecoder('json:x'), /takes no argument/);
    assert.throws(() => createDecoder('protobuf'), /needs a file and a type/);
    assert.throws(() => createDecoder(`protobuf:${PROTO}:demo.Nope`), /no message type 'demo\.Nope' .*known: demo\.Reading, demo\.Alarm/);
    assert.throws(() => createDecoder('protobuf:/nonexistent.proto:a.B'), /cannot load \/nonexistent\.proto/);
    assert.throws(() => createDecoder('jupyter:/nonexistent.json'), /cannot read Jupyter connection file \/nonexistent\.json: ENOENT/);
  });

  it('checks Jupyter signatures with the key, and never lets the key out', () => {
    const secret = 'a0b1c2d3-secret-key-e4f5';
    const key = new JupyterKey(secret);
    const parts = [b('{"msg_type":"status","msg_id":"1"}'), b('{}'), b('{}'), b('{"execution_state":"idle"}')];
    const sig = b(key.sign(parts));
    const msg = { frames: [b('kernel.1.status'), b('<IDS|MSG>'), sig, ...parts, Buffer.from([1, 2, 3])] };
    const ok = new JupyterDecoder(key).decode(msg) as DecodeOk;
    assert.equal(ok.topic, 'status');
    const v = ok.value as Record<string, unknown>;
    assert.deepEqual([v.msg_type, v.signature, v.identities, v.buffers, v.content], ['status', 'valid', ['kernel.1.status'], [{ bytes: 3 }], { execution_state: 'idle' }]);
    const wrong = new JupyterDecoder(new JupyterKey('wrong')).decode(msg) as DecodeOk;
    assert.equal((wrong.value as { signature: string }).signature, 'invalid');
    assert.equal(((new JupyterDecoder().decode(msg) as DecodeOk).value as { signature: string }).signature, 'unchecked');
    const conn = parseConnectionInfo(JSON.stringify({ shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5, ip: '127.0.0.1', key: secret, transport: 'tcp', signature_scheme: 'hmac-sha256', kernel_name: 'python3' }));
    for (const shown of [JSON.stringify(conn), inspect(conn, { depth: 10, showHidden: true }), String(conn.key), JSON.stringify(ok)]) {
      assert.ok(!shown.includes(secret), `the key leaked into: ${shown}`);
    }
    assert.deepEqual(
      conn.channels.map((c) => `${c.name} ${c.endpoint} ${c.kernelSocket}`),
      ['shell tcp://127.0.0.1:1 ROUTER', 'iopub tcp://127.0.0.1:2 PUB', 'stdin tcp://127.0.0.1:3 ROUTER', 'control tcp://127.0.0.1:4 ROUTER', 'hb tcp://127.0.0.1:5 REP'],
    );
    assert.throws(() => parseConnectionInfo(`{"key": "${secret}", "shell_port": }`, 'kernel-1.json'), (e: Error) => e.message === 'kernel-1.json is not JSON', 'a broken file never quotes its key');
    const short = new JupyterDecoder().decode({ frames: [b('<IDS|MSG>'), b(''), b('{}')] });
    assert.match((short as { error: string }).error, /2 frame\(s\) after <IDS\|MSG>, expected at least 5/);
  });

  it('evaluates the decoded-field filter language: precedence, paths, operators, and says what is wrong', () => {
    const d: DecodeOk = { ok: true, decoder: 'json', topic: 'weather.eu', value: { a: 1, s: 'Hello', n: null, f: false, arr: [{ x: 'y' }], 'odd key': 2, o: { p: { q: 3 } } } };
    const t = (expr: string) => compileFieldQuery(expr).test(d);
    assert.equal(t('a == 1 || a == 2 && s == "nope"'), true, '&& binds tighter than ||');
    assert.equal(t('(a == 1 || a == 2) && s == "nope"'), false);
    assert.equal(t('!(a == 2) && !n && !f && s'), true, 'exists: not null, false or ""');
    assert.equal(t('arr[0].x == "y" && ["odd key"] == 2 && o.p.q >= 3 && o.p.q < 3.5'), true);
    assert.equal(t('s ~ "ELL" && s ~ /^H/ && s !~ /^h/ && s > "A"'), true);
    assert.equal(t('a == "1"'), false, 'no type conversion');
    assert.equal(t('missing.deep == 1 || missing'), false);
    assert.equal(t('$decoder == "json" && $topic ~ /^weather\\./ && $.a == 1'), true);
    assert.equal(t('o ~ "q"'), true, '~ on an object searches its JSON');
    assert.deepEqual(compileFieldQuery('a == "x" && (b == "y" || c == "z") && d > 1').requiredStrings, [
      [{ path: ['a'], value: 'x' }],
      [{ path: ['b'], value: 'y' }, { path: ['c'], value: 'z' }],
    ]);
    assert.deepEqual(compileFieldQuery('a == "x" || d > 1').requiredStrings, [], 'an alternative without a string: nothing required');
    for (const [bad, why] of [
      ['', /empty expression/],
      ['a ==', /expected a value at the end/],
      ['a == b', /expected a value .* got 'b'/],
      ['a < /x/', /a regular expression goes with ~ or !~/],
      ['a ~ 3', /~ needs a \/regular expression\/ or a "string"/],
      ['(a == 1', /expected '\)'/],
      ['a == 1 )', /unexpected '\)'/],
      ['a ~ /(/', /Invalid regular expression/],
      ['a # 1', /unexpected '# 1' at 2/],
    ] as [string, RegExp][]) {
      assert.throws(() => compileFieldQuery(bad), why, bad);
    }
  });
});
