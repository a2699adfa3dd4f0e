/**
 * Status bar item: running sessions and the capture's current total msg/s; a
 * click opens the frames viewer. Updated at most once a second from the
 * capture, on the second, and once a second while sessions run (rates decay
 * when traffic stops).
 */
import * as vscode from 'vscode';
import { commandLink } from '../commands/registry';
import type { Capture } from '../../core/capture/capture';
import { DisposableStore } from '../../core/base/lifecycle';
import type { SessionManager } from '../../core/sessions/sessionManager';
import { ThrottledRefresh } from './throttledRefresh';
import { formatBytes, formatCount } from '../../shared/format';
import { BEHIND_TEXT, spyDetailsOf } from '../../core/sessions/spy';
import { formatRate, statusBarText } from './treeText';

export class SessionsStatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private readonly disposables = new DisposableStore();
  // once a second: the rate it shows is per second, and each change is a redraw in the window's renderer (which shares the CPU with a flood);
  // on the second, as the Sessions view, so that the workbench repaints once for both
  private readonly refresher = new ThrottledRefresh(() => this.update(), { intervalMs: 1000, aligned: true });
  private shown = { tooltip: '', background: '' };
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly capture: Capture,
    private readonly sessions: SessionManager,
  ) {
    this.item = vscode.window.createStatusBarItem('zmqDebugger.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'ZeroMQ Sessions';
    this.item.command = commandLink('zmqDebugger.frames.open', 'Open Frames Viewer');
    this.disposables.add(this.item);
    this.disposables.add(this.refresher);
    this.disposables.add(capture.onDidAppend(() => this.refresher.request()));
    this.disposables.add(capture.onDidClear(() => this.refresher.request()));
    this.disposables.add(
      sessions.onDidChange(() => {
        const running = sessions.list().length > 0;
        if (running && !this.ticker) this.ticker = setInterval(() => this.refresher.request(), 1000);
        if (!running && this.ticker) {
          clearInterval(this.ticker);
          this.ticker = undefined;
        }
        this.update();
      }),
    );
    this.update();
    this.item.show();
  }

  /** The text shown now (for tests). */
  get text(): string {
    return this.item.text;
  }

  update(): void {
    const list = this.sessions.list();
    const stats = this.capture.stats();
    const behind = new Set(list.filter((s) => spyDetailsOf(s)?.behind));
    const text = statusBarText(list.length, stats.rate, behind.size);
    if (text !== this.item.text) this.item.text = text;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**ZeroMQ** — ${list.length ? `${list.length} running session${list.length === 1 ? '' : 's'}` : 'no running session'}  \n`);
    for (const s of list) md.appendText(`${s.id}: ${s.label} (${s.state})${behind.has(s) ? ` — ${BEHIND_TEXT}` : ''}\n`);
    md.appendMarkdown(
      `  \nCapture: ${formatCount(stats.retained)} records (${formatBytes(stats.retainedBytes)}), ${formatRate(stats.rate)}; ` +
        `${formatCount(stats.evicted)} evicted, ${formatCount(stats.dropped)} dropped  \nClick to open the frames viewer.`,
    );
    const background = list.some((s) => s.state === 'error') ? 'statusBarItem.errorBackground' : behind.size ? 'statusBarItem.warningBackground' : '';
    // only what changed is set: every assignment is a message to the renderer
    if (md.value !== this.shown.tooltip) this.item.tooltip = md;
    if (background !== this.shown.background) this.item.backgroundColor = background ? new vscode.ThemeColor(background) : undefined;
    this.shown = { tooltip: md.value, background };
  }

  dispose(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.disposables.dispose();
  }
}

export function registerStatusBar(context: vscode.ExtensionContext, deps: { capture: Capture; sessions: SessionManager }): SessionsStatusBar {
  const bar = new SessionsStatusBar(deps.capture, deps.sessions);
  context.subscriptions.push(bar);
  return bar;
}
