import * as assert from 'node:assert/strict';
import { ThrottledRefresh, TreeShape } from '../../src/extension/views/throttledRefresh';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ThrottledRefresh', () => {
  let t: ThrottledRefresh | undefined;
  afterEach(() => t?.dispose());

  it('coalesces a burst of requests into one refresh, then allows one per interval', async () => {
    let runs = 0;
    t = new ThrottledRefresh(() => runs++, { intervalMs: 100 });
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
    t = new ThrottledRefresh(() => runs++, { intervalMs: 50 });
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
    t = new ThrottledRefresh(() => runs++, { intervalMs: 30, isVisible: () => visible });
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
    t = new ThrottledRefresh(() => runs++, { intervalMs: 50, isVisible: () => visible });
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
    t = new ThrottledRefresh(() => runs++, { intervalMs: 10 });
    t.request();
    t.dispose();
    t.request();
    await sleep(40);
    assert.equal(runs, 0);
  });

  it('aligned: two views requested out of phase refresh in the same turn (one repaint for both)', async () => {
    // the turn of the event loop each refresh ran in: a setImmediate chain counts turns
    let turn = 0;
    let counting = true;
    const tick = () => {
      turn++;
      if (counting) setImmediate(tick);
    };
    tick();
    const turns = { a: [] as number[], b: [] as number[] };
    const a = new ThrottledRefresh(() => turns.a.push(turn), { intervalMs: 100, aligned: true });
    const b = new ThrottledRefresh(() => turns.b.push(turn), { intervalMs: 100, aligned: true });
    try {
      // a steady stream of requests, b's starting mid-interval: each view's first refresh runs at once
      const end = Date.now() + 700;
      let i = 0;
      while (Date.now() < end) {
        a.request();
        if (i++ > 3) b.request();
        await sleep(7);
      }
      await sleep(150);
    } finally {
      counting = false;
      a.dispose();
      b.dispose();
    }
    assert.ok(turns.a.length >= 3 && turns.b.length >= 3, JSON.stringify(turns));
    // once both are past their first refresh (at once, out of phase), they refresh in the same turns
    const aligned = turns.a.filter((x) => x >= turns.b[1]);
    assert.deepEqual(aligned, turns.b.slice(1), `turns: ${JSON.stringify(turns)}`);
  });
});

describe('TreeShape', () => {
  it('asks for the whole tree when its rows or their children change, else for the rows only', () => {
    const shape = new TreeShape();
    assert.equal(shape.next([{ key: '1', hasChildren: false }]), 'all', 'nothing shown yet');
    assert.equal(shape.next([{ key: '1', hasChildren: false }]), 'rows');
    assert.equal(shape.next([{ key: '1', hasChildren: true }]), 'all', 'the row got children (its first topic): it needs a twistie');
    assert.equal(shape.next([{ key: '1', hasChildren: true }]), 'rows');
    assert.equal(shape.next([{ key: '1', hasChildren: true }, { key: '2', hasChildren: false }]), 'all', 'a session started');
    assert.equal(shape.next([{ key: '2', hasChildren: false }, { key: '1', hasChildren: true }]), 'all', 'another order');
    assert.equal(shape.next([{ key: '2', hasChildren: false }]), 'all', 'a session stopped');
    shape.reset();
    assert.equal(shape.next([{ key: '2', hasChildren: false }]), 'all', 'after a reset (the view shown again)');
  });
});
