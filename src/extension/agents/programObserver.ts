/**
 * "Observe programs started here": a collector (core/sessions/collector.ts)
 * listening on 127.0.0.1, and its environment put into every integrated
 * terminal of the workspace (environmentVariableCollection), into Python and
 * Node debug sessions, and into the examples the Examples view starts. A
 * program started there loads the agent and reports every socket and message
 * (inproc:// and ipc:// too) without a line of it changing.
 *
 * Turned on by the setting zmqDebugger.agent.observePrograms (or the command
 * that sets it); listening needs a trusted workspace. The token in the
 * environment is per collector, and the collector refuses agents without it.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Capture } from '../../core/capture/capture';
import { Collector } from '../../core/sessions/collector';
import { ensureNativeAgent } from '../../core/sessions/nativeAgent';
import type { SessionManager } from '../../core/sessions/sessionManager';
import type { CommandRegistry } from '../commands/registry';
import { Log, UserError } from '../log';

const SETTING = 'zmqDebugger.agent.observePrograms';
/** Debug types whose programs can load an agent (debugpy and js-debug). */
const DEBUG_TYPES = ['python', 'debugpy', 'node', 'pwa-node', 'node-terminal'];

export class ProgramObserver implements vscode.Disposable {
  private current: Collector | undefined;
  private starting: Promise<Collector | undefined> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly changeEmitter = new vscode.EventEmitter<Collector | undefined>();
  /** The collector started or stopped. */
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly deps: { capture: Capture; sessions: SessionManager; log: Log },
  ) {
    this.disposables.push(
      this.changeEmitter,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(SETTING)) void this.apply();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.apply()),
      vscode.debug.registerDebugConfigurationProvider('*', {
        resolveDebugConfigurationWithSubstitutedVariables: (_folder, config) => {
          const collector = this.current;
          if (collector && DEBUG_TYPES.includes(config.type)) {
            const env = (config.env ?? {}) as Record<string, string>;
            config.env = { ...env, ...collector.environment({ ...process.env, ...env }) };
          }
          return config;
        },
      }),
    );
    context.environmentVariableCollection.persistent = false; // the port and token change with every collector
    void this.apply();
  }

  register(registry: CommandRegistry): void {
    registry.register('zmqDebugger.agent.observe', async () => {
      if (!vscode.workspace.isTrusted) throw new UserError('Observing programs listens on a local port, so it needs a trusted workspace.', [{ title: 'Manage Workspace Trust', run: () => vscode.commands.executeCommand('workbench.trust.manage') }]);
      await vscode.workspace.getConfiguration().update(SETTING, true, vscode.ConfigurationTarget.Workspace);
      const collector = await this.apply();
      if (collector) void vscode.window.showInformationMessage(`Programs started in new terminals, debug sessions and examples are observed (${collector.id}). Terminals opened before keep their environment: open a new one.`);
      return collector?.id;
    });
    registry.register('zmqDebugger.agent.stopObserving', async () => {
      await vscode.workspace.getConfiguration().update(SETTING, false, vscode.ConfigurationTarget.Workspace);
      await this.apply();
      return true;
    });
  }

  /** The running collector, if programs are observed. */
  get collector(): Collector | undefined {
    return this.current;
  }

  /** The environment that puts the agents into a program, while programs are observed. */
  environment(): Record<string, string> | undefined {
    return this.current?.environment(process.env);
  }

  /** Starts or stops the collector as the setting and the workspace trust say. */
  private async apply(): Promise<Collector | undefined> {
    const wanted = vscode.workspace.getConfiguration().get<boolean>(SETTING, false) && vscode.workspace.isTrusted;
    if (wanted && !this.current) {
      this.starting ??= this.start().finally(() => (this.starting = undefined));
      return this.starting;
    }
    if (!wanted && this.current) await this.stop();
    return this.current;
  }

  private async start(): Promise<Collector | undefined> {
    const { capture, sessions, log } = this.deps;
    // the native agent for C/C++/Go/Rust programs: the prebuilt one, or compiled here on first use (never fatal)
    const native = await ensureNativeAgent(this.context.globalStorageUri.fsPath);
    if (native.library === undefined) log.info(`Native agent not available: ${native.reason}`);
    else if (native.compiled) log.info(`Native agent compiled for this machine into ${native.library}`);
    const collector = await Collector.start({ capture, id: sessions.nextId('agent') });
    this.current = collector;
    sessions.add(collector);
    const parts = collector.environmentParts();
    const env = this.context.environmentVariableCollection;
    env.clear();
    env.description = `ZeroMQ: programs started here report their sockets and messages to ${collector.id}`;
    for (const [k, v] of Object.entries(parts.set)) env.replace(k, v);
    env.prepend('PYTHONPATH', parts.prepend.PYTHONPATH + path.delimiter);
    env.append('NODE_OPTIONS', ' ' + parts.append.NODE_OPTIONS);
    if (parts.append.LD_PRELOAD) env.append('LD_PRELOAD', ':' + parts.append.LD_PRELOAD);
    // the collector's session ends (Stop, Stop All): the terminals stop carrying the agents too
    const sub = collector.onDidChangeState((state) => {
      if (state !== 'stopped' || this.current !== collector) return;
      sub.dispose();
      this.current = undefined;
      env.clear();
      this.changeEmitter.fire(undefined);
    });
    log.info(`${collector.id}: observing programs started here (collector on ${collector.address})`);
    this.changeEmitter.fire(collector);
    return collector;
  }

  private async stop(): Promise<void> {
    const collector = this.current;
    if (!collector) return;
    this.current = undefined;
    this.context.environmentVariableCollection.clear();
    await this.deps.sessions.stop(collector.id).catch(() => collector.stop());
    this.deps.log.info(`${collector.id}: no longer observing programs`);
    this.changeEmitter.fire(undefined);
  }

  dispose(): void {
    this.context.environmentVariableCollection.clear();
    for (const d of this.disposables) d.dispose();
  }
}
