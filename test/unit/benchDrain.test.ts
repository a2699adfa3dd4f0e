/**
 * The host bench's ceiling reader (src/extension/benchDrain.ts, bench only):
 * started only by its environment variables, it handshakes with a real pyzmq
 * publisher as a SUB and counts exactly the bytes of what was sent after it.
 */
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchDrain } from '../../src/extension/benchDrain';
import { freePort, killAllPython, runPython, until } from './helpers/peers';

// an XPUB sees the subscription arrive, then sends N 16-byte messages without a HWM (nothing dropped)
const PUBLISHER = `
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.XPUB)
s.setsockopt(zmq.SNDHWM, 0)
s.bind('tcp://127.0.0.1:' + sys.argv[1])
print('bound', flush=True)
assert s.recv() == b'\\x01'
for i in range(int(sys.argv[2])):
    s.send(b'%016d' % i)
print('sent', flush=True)
import time; time.sleep(30)
`;

describe('bench drain in the extension host (bench only)', function () {
  this.timeout(30000);
  let dir: string;
  let stop: (() => void) | undefined;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'bench-drain-'))));
  afterEach(async () => {
    stop?.();
    stop = undefined;
    rmSync(dir, { recursive: true, force: true });
    await killAllPython();
  });

  it('does nothing without its environment', () => {
    assert.equal(startBenchDrain({}), undefined);
    assert.equal(startBenchDrain({ ZMQ_DEBUG_BENCH_DRAIN: '5555' }), undefined);
  });

  it('waits for its go file, then counts every byte a pyzmq publisher sent (18 per 16 B message)', async () => {
    const port = await freePort();
    const n = 50_000;
    const pub = runPython(PUBLISHER, [port, n]);
    await pub.waitFor('bound');
    const go = join(dir, 'go');
    const out = join(dir, 'out');
    stop = startBenchDrain({ ZMQ_DEBUG_BENCH_DRAIN: String(port), ZMQ_DEBUG_BENCH_DRAIN_GO: go, ZMQ_DEBUG_BENCH_DRAIN_OUT: out });
    assert.ok(stop);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!pub.stdout().includes('sent'), 'nothing subscribed before the go file');
    writeFileSync(go, '');
    await pub.waitFor('sent', 20000);
    await until(() => existsSync(out), 'the count written', 15000);
    assert.equal(readFileSync(out, 'utf8'), `bytes ${n * 18}\n`);
  });
});
