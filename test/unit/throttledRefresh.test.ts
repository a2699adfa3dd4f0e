import * as assert from 'node:assert/strict';
import { ThrottledRefresh } from '../../src/extension/views/throttledRefresh';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ThrottledRefresh', () => {
  let t: ThrottledRefresh | undefined;
  afterEach(() => t?.dispose());

  it('coalesces a burst of requests into one refresh, then allows one per interval', async () => {
    let runs = 0;
    t = new ThrottledRefresh(() => runs++, 100);
    for (let i = 0; i < 1000; i++) t.request();
    await sleep(20);
    assert.equal(runs, 1, 'the first request runs at once (next tick)');
    for (let i = 0; i < 1000; i++) t.request();
    await sleep(20);
    assert.equal(runs, 1, 'a second burst waits for the interval');
    await sleep(120);
    assert.equal(runs, 2, 'and then runs once');
  });

  it('stays at or under the rate over a steady stream of requests', async () => {
    let runs = 0;
    t = new ThrottledRefresh(() => runs++, 50);
    const end = Date.now() + 520;
    while (Date.now() < end) {
      t.request();
      await sleep(2);
    }
    await sleep(60);
    // 520 ms at ≤ 1 per 50 ms: at most 12 (11 intervals + the trailing one)
    assert.ok(runs >= 5 && runs <= 12, `runs=${runs}`);
  });

  it('does nothing while hidden and serves the remembered request when shown', async () => {
    let runs = 0;
    let visible = false;
    t = new ThrottledRefresh(() => runs++, 30, () => visible);
    t.request();
    t.request();
    await sleep(60);
    assert.equal(runs, 0);
    visible = true;
    t.visibilityChanged();
    await sleep(20);
    assert.equal(runs, 1);
    t.visibilityChanged(); // nothing pending: no refresh
    await sleep(50);
    assert.equal(runs, 1);
  });

  it('a request pending when the view hides waits for it to show again', async () => {
    let runs = 0;
    let visible = true;
    t = new ThrottledRefresh(() => runs++, 50, () => visible);
    t.request();
    await sleep(10);
    t.request(); // scheduled for later in the interval
    visible = false;
    await sleep(80);
    assert.equal(runs, 1);
    visible = true;
    t.visibilityChanged();
    await sleep(20);
    assert.equal(runs, 2);
  });

  it('never runs after dispose', async () => {
    let runs = 0;
    t = new ThrottledRefresh(() => runs++, 10);
    t.request();
    t.dispose();
    t.request();
    await sleep(40);
    assert.equal(runs, 0);
  });
});
