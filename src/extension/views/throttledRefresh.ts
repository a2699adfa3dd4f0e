/**
 * Coalesces refresh requests: at most one refresh per interval, and none while
 * the view is hidden (the request is remembered and served when it shows again).
 * No `vscode` here, so it is unit-tested in Node.
 */
import type { Disposable } from '../../core/base/lifecycle';

export class ThrottledRefresh implements Disposable {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastRun = 0;
  private pending = false;
  private disposed = false;
  /** How many times `refresh` ran (for tests and diagnostics). */
  runs = 0;

  constructor(
    private readonly refresh: () => void,
    private readonly intervalMs = 250,
    private readonly isVisible: () => boolean = () => true,
  ) {}

  /** Asks for a refresh; it runs within `intervalMs`, or when the view shows again. */
  request(): void {
    if (this.disposed) return;
    this.pending = true;
    if (!this.isVisible() || this.timer) return;
    const wait = Math.max(0, this.lastRun + this.intervalMs - Date.now());
    this.timer = setTimeout(() => this.run(), wait);
  }

  /** The view became visible: serve a remembered request at once. */
  visibilityChanged(): void {
    if (this.pending && this.isVisible()) this.request();
  }

  private run(): void {
    this.timer = undefined;
    if (this.disposed || !this.pending) return;
    if (!this.isVisible()) return; // kept pending until visible again
    this.pending = false;
    this.lastRun = Date.now();
    this.runs++;
    this.refresh();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
