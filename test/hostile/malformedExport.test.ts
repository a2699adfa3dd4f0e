/**
 * Importing JSON Lines exports that are broken, cut off, hostile or huge: every
 * bad line is reported with its number and a clear reason, what is valid is
 * kept byte-exact, and memory stays bounded (limits stated in each test).
 */
import { strict as assert } from 'node:assert';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { badLineCount, MAX_IMPORT_FRAMES, MAX_LISTED_IMPORT_ERRORS, parseJsonLines, toJsonLines } from '../../src/core/capture/exportFormat';
import { CapturedMessage, CaptureRecord } from '../../src/core/capture/records';
import { MiB } from './helpers/procMemory';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCaptureFile } from '../../src/core/pcap/captureFileReader';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap + array buffers that `work`'s result holds, above what was in use before (both after a full collection). */
function growth<T>(work: () => T): { result: T; grown: number } {
  gc();
  gc();
  const before = process.memoryUsage();
  const result = work();
  gc();
  gc();
  const after = process.memoryUsage();
  return { result, grown: after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers) };
}

function message(i: number, frames: Buffer[]): CapturedMessage {
  return { kind: 'message', seq: i, ts: 1700000000000 + i, session: 'spy', source: 'spy', endpoint: 'tcp://127.0.0.1:5556', direction: 'in', frames };
}

const valid: CaptureRecord[] = [
  message(1, [Buffer.from('topic'), Buffer.from([0, 1, 2, 255])]),
  { kind: 'event', seq: 2, ts: 1700000000002, session: 'spy', source: 'spy', endpoint: 'tcp://127.0.0.1:5556', type: 'connect' },
  message(3, [Buffer.alloc(0), Buffer.alloc(70_000, 7)]),
];
const bytesOf = (r: CaptureRecord) => (r.kind === 'message' ? r.frames.map((f) => Buffer.from(f).toString('hex')) : []);

describe('hostile: importing malformed, truncated and huge exports', function () {
  this.timeout(120000);

  it('garbage, wrong fields and a cut-off last line: each reported by line with its reason, the valid records kept byte-exact', () => {
    const good = toJsonLines(valid).trimEnd().split('\n');
    const text = [
      good[0],
      'this is not json',
      '{"kind":"message","ts":1,"source":"spy","endpoint":"e","direction":"in","frames":["%%%"]}',
      '{"kind":"nonsense","ts":1}',
      '[1,2,3]',
      good[1],
      '{"kind":"message","ts":"yesterday","source":"spy","endpoint":"e","direction":"in","frames":[]}',
      good[2],
      good[0].slice(0, 40), // the file cut off inside a record
    ].join('\n');
    const r = parseJsonLines(text);
    assert.deepEqual(r.records.map(bytesOf), valid.map(bytesOf));
    assert.deepEqual(
      r.errors.map((e) => e.line),
      [2, 3, 4, 5, 7, 9],
    );
    assert.match(r.errors[0].message, /^not JSON/);
    assert.match(r.errors[1].message, /'frames\[0\]' is not base64/);
    assert.match(r.errors[2].message, /unknown record kind "nonsense"/);
    assert.match(r.errors[3].message, /expected a JSON object/);
    assert.match(r.errors[4].message, /'ts' must be a number/);
    assert.match(r.errors[5].message, /the file ends inside this record \(cut off\?\)/);
  });

  it('a file of nothing but garbage: the first 1,000 bad lines listed, the rest counted, in bounded memory (< 8 MiB kept)', () => {
    const n = 100_000;
    const junk = Array.from({ length: n }, (_, i) => `garbage line ${i} ${'x'.repeat(40)}`).join('\n');
    const { result, grown } = growth(() => parseJsonLines(junk));
    assert.equal(result.records.length, 0);
    assert.equal(result.errors.length, MAX_LISTED_IMPORT_ERRORS);
    assert.equal(badLineCount(result), n);
    assert.ok(result.errors.every((e) => e.message.length <= 230), 'reasons quote at most a little of the input');
    assert.ok(grown < 8 * MiB, `memory kept: ${(grown / MiB).toFixed(1)} MiB (limit 8 MiB)`);
  });

  it('a line of 200 MiB is refused with its length, unread, and the lines around it are kept (memory < 64 MiB above the file)', () => {
    const good = toJsonLines(valid).trimEnd().split('\n');
    const huge = '{"kind":"message","ts":1,"source":"spy","endpoint":"e","direction":"in","frames":["' + 'A'.repeat(200 * MiB) + '"]}';
    const text = [good[0], huge, good[2]].join('\n');
    const { result, grown } = growth(() => parseJsonLines(text));
    assert.deepEqual(result.records.map(bytesOf), [valid[0], valid[2]].map(bytesOf));
    assert.equal(result.errors.length, 1);
    assert.equal(result.errors[0].line, 2);
    assert.match(result.errors[0].message, /the line is 200\.0 MiB long, more than any record holds \(128\.0 MiB\): not read/);
    assert.ok(grown < 64 * MiB, `memory grown by ${(grown / MiB).toFixed(1)} MiB (limit 64 MiB)`);
  });

  it('read from a file (zmq-debug read, Import Capture): a line of 200 MiB is passed over with the same reason, the lines around it kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zmq-export-'));
    try {
      const good = toJsonLines(valid).trimEnd().split('\n');
      const file = join(dir, 'huge-line.jsonl');
      const huge = '{"kind":"message","ts":1,"source":"spy","endpoint":"e","direction":"in","frames":["' + 'A'.repeat(200 * MiB) + '"]}';
      writeFileSync(file, [good[0], huge, good[2]].join('\n') + '\n');
      const records: CaptureRecord[] = [];
      const result = await readCaptureFile(file, (batch) => void records.push(...batch));
      assert.deepEqual(records.map(bytesOf), [valid[0], valid[2]].map(bytesOf));
      assert.deepEqual(
        result.lineErrors.map((e) => e.line),
        [2],
      );
      assert.match(result.lineErrors[0].message, /the line is 200\.0 MiB long, more than any record holds \(128\.0 MiB\): not read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a message of five million empty frames is refused, not built (memory < 128 MiB above the file)', () => {
    const frames = '""' + ',""'.repeat(5_000_000 - 1);
    const bomb = `{"kind":"message","ts":1,"source":"spy","endpoint":"e","direction":"in","frames":[${frames}]}`;
    const good = toJsonLines(valid).trimEnd().split('\n');
    const { result, grown } = growth(() => parseJsonLines([bomb, good[1]].join('\n')));
    assert.equal(result.records.length, 1);
    assert.equal(result.records[0].kind, 'event');
    assert.equal(result.errors.length, 1);
    assert.match(result.errors[0].message, new RegExp(`5000000 frames in one message: more than ${MAX_IMPORT_FRAMES}`));
    assert.ok(grown < 128 * MiB, `memory grown by ${(grown / MiB).toFixed(1)} MiB (limit 128 MiB)`);
  });

  it('many empty frames within the limit share one buffer: 100,000 of them import in < 16 MiB', () => {
    const line = `{"kind":"message","ts":1,"source":"spy","endpoint":"e","direction":"in","frames":["${'","'.repeat(MAX_IMPORT_FRAMES - 1)}"]}`;
    const { result, grown } = growth(() => parseJsonLines(line));
    assert.equal(result.errors.length, 0);
    assert.equal((result.records[0] as CapturedMessage).frames.length, MAX_IMPORT_FRAMES);
    assert.ok(grown < 16 * MiB, `memory grown by ${(grown / MiB).toFixed(1)} MiB (limit 16 MiB)`);
  });
});
