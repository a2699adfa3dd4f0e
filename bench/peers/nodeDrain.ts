/**
 * The CLI's ceiling: the bench's drain (src/extension/benchDrain.ts: a plain TCP ZMTP SUB that only counts
 * the bytes it reads) in a Node process of its own, as `zmq-debug spy` is, instead of in Python
 * (drain_sub.py). What it gets of a flooding publisher is the most any reader in a Node process could get.
 *
 *   node --import tsx bench/peers/nodeDrain.ts PORT SIZE   prints "got N" after 1.5 s of silence
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchDrain } from '../../src/extension/benchDrain';

const [port, size] = process.argv.slice(2).map(Number);
if (!(size > 0 && size <= 255)) throw new Error('short frames only: SIZE in 1..255');
const dir = mkdtempSync(join(tmpdir(), 'zmq-node-drain-'));
const go = join(dir, 'go');
const out = join(dir, 'out');
writeFileSync(go, '');
startBenchDrain({ ZMQ_DEBUG_BENCH_DRAIN: String(port), ZMQ_DEBUG_BENCH_DRAIN_GO: go, ZMQ_DEBUG_BENCH_DRAIN_OUT: out });
const poll = setInterval(() => {
  let text = '';
  try {
    text = readFileSync(out, 'utf8');
  } catch {
    return; // not yet
  }
  clearInterval(poll);
  rmSync(dir, { recursive: true, force: true });
  // a short frame is 2 header bytes and its body
  process.stdout.write(`got ${Math.floor(Number(/bytes (\d+)/.exec(text)![1]) / (2 + size))}\n`);
}, 50);
