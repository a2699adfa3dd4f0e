import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { CliRun, runCli } from './helpers/cli';
import { freePort, killAllPython } from './helpers/peers';
import { runPythonFile } from './helpers/pythonFiles';

const PROTO = join(__dirname, 'fixtures', 'decoders', 'demo.proto');

describe('zmq-debug --decode', function () {
  this.timeout(30000);
  const runs: CliRun[] = [];
  afterEach(async () => {
    for (const r of runs.splice(0)) if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
    await killAllPython();
  });

  /** The message records of a `--json` run. */
  function messageRecords(run: CliRun) {
    return run
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.kind === 'message');
  }

  async function spyOn(kind: string, decode: string, extra: string[] = []): Promise<CliRun> {
    const port = await freePort();
    const pub = runPythonFile('structured_pub.py', [port, kind]);
    await pub.waitFor('bound');
    const run = runCli(['spy', `tcp://127.0.0.1:${port}`, '--decode', decode, '--count', '4', '--timeout', '20', ...extra]);
    runs.push(run);
    assert.equal(await run.code, 0, run.err());
    return run;
  }

  it('adds "decoded" to --json message records, and the frames stay the bytes sent', async () => {
    const run = await spyOn('protobuf', `protobuf:${PROTO}:demo.Reading`, ['--json', '--topic', 'reading']);
    const msgs = messageRecords(run);
    assert.equal(msgs.length, 4);
    for (const m of msgs) {
      assert.equal(Buffer.from(m.frames[0], 'base64').toString(), 'reading');
      assert.equal(m.decoded.decoder, 'protobuf');
      assert.equal(m.decoded.value.sensor, 't1');
      assert.equal(m.decoded.value.unit, 'CELSIUS');
      assert.equal(m.decodeError, undefined);
    }
  });

  it('adds "decodeError" when the payload is not what the decoder expects, and prints human lines with the value', async () => {
    const bad = await spyOn('json', 'msgpack', ['--json']);
    const msgs = messageRecords(bad);
    assert.equal(msgs.length, 4);
    for (const m of msgs) {
      assert.equal(m.decoded, undefined);
      assert.match(m.decodeError, /^msgpack: frame 1: /);
      assert.match(Buffer.from(m.frames[1], 'base64').toString(), /^\{"sensor": "t1"/);
    }
    const human = await spyOn('msgpack', 'msgpack');
    assert.match(human.out(), /\| reading \| 0x[0-9a-f]+… \(\d+ B\) ⇒ msgpack \[reading\] \{"sensor":"t1","value":[\d.]+,"seq":\d+,"big":"\d+","raw":\{"\$bytes":"AP8="\},"tags":\["a","b"\]\}/);
  });

  it('--decode cbor reads a real Python cbor2 publisher', async () => {
    const run = await spyOn('cbor', 'cbor', ['--json']);
    const msgs = messageRecords(run);
    assert.equal(msgs.length, 4);
    for (const m of msgs) {
      assert.equal(m.decoded.decoder, 'cbor');
      assert.equal(m.decoded.value.sensor, 't1');
      assert.equal(BigInt(m.decoded.value.big) - 2n ** 70n, BigInt(m.decoded.value.seq), '2**70 + seq, exact');
      assert.equal(m.decoded.value.when, '2024-01-02T03:04:05Z');
    }
  });

  it('monitor --decode reads the body after the ROUTER envelope', async () => {
    const [front, back, mon] = [await freePort(), await freePort(), await freePort()];
    const q = runPythonFile('monitored_queue.py', [front, back, mon, 2]);
    await q.waitFor('ready');
    const run = runCli(['monitor', `tcp://127.0.0.1:${mon}`, '--decode', 'text', '--count', '4', '--json', '--timeout', '10']);
    runs.push(run);
    assert.equal(await run.code, 0, run.err());
    const msgs = messageRecords(run);
    assert.equal(msgs.length, 4);
    for (const m of msgs) {
      assert.equal(m.envelopeFrames, 2);
      assert.equal(m.decoded.decoder, 'text');
      assert.match(m.decoded.value, /^(Response to )?Request # 1 from client # [01]$/, 'the identity and the delimiter are not the body');
    }
  });

  it('exits 2 on a bad --decode before opening anything', async () => {
    for (const [args, why] of [
      [['spy', 'tcp://127.0.0.1:9', '--decode', 'yaml'], /--decode: unknown decoder 'yaml'/],
      [['monitor', 'tcp://127.0.0.1:9', '--decode', 'protobuf:x.proto'], /--decode: decoder 'protobuf' needs a file and a type/],
      [['tap', '--target', '127.0.0.1:9', '--decode', 'jupyter:/nonexistent.json'], /cannot read Jupyter connection file/],
    ] as [string[], RegExp][]) {
      const r = runCli(args);
      runs.push(r);
      assert.equal(await r.code, 2, args.join(' '));
      assert.match(r.err(), why);
    }
  });
});
