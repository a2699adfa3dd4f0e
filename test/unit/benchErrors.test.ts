/**
 * The bench never hides an error (issue 27): a round's publisher stopped
 * before it printed "sending" leaves its promises unawaited, which must not
 * become an unhandled rejection (it crashed the whole host part and hid the
 * round's real error); who awaits them gets a HarnessError that says why. And
 * `npm run bench` reports each part's real failure as `<part>_error` while
 * the other parts still run (failures forced with BENCH_FAULTS).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { HarnessError, startTimedPublisher } from '../../bench/cliSpy';
import { readSettledCounter } from '../../bench/hostSpy';

const ROOT = join(__dirname, '..', '..');

describe('bench: errors are reported, never hidden', function () {
  this.timeout(180_000);

  it('a publisher stopped before it sends leaves no unhandled rejection, and says why to who awaits it', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const pub = await startTimedPublisher(5, 16);
      // nobody subscribes: it is waiting for a handshake, as in a host round whose UI step failed
      pub.stop();
      await assert.rejects(pub.sending, (e: Error) => e instanceof HarnessError && /never printed "sending": it was stopped/.test(e.message));
      await assert.rejects(pub.sent, HarnessError);
      // a crash is told apart from a stop
      const crashed = await startTimedPublisher(5, 16);
      crashed.crash();
      await assert.rejects(crashed.sent, /never printed "sent N": it exited SIGKILL/);
      // and a publisher nobody awaits at all
      (await startTimedPublisher(5, 16)).stop();
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, []);
  });

  it('run.ts reports each failed part as <part>_error with its real error, and runs the others', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), '--only', 'pubhwm,viewer,nosuch', '--quick', '--json', '--no-build'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, BENCH_FAULTS: 'pubhwm-unhandled,viewer-throw' },
      timeout: 170_000,
    });
    assert.equal(r.status, 1, r.stderr.slice(-2000));
    const out = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    // stable keys, real messages (not "exit 1"): an unhandled rejection inside a part, a part that throws
    assert.match(String(out.pubhwm_error), /^unhandled rejection: forced unhandled rejection in the pubhwm part/);
    assert.match(String(out.viewer_error), /^forced failure of the viewer part/);
    assert.match(String(out.nosuch_error), /no such part/);
  });

  it("the host round's counter: a read the page did not answer is a UI failure (re-run), never a count of 0", async () => {
    // every read times out (a loaded machine): outside the product, the round is re-run
    await assert.rejects(
      readSettledCounter(() => Promise.reject(new Error('locator.getAttribute: Timeout 2000ms exceeded')), { firstReadMs: 1500 }),
      (e: Error) => e instanceof HarnessError && /could not be read \(\d+ failed reads, last: locator.getAttribute: Timeout/.test(e.message),
    );
    // read, and 0: the product counted nothing
    await assert.rejects(readSettledCounter(() => Promise.resolve('0')), (e: Error) => !(e instanceof HarnessError) && /counted nothing/.test(e.message));
    // failed reads between good ones do not settle it early, nor count as 0: the last value read once it stood still
    let n = 0;
    const values = ['10', 'x', '20', 'fail', '30'];
    const got = await readSettledCounter(() => {
      const v = values[Math.min(n++, values.length - 1)];
      return v === 'fail' ? Promise.reject(new Error('detached')) : Promise.resolve(v === 'x' ? null : v);
    });
    assert.equal(got, 30);
  });
});
