/**
 * The agents report what the program itself saw: envelopes split out of ROUTER
 * and DEALER messages, failures the program received (not a green or async
 * layer's internal retries), messages libzmq's devices move, forked processes
 * named apart, and only the exits that happened. Real pyzmq programs, real sockets.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Capture } from '../../src/core/capture/capture';
import { CapturedEvent, CapturedMessage, CaptureRecord, ProcessRecord } from '../../src/core/capture/records';
import { Collector } from '../../src/core/sessions/collector';
import { killAllRuns, run } from './helpers/agentRun';
import { PYTHON, until } from './helpers/peers';

const FIXTURES = join(__dirname, 'fixtures', 'agent-truth');
const fixture = (name: string) => join(FIXTURES, name);
const all = (c: Capture): CaptureRecord[] => [...c.records()];
const messages = (c: Capture) => all(c).filter((r): r is CapturedMessage => r.kind === 'message');
const events = (c: Capture) => all(c).filter((r): r is CapturedEvent => r.kind === 'event');
const processes = (c: Capture) => all(c).filter((r): r is ProcessRecord => r.kind === 'process');
const text = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('latin1') : undefined);

async function exited(c: Capture, pid: number, timeoutMs = 10000): Promise<void> {
  await until(() => processes(c).some((p) => p.pid === pid && p.state === 'exited'), `process ${pid} to exit in the capture`, timeoutMs);
}

describe('agents report what the program saw', function () {
  this.timeout(60000);
  let capture: Capture;
  let collector: Collector;
  let env: Record<string, string>;
  beforeEach(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture });
    env = collector.environment({});
  });
  afterEach(async () => {
    await killAllRuns();
    await collector.stop();
    collector.dispose();
    capture.dispose();
  });

  it('splits the envelope of ROUTER and DEALER messages as the tap does: routing id, delimiter, body', async () => {
    const r = await run(PYTHON, ['-u', fixture('router_envelopes.py')], env);
    assert.equal(r.code, 0, r.stderr);
    await exited(capture, r.pid);
    const ms = messages(capture);
    const router = ms.filter((m) => m.socketType === 'ROUTER');
    assert.equal(router.length, 4);
    const fromReq = router.find((m) => m.direction === 'in' && text(m.frames[0]) === 'req-1')!;
    assert.deepEqual([fromReq.envelopeFrames, text(fromReq.identity)], [2, 'req-1'], 'identity and the empty delimiter');
    const fromDealer = router.find((m) => m.direction === 'in' && text(m.frames[0]) === 'dealer-1')!;
    assert.deepEqual([fromDealer.envelopeFrames, text(fromDealer.identity)], [1, 'dealer-1'], 'the routing id alone: no delimiter');
    const toReq = router.find((m) => m.direction === 'out' && text(m.frames[0]) === 'req-1')!;
    assert.deepEqual([toReq.envelopeFrames, text(toReq.identity), toReq.frames.length], [2, 'req-1', 3]);
    // REQ: libzmq hides the envelope; DEALER: this one has none
    for (const m of ms.filter((x) => x.socketType === 'REQ' || x.socketType === 'DEALER')) assert.equal(m.envelopeFrames, undefined, `${m.socketType} ${m.direction}`);
  });
});
