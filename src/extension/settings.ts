/**
 * Typed access to the `zmqDebugger.*` settings (documented in package.json) and
 * their live application: capture limits change the running capture at once;
 * tap settings apply to taps started afterwards.
 */
import * as vscode from 'vscode';
import type { Capture, CaptureLimits } from '../core/capture/capture';
import { DEFAULT_LIMITS } from '../core/capture/capture';
import type { Log } from './log';

const SECTION = 'zmqDebugger';

export const DEFAULTS = {
  maxMessages: DEFAULT_LIMITS.maxRecords,
  maxBytes: DEFAULT_LIMITS.maxBytes,
  listenAddress: '127.0.0.1',
  maxCapturedFrameBytes: 64 * 1024,
};

export class Settings implements vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<vscode.ConfigurationChangeEvent>();
  /** Fires when any `zmqDebugger.*` setting changes. */
  readonly onDidChange = this.changeEmitter.event;
  private readonly subscription: vscode.Disposable;

  constructor() {
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION)) this.changeEmitter.fire(e);
    });
  }

  private get config(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /** `zmqDebugger.endpoints`, strings only. */
  get endpoints(): string[] {
    const v = this.config.get<unknown>('endpoints', []);
    return Array.isArray(v) ? v.filter((e): e is string => typeof e === 'string') : [];
  }

  /** Removes an endpoint from the setting wherever it is defined (folder, workspace, user). */
  async removeEndpoint(endpoint: string): Promise<boolean> {
    const info = this.config.inspect<string[]>('endpoints');
    const targets: [string[] | undefined, vscode.ConfigurationTarget][] = [
      [info?.workspaceFolderValue, vscode.ConfigurationTarget.WorkspaceFolder],
      [info?.workspaceValue, vscode.ConfigurationTarget.Workspace],
      [info?.globalValue, vscode.ConfigurationTarget.Global],
    ];
    let removed = false;
    for (const [value, target] of targets) {
      if (Array.isArray(value) && value.includes(endpoint)) {
        await this.config.update('endpoints', value.filter((e) => e !== endpoint), target);
        removed = true;
      }
    }
    return removed;
  }

  /** Capture limits; a value that is not a positive number falls back to its default. */
  get captureLimits(): CaptureLimits {
    return {
      maxRecords: positiveInt(this.config.get('capture.maxMessages'), DEFAULTS.maxMessages),
      maxBytes: positiveInt(this.config.get('capture.maxBytes'), DEFAULTS.maxBytes),
    };
  }

  get tapListenAddress(): string {
    const v = this.config.get<unknown>('tap.listenAddress');
    return typeof v === 'string' && v.trim() ? v.trim() : DEFAULTS.listenAddress;
  }

  get maxCapturedFrameBytes(): number {
    return positiveInt(this.config.get('tap.maxCapturedFrameBytes'), DEFAULTS.maxCapturedFrameBytes);
  }

  /** Keeps the capture's limits equal to the settings, now and on every change. */
  applyCaptureLimits(capture: Capture, log: Log): vscode.Disposable {
    const apply = () => {
      const limits = this.captureLimits;
      const before = capture.stats().evicted;
      capture.setLimits(limits);
      const evicted = capture.stats().evicted - before;
      log.info(`capture limits: ${limits.maxRecords} records, ${limits.maxBytes} bytes${evicted ? ` (${evicted} records evicted to fit)` : ''}`);
    };
    apply();
    return this.onDidChange((e) => {
      if (e.affectsConfiguration(`${SECTION}.capture`)) apply();
    });
  }

  dispose(): void {
    this.subscription.dispose();
    this.changeEmitter.dispose();
  }
}

function positiveInt(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 1 ? Math.floor(v) : fallback;
}
