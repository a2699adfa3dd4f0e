/**
 * Minimal Disposable/Emitter shaped like VS Code's, so that core code can expose
 * `onDidX` events without importing `vscode` and the extension layer can register
 * core objects in `context.subscriptions` unchanged.
 */
export interface Disposable {
  dispose(): void;
}

export type Event<T> = (listener: (e: T) => void) => Disposable;

export function toDisposable(fn: () => void): Disposable {
  let done = false;
  return {
    dispose() {
      if (!done) {
        done = true;
        fn();
      }
    },
  };
}

/** Owns a set of disposables and disposes them in reverse order of registration. */
export class DisposableStore implements Disposable {
  private items: Disposable[] = [];
  private disposed = false;

  add<T extends Disposable>(d: T): T {
    if (this.disposed) d.dispose();
    else this.items.push(d);
    return d;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const items = this.items.reverse();
    this.items = [];
    for (const d of items) {
      try {
        d.dispose();
      } catch {
        // one failing disposable must not keep the others alive
      }
    }
  }
}

export class Emitter<T> implements Disposable {
  // A list, not a Set: one function subscribed twice is two subscriptions, and
  // disposing one of them leaves the other (as VS Code's Emitter does).
  private listeners: { fn: (e: T) => void }[] = [];

  readonly event: Event<T> = (listener) => {
    const entry = { fn: listener };
    this.listeners.push(entry);
    return toDisposable(() => {
      const i = this.listeners.indexOf(entry);
      if (i >= 0) this.listeners.splice(i, 1);
    });
  };

  fire(e: T): void {
    // a copy: listeners may subscribe or dispose while being called
    for (const { fn } of this.listeners.slice()) {
      try {
        fn(e);
      } catch (err) {
        // a faulty listener must not break the source that fires
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  get listenerCount(): number {
    return this.listeners.length;
  }

  dispose(): void {
    this.listeners = [];
  }
}
