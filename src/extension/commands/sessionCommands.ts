/**
 * Commands on running sessions: stop one or all, open one in the frames viewer;
 * and the one notification per session that fails after it started.
 */
import * as vscode from 'vscode';
import type { SessionManager } from '../../core/sessions/sessionManager';
import { Log, reportError, UserError } from '../log';
import { SessionNode } from '../views/sessionsTree';
import type { CommandRegistry } from './registry';
import { runCommand } from './registry';

export class SessionCommands implements vscode.Disposable {
  /** Sessions whose error was already shown, so one failure makes one notification. */
  private readonly reportedErrors = new Set<string>();
  private readonly watching: vscode.Disposable;

  constructor(private readonly deps: { sessions: SessionManager; log: Log }) {
    this.watching = this.watchSessionErrors();
  }

  register(registry: CommandRegistry): void {
    registry.register('zmqDebugger.session.stop', (a) => this.stop(a));
    registry.register('zmqDebugger.session.stopAll', () => this.stopAll());
    registry.register('zmqDebugger.session.openFrames', (a) => this.openFrames(a));
  }

  dispose(): void {
    this.watching.dispose();
  }

  async stop(arg?: unknown): Promise<boolean> {
    let id = arg instanceof SessionNode ? arg.session.id : typeof arg === 'string' ? arg : undefined;
    if (id === undefined) {
      const items = this.deps.sessions.list().map((s) => ({ label: s.id, description: s.label, detail: s.state }));
      if (!items.length) {
        void vscode.window.showInformationMessage('No session is running.');
        return false;
      }
      id = (await vscode.window.showQuickPick(items, { title: 'ZeroMQ: Stop Session' }))?.label;
      if (!id) return false;
    }
    if (!this.deps.sessions.get(id)) throw new UserError(`No running session ${id}.`);
    await this.deps.sessions.stop(id);
    this.deps.log.info(`${id} stopped`);
    return true;
  }

  async stopAll(): Promise<number> {
    const n = this.deps.sessions.list().length;
    await this.deps.sessions.stopAll();
    if (n) this.deps.log.info(`stopped ${n} session${n === 1 ? '' : 's'}`);
    return n;
  }

  async openFrames(arg?: unknown): Promise<void> {
    const session = arg instanceof SessionNode ? arg.session.id : typeof arg === 'string' ? arg : undefined;
    await runCommand('zmqDebugger.frames.open', session ? { session } : undefined);
  }

  /** Sessions that fail later (not at start) get one notification each. */
  private watchSessionErrors(): vscode.Disposable {
    const check = () => {
      const live = new Set<string>();
      for (const s of this.deps.sessions.list()) {
        live.add(s.id);
        if (s.state !== 'error' || this.reportedErrors.has(s.id)) continue;
        this.reportedErrors.add(s.id);
        void reportError(this.deps.log, s.id, new UserError(`${s.label} failed: ${s.error ?? 'unknown error'}`, [{ title: 'Stop Session', run: () => this.deps.sessions.stop(s.id) }]));
      }
      for (const id of this.reportedErrors) if (!live.has(id)) this.reportedErrors.delete(id);
    };
    const d = this.deps.sessions.onDidChange(check);
    return new vscode.Disposable(() => d.dispose());
  }
}
