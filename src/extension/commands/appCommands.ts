/**
 * Commands about the extension itself: its log and its version.
 */
import * as vscode from 'vscode';
import type { Log } from '../log';
import type { CommandRegistry } from './registry';

export class AppCommands {
  constructor(private readonly deps: { log: Log }) {}

  register(registry: CommandRegistry): void {
    registry.register('zmqDebugger.log.show', () => this.showLog());
    registry.register('zmqDebugger.about.show', () => this.about());
  }

  showLog(): void {
    this.deps.log.show();
  }

  async about(): Promise<string> {
    // zeromq is loaded lazily (on first use, not at activation) so that activation stays fast
    const { productVersion, libzmqVersion } = await import('../../core/zmq/version');
    const text = `ZeroMQ Topology Debugger ${productVersion()} — libzmq ${libzmqVersion()}`;
    void vscode.window.showInformationMessage(text);
    return text;
  }
}
