/**
 * Coalesces refresh requests: at most one refresh per interval, and none while
 * the view is hidden (the request is remembered and served when it shows again).
 * No `vscode` here, so it is unit-tested in Node.
 */
import type { Disposable } from '../../core/base/lifecycle';

export interface ThrottledRefreshOptions {
  /** At most one refresh per interval (default 250 ms). */
  intervalMs?: number;
  /** A hidden view is not refreshed; the refresh asked meanwhile runs when it shows again. */
  isVisible?: () => boolean;
  /**
   * A refresh that must wait runs on the wall clock's next multiple of the
   * interval (the first after a quiet interval still runs at once), so that
   * views refreshed at the same interval change in the same turn and the
   * workbench repaints once for all of them, not once each.
   */
  aligned?: boolean;
}

/**
 * The aligned refreshes waiting for each wall-clock boundary, run by one timer per boundary: in the same turn
 * of the event loop whatever each request's timer would have been late by (Node counts a timer from the loop's
 * cached time, which a busy turn leaves some milliseconds behind the clock).
 */
const boundaries = new Map<number, { timer: ReturnType<typeof setTimeout>; due: Set<() => void> }>();

/** Runs `run` at the boundary `at` (ms since the epoch) with every other run due then; returns its cancel. */
function atBoundary(at: number, run: () => void): () => void {
  let b = boundaries.get(at);
  if (!b) {
    const due = new Set<() => void>();
    const timer = setTimeout(
      () => {
        boundaries.delete(at);
        for (const f of due) f();
      },
      Math.max(0, at - Date.now()),
    );
    b = { timer, due };
    boundaries.set(at, b);
  }
  const entry = b;
  entry.due.add(run);
  return () => {
    entry.due.delete(run);
    if (entry.due.size === 0 && boundaries.get(at) === entry) {
      clearTimeout(entry.timer);
      boundaries.delete(at);
    }
  };
}

export class ThrottledRefresh implements Disposable {
  /** Cancels the scheduled refresh. */
  private timer: (() => void) | undefined;
  private lastRun = 0;
  /** When the scheduled refresh is due (aligned: a multiple of the interval). */
  private due = 0;
  private pending = false;
  private disposed = false;
  /** How many times `refresh` ran (for tests and diagnostics). */
  runs = 0;

  private readonly intervalMs: number;
  private readonly isVisible: () => boolean;
  private readonly aligned: boolean;

  constructor(
    private readonly refresh: () => void,
    options: ThrottledRefreshOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 250;
    this.isVisible = options.isVisible ?? (() => true);
    this.aligned = options.aligned ?? false;
  }

  /** Asks for a refresh; it runs within `intervalMs`, or when the view shows again. */
  request(): void {
    if (this.disposed) return;
    this.pending = true;
    if (!this.isVisible() || this.timer) return;
    const now = Date.now();
    let at = Math.max(now, this.lastRun + this.intervalMs);
    if (this.aligned && at > now) at = Math.ceil(at / this.intervalMs) * this.intervalMs;
    this.due = at;
    if (this.aligned && at > now) this.timer = atBoundary(at, () => this.run());
    else {
      const timer = setTimeout(() => this.run(), at - now);
      this.timer = () => clearTimeout(timer);
    }
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
    // aligned: counted from the boundary it was due at, not from the timer's few ms late, so the next is due one interval on
    this.lastRun = this.aligned ? Math.min(this.due, Date.now()) : Date.now();
    this.runs++;
    this.refresh();
  }

  dispose(): void {
    this.disposed = true;
    this.timer?.();
    this.timer = undefined;
  }
}

/**
 * What a tree's refresh must redo: 'all' when its top rows (their keys, and
 * whether each has children) differ from what it last showed, else 'rows':
 * only those rows' own text and icon. VS Code redraws a collapsed row from
 * the item the refresh carries, without asking the extension host for
 * children again, so it shows no progress bar and rebuilds no other row.
 */
export class TreeShape {
  private shown: string | undefined;

  next(rows: readonly { key: string; hasChildren: boolean }[]): 'all' | 'rows' {
    const shape = rows.map((r) => `${r.hasChildren ? '+' : '-'}${r.key}`).join('\n');
    if (shape === this.shown) return 'rows';
    this.shown = shape;
    return 'all';
  }

  /** The view may have been rebuilt (shown again): the next refresh redoes everything. */
  reset(): void {
    this.shown = undefined;
  }
}
