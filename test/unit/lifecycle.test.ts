import { strict as assert } from 'node:assert';
import { DisposableStore, Emitter } from '../../src/core/base/lifecycle';

describe('lifecycle', () => {
  it('Emitter delivers to listeners until they are disposed', () => {
    const e = new Emitter<number>();
    const seen: number[] = [];
    const sub = e.event((n) => seen.push(n));
    e.fire(1);
    sub.dispose();
    e.fire(2);
    assert.deepEqual(seen, [1]);
    assert.equal(e.listenerCount, 0);
  });

  it('Emitter: one function subscribed twice is two subscriptions; disposing one keeps the other', () => {
    const e = new Emitter<number>();
    const seen: number[] = [];
    const fn = (n: number) => seen.push(n);
    const first = e.event(fn);
    e.event(fn);
    e.fire(1);
    assert.deepEqual(seen, [1, 1]);
    assert.equal(e.listenerCount, 2);
    first.dispose();
    first.dispose(); // twice: still removes only its own subscription
    e.fire(2);
    assert.deepEqual(seen, [1, 1, 2]);
    assert.equal(e.listenerCount, 1);
  });

  it('Emitter: a listener disposed during a firing is still called for that firing; one added is not', () => {
    const e = new Emitter<void>();
    const calls: string[] = [];
    e.event(() => {
      calls.push('a');
      b.dispose(); // b is subscribed below, before the firing
      e.event(() => calls.push('late'));
    });
    const b = e.event(() => calls.push('b'));
    e.fire();
    assert.deepEqual(calls, ['a', 'b']);
  });

  it('DisposableStore disposes in reverse order and disposes late additions at once', () => {
    const order: string[] = [];
    const store = new DisposableStore();
    store.add({ dispose: () => order.push('a') });
    store.add({ dispose: () => order.push('b') });
    store.dispose();
    store.add({ dispose: () => order.push('late') });
    assert.deepEqual(order, ['b', 'a', 'late']);
  });
});
