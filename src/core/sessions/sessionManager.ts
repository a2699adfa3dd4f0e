/**
 * Owns the running capture sessions (spies, monitor spies, taps) of one capture:
 * starts them with unique ids, tells listeners when the set or a state changes,
 * and stops everything on dispose so no socket or port stays open.
 */
import { Capture } from '../capture/capture';
import { Disposable, DisposableStore, Emitter, Event } from '../base/lifecycle';
import { SourceKind } from '../capture/records';
import { CaptureSession } from './session';
import { MonitorSpy, MonitorSpyOptions, PubSpy, SpyOptions } from './spy';

export class SessionManager implements Disposable {
  private readonly sessions = new Map<string, { session: CaptureSession; subscriptions: DisposableStore }>();
  private readonly counters: Record<SourceKind, number> = { spy: 0, monitor: 0, tap: 0, agent: 0 };
  private readonly changeEmitter = new Emitter<void>();
  /** Fired when a session starts, stops, changes state or (spies) changes its details: retries, falling behind, path. */
  readonly onDidChange: Event<void> = this.changeEmitter.event;

  constructor(readonly capture: Capture) {}

  list(): CaptureSession[] {
    return [...this.sessions.values()].map((s) => s.session);
  }

  get(id: string): CaptureSession | undefined {
    return this.sessions.get(id)?.session;
  }

  /** A fresh id for a session of this kind: spy-1, monitor-2, tap-3... */
  nextId(kind: SourceKind): string {
    return `${kind}-${++this.counters[kind]}`;
  }

  startSpy(options: Omit<SpyOptions, 'id' | 'capture'>): PubSpy {
    return this.add(new PubSpy({ ...options, id: this.nextId('spy'), capture: this.capture }));
  }

  startMonitor(options: Omit<MonitorSpyOptions, 'id' | 'capture'>): MonitorSpy {
    return this.add(new MonitorSpy({ ...options, id: this.nextId('monitor'), capture: this.capture }));
  }

  /** Takes ownership of a session started elsewhere (e.g. a tap). */
  add<S extends CaptureSession>(session: S): S {
    if (this.sessions.has(session.id)) throw new Error(`A session with id ${session.id} already exists`);
    const subscriptions = new DisposableStore();
    subscriptions.add(session.onDidChangeState(() => this.changeEmitter.fire()));
    const details = (session as { onDidChangeDetails?: Event<void> }).onDidChangeDetails;
    if (details) subscriptions.add(details(() => this.changeEmitter.fire()));
    this.sessions.set(session.id, { session, subscriptions });
    this.changeEmitter.fire();
    return session;
  }

  /** Stops a session and forgets it. Its captured records stay in the capture. */
  async stop(id: string): Promise<void> {
    const entry = this.sessions.get(id);
    if (!entry) return;
    this.sessions.delete(id);
    entry.subscriptions.dispose();
    try {
      await entry.session.stop();
    } finally {
      // the session is gone from the list even when its stop failed: tell the views
      this.changeEmitter.fire();
    }
  }

  /** Stops every session; rejects with the first failure once all have been tried. */
  async stopAll(): Promise<void> {
    const results = await Promise.allSettled([...this.sessions.keys()].map((id) => this.stop(id)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  dispose(): void {
    // nobody awaits a dispose: a failing stop must not become an unhandled rejection
    this.stopAll().catch(() => undefined);
    this.changeEmitter.dispose();
  }
}
