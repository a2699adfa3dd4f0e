/**
 * Decoder bombs: for every decoder, payloads a few bytes or KiB long that
 * claim or build far more (deep nesting, huge lengths, bignums, bad UTF-8,
 * protobuf varint and length abuse, Jupyter messages with huge or invalid
 * headers) and user-named input files that are not regular files. Each gets a
 * clear decode error or a value cut with a marker, never an exception, within
 * bounded time and memory; through the real CLI too.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { printRecord } from '../../src/cli/decodeOption';
import { MAX_BIGNUM_BYTES } from '../../src/core/decoders/cbor';
import { findJupyterKernels } from '../../src/core/discovery/jupyterKernels';
import { DecodeResult, MAX_DECODED_DEPTH } from '../../src/core/decoders/decoder';
import { createDecoder } from '../../src/core/decoders/registry';
import { parseJsonLines } from '../../src/core/capture/exportFormat';
import { spyMessage } from '../unit/helpers/records';
import { freePort, killAllPython } from '../unit/helpers/peers';
import { cliWithin, publishForever } from './helpers/hostileCli';

const dir = mkdtempSync(join(tmpdir(), 'zmq-bombs-'));
const PROTO = join(dir, 'tree.proto');
writeFileSync(PROTO, 'syntax = "proto3";\npackage bomb;\nmessage Node { Node child = 1; string s = 2; repeated int32 v = 3; bytes b = 4; }\n');
const DECODERS = ['text', 'json', 'msgpack', 'cbor', 'auto', 'jupyter', `protobuf:${PROTO}:bomb.Node`];

const deepJson = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepJsonObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const repeat = (hex: string, n: number, end: string) => Buffer.from(hex.repeat(n) + end, 'hex');
const jupyter = (header: string | Uint8Array, content: string | Uint8Array = '{}') => ['<IDS|MSG>', '', header, '{}', '{}', content];
/** A protobuf Node nested n deep: field 1 (child), length-delimited, around the next one. */
function deepProtobuf(n: number): Buffer {
  let b = Buffer.from([0x12, 0x01, 0x78]); // s = "x"
  for (let i = 0; i < n; i++) b = Buffer.concat([Buffer.from([0x0a]), varint(b.length), b]);
  return b;
}
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** How deep the JSON value nests (arrays and objects), iteratively. */
function depthOf(v: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    max = Math.max(max, d + 1);
    for (const y of Object.values(x)) stack.push([y, d + 1]);
  }
  return max;
}

/** Decodes and prints (human line and JSON line) as the CLI does; both must work, the JSON line must parse. */
function decodeAndPrint(spec: string, frames: (string | Uint8Array)[]): { result: DecodeResult; human: string; json: Record<string, unknown> } {
  const d = createDecoder(spec);
  const msg = spyMessage(frames);
  const result = d.decode(msg);
  const human = printRecord(msg, false, d);
  const json = JSON.parse(printRecord(msg, true, d)) as Record<string, unknown>;
  return { result, human, json };
}

describe('hostile input: decoder bombs', function () {
  this.timeout(60000);
  afterEach(killAllPython);

  describe(`deep nesting is cut at ${MAX_DECODED_DEPTH} levels with a marker, never a RangeError`, () => {
    const bombs: [string, (string | Uint8Array)[]][] = [
      ['json', [deepJson(8000)]],
      ['json', [deepJsonObject(100000)]],
      ['json', ['topic', deepJson(8000), deepJson(8000)]],
      ['auto', [deepJson(8000)]],
      ['auto', [repeat('81a161', 100000, '80')]], // a MessagePack map of maps, 100,000 deep
      ['msgpack', [repeat('91', 200000, '90')]],
      ['msgpack', [repeat('81a161', 100000, '80')]],
      ['cbor', [repeat('81', 1000000, '80')]],
      ['cbor', [repeat('a16161', 100000, 'a0')]],
      ['cbor', [repeat('9f', 100000, '') , Buffer.alloc(0)].slice(0, 1).map((b) => Buffer.concat([b, Buffer.alloc(100000, 0xff)]))],
      ['cbor', [repeat('c6', 1000000, '01')]], // tags around tags
      ['jupyter', jupyter('{"msg_type":"stream"}', deepJson(8000))],
      ['jupyter', jupyter(deepJsonObject(50000))],
      ['auto', jupyter('{"msg_type":"stream"}', deepJsonObject(50000))],
      [`protobuf:${PROTO}:bomb.Node`, [deepProtobuf(90)]],
    ];
    for (const [spec, frames] of bombs) {
      const size = frames.reduce((n, f) => n + f.length, 0);
      it(`${spec.split(':')[0]}: ${size} B nesting ${String(frames.at(-1)).slice(0, 12).replace(/[^\x20-\x7e]/g, '.')}…`, () => {
        const { result, human, json } = decodeAndPrint(spec, frames);
        assert.ok(result.ok, !result.ok ? result.error : '');
        assert.ok(depthOf(result.value) <= MAX_DECODED_DEPTH + 1 /* the marker */, `depth ${depthOf(result.value)}`);
        // the human line shows the first 300 characters of the value: it is printed, whatever it holds
        assert.match(human, new RegExp(`⇒ ${result.decoder} `));
        const decoded = json.decoded as { value: unknown };
        assert.ok(JSON.stringify(decoded.value).includes('"$cut":"nested deeper than 64 levels"'));
      });
    }

    it('a value within the limit is left exactly as decoded (no marker, same object)', () => {
      const text = deepJson(MAX_DECODED_DEPTH);
      const r = createDecoder('json').decode(spyMessage([text]));
      assert.ok(r.ok);
      assert.equal(JSON.stringify(r.value), text);
      const over = createDecoder('json').decode(spyMessage([deepJson(MAX_DECODED_DEPTH + 1)]));
      assert.ok(over.ok);
      assert.match(JSON.stringify(over.value), /\$cut/);
    });

    it('protobuf past its own recursion limit (100) is a clear decode error', () => {
      const { result, human } = decodeAndPrint(`protobuf:${PROTO}:bomb.Node`, [deepProtobuf(5000)]);
      assert.equal(result.ok, false);
      assert.match(human, /decode error \(protobuf\): frame 0: not a bomb\.Node: max depth exceeded/);
    });
  });

  describe('huge lengths claimed by a few bytes: a clear error, nothing allocated', () => {
    const claims: [string, string][] = [
      ['msgpack', 'dbffffffff61'], // str32 of 4 GiB
      ['msgpack', 'c6ffffffff00'], // bin32
      ['msgpack', 'ddffffffff01'], // array32 of 2^32-1 items
      ['msgpack', 'dfffffffff01'], // map32
      ['msgpack', 'c9ffffffff0100'], // ext32
      ['auto', 'dfffffffffa161'],
      ['cbor', '5bffffffffffffffff00'], // byte string of 2^64-1 bytes
      ['cbor', '7a7fffffff61'], // text string of 2 GiB
      ['cbor', '9bffffffffffffffff'], // array of 2^64-1 items
      ['cbor', 'bb00000000ffffffff01'], // map of 2^32-1 pairs
      ['cbor', '5f5affffffff00ff'], // an indefinite byte string's chunk of 4 GiB
      ['json', '225c75'], // "\u…, unterminated
      [`protobuf:${PROTO}:bomb.Node`, '12ffffffff07'], // s: a string of 2 GiB
      [`protobuf:${PROTO}:bomb.Node`, '1affffffff0f01'], // v: packed ints, 4 GiB
      [`protobuf:${PROTO}:bomb.Node`, '18ffffffffffffffffffff01'], // v: a varint of 11 bytes
      [`protobuf:${PROTO}:bomb.Node`, '0a80808080808080808001'], // a length varint past 64 bits
    ];
    for (const [spec, hex] of claims) {
      it(`${spec.split(':')[0]} ${hex}`, () => {
        const before = process.memoryUsage().rss;
        const { result, human } = decodeAndPrint(spec, [Buffer.from(hex, 'hex')]);
        assert.equal(result.ok, false, JSON.stringify(result));
        assert.match(human, /decode error \(\w+\): /);
        // RSS limit: a claim is never allocated (64 MiB covers the runtime's own noise)
        assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, `RSS grew ${process.memoryUsage().rss - before} B`);
      });
    }
  });

  describe('CBOR bignums', () => {
    it(`up to ${MAX_BIGNUM_BYTES} bytes: the exact decimal, positive and negative`, () => {
      const bytes = randomBytes(MAX_BIGNUM_BYTES);
      const n = BigInt('0x' + bytes.toString('hex'));
      const head = (tag: number) => Buffer.from([0xc0 | tag, 0x59, MAX_BIGNUM_BYTES >> 8, MAX_BIGNUM_BYTES & 0xff]);
      const pos = createDecoder('cbor').decode(spyMessage([Buffer.concat([head(2), bytes])]));
      const neg = createDecoder('cbor').decode(spyMessage([Buffer.concat([head(3), bytes])]));
      assert.deepEqual([pos.ok && pos.value, neg.ok && neg.value], [n.toString(), (-1n - n).toString()]);
      const empty = createDecoder('cbor').decode(spyMessage([Buffer.from('c240', 'hex')]));
      assert.deepEqual(empty.ok && empty.value, '0');
    });

    it(`longer than ${MAX_BIGNUM_BYTES} bytes: stays tagged bytes, also at 64 KiB`, () => {
      for (const size of [MAX_BIGNUM_BYTES + 1, 64 * 1024]) {
        const bytes = randomBytes(size);
        const head = Buffer.from([0xc2, 0x5a, size >>> 24, (size >> 16) & 0xff, (size >> 8) & 0xff, size & 0xff]);
        const r = createDecoder('cbor').decode(spyMessage([Buffer.concat([head, bytes])]));
        assert.ok(r.ok);
        assert.deepEqual(r.value, { $tag: 2, value: { $bytes: bytes.toString('base64') } });
      }
    });
  });

  describe('bad UTF-8 is a decode error naming the frame', () => {
    const bad = Buffer.from([0x22, 0xc3, 0x28, 0x22]); // "\xc3(" : a broken 2-byte sequence
    const cases: [string, (string | Uint8Array)[], RegExp][] = [
      ['text', [bad], /frame 0: not valid UTF-8/],
      ['json', [bad], /frame 0: not valid UTF-8/],
      ['cbor', [Buffer.from([0x62, 0xc3, 0x28])], /frame 0: text string not valid UTF-8/],
      ['jupyter', jupyter(bad), /header \(frame 2\): not valid UTF-8/],
      ['jupyter', jupyter('{}', Buffer.from([0xed, 0xa0, 0x80])), /content \(frame 5\): not valid UTF-8/], // a lone surrogate
      ['auto', [Buffer.from([0x7b, 0xff, 0x7d])], /not Jupyter, JSON, MessagePack \(a map or an array\) or UTF-8 text/],
    ];
    for (const [spec, frames, error] of cases) {
      it(`${spec}: ${error.source}`, () => {
        const { result, human } = decodeAndPrint(spec, frames);
        assert.equal(result.ok, false);
        assert.match(human, error);
      });
    }
  });

  describe('Jupyter with huge or invalid headers', () => {
    it('a 4 MiB header decodes (the content shown), an invalid one is an error naming it', () => {
      const big = JSON.stringify({ msg_type: 'stream', pad: 'x'.repeat(4 * 1024 * 1024) });
      const ok = decodeAndPrint('jupyter', jupyter(big, '{"name":"stdout"}'));
      assert.ok(ok.result.ok);
      assert.match(ok.human, /jupyter stream \(signature unsigned\) \{"name":"stdout"\}/);
      for (const [header, error] of [
        ['{"msg_type":', /header \(frame 2\): .*JSON/],
        ['', /header \(frame 2\): Unexpected end of JSON input/],
        ['x'.repeat(1024 * 1024), /header \(frame 2\): Unexpected token/],
      ] as const) {
        const r = decodeAndPrint('jupyter', jupyter(header));
        assert.equal(r.result.ok, false);
        assert.match(r.human, error);
      }
      const short = decodeAndPrint('jupyter', ['<IDS|MSG>', '', '{}']);
      assert.match(short.human, /2 frame\(s\) after <IDS\|MSG>, expected at least 5/);
    });
  });

  it('random bytes through every decoder: a value or a decode error, never an exception', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24);
    // prefixes that lead each decoder into its containers, so the fuzz reaches past the first byte
    const starts = ['', '{"a":[', '[', '\x91', '\x9f', '\xbf', '\xd9\x01', '<IDS|MSG>'];
    const decoders = DECODERS.map(createDecoder);
    for (let i = 0; i < 3000; i++) {
      const frames: Uint8Array[] = [];
      const n = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < n; k++) {
        const len = Math.floor(rand() * 64);
        const b = Buffer.alloc(len);
        for (let j = 0; j < len; j++) b[j] = rand() < 0.3 ? 0x91 + Math.floor(rand() * 16) : Math.floor(rand() * 256);
        frames.push(Buffer.concat([Buffer.from(starts[Math.floor(rand() * starts.length)], 'latin1'), b]));
      }
      const msg = spyMessage(frames);
      for (const d of decoders) {
        printRecord(msg, false, d);
        JSON.parse(printRecord(msg, true, d));
      }
    }
  });

  describe('through the CLI, with a real pyzmq publisher', () => {
    it('spy --decode json|auto|msgpack|jupyter on 16 KB nested 8,000 deep: printed with the marker, human and --json', async () => {
      const port = await freePort();
      await publishForever(port, [[Buffer.from(deepJson(8000))], jupyter('{"msg_type":"stream"}', deepJson(8000)).map((f) => Buffer.from(f))]);
      for (const spec of ['json', 'auto', 'jupyter']) {
        for (const json of [false, true]) {
          const r = await cliWithin(['spy', `tcp://127.0.0.1:${port}`, '--decode', spec, '--count', '2', ...(json ? ['--json'] : [])], 30000);
          assert.equal(r.code, 0, r.stderr);
          assert.doesNotMatch(r.stderr, /RangeError|Maximum call stack/);
          assert.match(r.stdout, /"\$cut":"nested deeper than 64 levels"/);
          if (json) assert.deepEqual(parseJsonLines(r.stdout).errors, []);
        }
      }
    });

    it('spy --decode cbor on a 256 KiB bignum ends at --timeout, the value kept as bytes (was: minutes of freeze)', async () => {
      const size = 256 * 1024;
      const bignum = Buffer.concat([Buffer.from([0xc2, 0x5a, 0, size >> 16, 0, 0]), randomBytes(size)]);
      const port = await freePort();
      await publishForever(port, [[bignum], [Buffer.from(msgpackEncode({ after: 'bignum' }))]]);
      const r = await cliWithin(['spy', `tcp://127.0.0.1:${port}`, '--decode', 'cbor', '--timeout', '3'], 30000);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /cbor \{"\$tag":2,"value":\{"\$bytes":"/);
      // the publisher's 50 ms rhythm went on being printed: nothing froze
      assert.ok((r.stdout.match(/\$tag/g) ?? []).length >= 10, r.stdout.slice(0, 500));
    });
  });

  describe('input files: only regular files within 16 MiB, else exit 2 with the reason', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const sparse = join(dir, 'big.json');
    writeFileSync(sparse, '');
    truncateSync(sparse, 17 * 1024 * 1024);
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const importsZero = join(dir, 'imports.proto');
    writeFileSync(importsZero, 'syntax = "proto3";\nimport "/dev/zero";\nmessage M { int32 a = 1; }\n');
    const cases: [string, RegExp][] = [
      ['jupyter:/dev/zero', /cannot read Jupyter connection file \/dev\/zero: not a regular file \(a character device\)/],
      [`jupyter:${fifo}`, /not a regular file \(a FIFO\)/],
      [`jupyter:${sub}`, /not a regular file \(a directory\)/],
      [`jupyter:${sparse}`, /17825792 bytes, more than the 16777216 bytes read of an input file/],
      ['protobuf:/dev/zero:X', /protobuf: cannot load \/dev\/zero: .*not a regular file \(a character device\)/],
      [`protobuf:${fifo}:X`, /not a regular file \(a FIFO\)/],
      [`protobuf:${importsZero}:M`, /\/dev\/zero: not a regular file \(a character device\)/],
    ];
    it("Jupyter's runtime directory: kernel files that are a FIFO or /dev/zero are listed as problems, at once", async () => {
      const runtime = join(dir, 'runtime');
      mkdirSync(runtime);
      execFileSync('mkfifo', [join(runtime, 'kernel-fifo.json')]);
      symlinkSync('/dev/zero', join(runtime, 'kernel-zero.json'));
      writeFileSync(join(runtime, 'kernel-ok.json'), JSON.stringify({ shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5, ip: '127.0.0.1', key: 'k', transport: 'tcp' }));
      const found = await findJupyterKernels({ env: { JUPYTER_RUNTIME_DIR: runtime }, pids: false });
      assert.deepEqual(found.kernels.map((k) => k.id), ['ok']);
      assert.deepEqual(
        found.problems.map((p) => p.error).sort(),
        ['not a regular file (a FIFO)', 'not a regular file (a character device)'],
      );
    });

    for (const [spec, error] of cases) {
      it(`--decode ${spec.replace(dir, '…')}`, async () => {
        const r = await cliWithin(['spy', 'tcp://127.0.0.1:9', '--decode', spec], 15000);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, error);
        assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
      });
    }
  });
});
