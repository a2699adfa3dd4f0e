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
