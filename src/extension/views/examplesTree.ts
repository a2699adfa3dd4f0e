/**
 * The Examples view and "ZeroMQ: Run Example…": the catalog of seed systems
 * (src/core/examples), each runnable as real Node or Python processes through
 * the ExampleRunner. Tree: example → run → processes (role, pid, state) and the
 * sessions that observe the run. Every run starts already observed as the
 * catalog says: spy and monitor spies through the SessionManager, taps in the
 * path of the connecting roles. Each run writes its processes' output to its
 * own output channel.
 *
 * Starting processes needs a trusted workspace. Stopping a run stops its
 * sessions too; dispose (deactivate, window close) leaves no process behind.
 */
import * as vscode from 'vscode';
import { commandLink, CommandRegistry } from '../commands/registry';
import type { Capture } from '../../core/capture/capture';
import { EXAMPLES, ExampleDefinition, ExampleLanguage } from '../../core/examples/catalog';
import { ExampleProcess, ExampleRun, ExampleRunner, findPythonWithZmq, Observation, PythonWithZmq } from '../../core/examples/exampleRunner';
import type { CaptureSession } from '../../core/sessions/session';
import type { SessionManager } from '../../core/sessions/sessionManager';
import { parseTopic } from '../../core/zmq/topics';
import { onShownSessionsChange } from './treeText';

export type ExamplesNode = ExampleNode | RunNode | ProcessNode | ObserverNode;

export class ExampleNode {
  readonly type = 'example';
  readonly parent = undefined;
  constructor(readonly example: ExampleDefinition) {}
}

export class RunNode {
  readonly type = 'run';
  constructor(
    readonly parent: ExampleNode,
    readonly run: ExampleRun,
  ) {}
}

export class ProcessNode {
  readonly type = 'process';
  constructor(
    readonly parent: RunNode,
    readonly process: ExampleProcess,
  ) {}
}

export class ObserverNode {
  readonly type = 'observer';
  constructor(
    readonly parent: RunNode,
    readonly observation: Observation,
    readonly sessionId: string | undefined,
    readonly error: string | undefined,
  ) {}
}

export interface RunExampleOptions {
  language?: ExampleLanguage;
  /** Start the catalog's spies, monitors and taps (default true). */
  observe?: boolean;
  intervalMs?: number;
}

const STATE_ICONS: Record<ExampleProcess['state'], string> = {
  starting: 'loading~spin',
  running: 'pass-filled',
  stopping: 'loading~spin',
  stopped: 'circle-slash',
  exited: 'circle-outline',
  crashed: 'error',
};

export class ExamplesTree implements vscode.TreeDataProvider<ExamplesNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<ExamplesNode | undefined | void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  readonly runner: ExampleRunner;
  /** The agents' environment while programs are observed from the inside (see agents/programObserver.ts). */
  agentEnvironment: (() => Record<string, string> | undefined) | undefined;
  private readonly exampleNodes = new Map<string, ExampleNode>();
  private readonly runNodes = new Map<string, RunNode>();
  private readonly processNodes = new Map<string, ProcessNode>();
  /** Sessions started for each run, so stopping the run stops them. */
  private readonly observers = new Map<string, { observation: Observation; sessionId?: string; error?: string }[]>();
  private readonly channels = new Map<string, vscode.OutputChannel>();
  private readonly disposables: vscode.Disposable[] = [this.changeEmitter];
  private python: Promise<PythonWithZmq | undefined> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private countTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sessions: SessionManager,
    private readonly capture: Capture,
    runner?: ExampleRunner,
  ) {
    this.runner = runner ?? new ExampleRunner();
    for (const e of EXAMPLES) this.exampleNodes.set(e.id, new ExampleNode(e));
    const onChange = this.runner.onDidChange((change) => {
      if (change.kind === 'runRemoved') {
        this.runNodes.delete(change.run.id);
        for (const p of change.run.processes) this.processNodes.delete(p.id);
        this.channels.get(change.run.id)?.appendLine(`[${new Date().toISOString()}] run ${change.run.id} stopped`);
      }
      this.refresh();
    });
    const onOutput = this.runner.onDidOutput(({ run, process, line }) => {
      this.channel(run).appendLine(`${process.label.padEnd(10)} | ${line.stream === 'stderr' ? '! ' : line.stream === 'system' ? '# ' : ''}${line.text}`);
    });
    // not when only a spy's details changed (retries, backlog): nothing this view shows
    const onSessions = onShownSessionsChange(sessions, () => this.refresh());
    // observer rows show message counts: follow the capture, at most once a second, only while a run is observed
    const onAppend = capture.onDidAppend(() => {
      if (this.observers.size === 0 || this.countTimer) return;
      this.countTimer = setTimeout(() => {
        this.countTimer = undefined;
        this.refresh();
      }, 1000);
    });
    this.disposables.push(new vscode.Disposable(() => [onChange, onOutput, onSessions, onAppend].forEach((d) => d.dispose())));
  }

  /** Coalesces bursts of process changes into one tree refresh. */
  private refresh(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.changeEmitter.fire();
    }, 100);
  }

  private channel(run: ExampleRun): vscode.OutputChannel {
    let ch = this.channels.get(run.id);
    if (!ch) {
      ch = vscode.window.createOutputChannel(`ZeroMQ Example ${run.id}`);
      this.channels.set(run.id, ch);
    }
    return ch;
  }

  /** The Python that runs the Python variants, looked up once. */
  findPython(): Promise<PythonWithZmq | undefined> {
    this.python ??= findPythonWithZmq().catch(() => undefined);
    return this.python;
  }

  /** Starts an example and the sessions that observe it; returns the run. */
  async start(exampleId: string, options: RunExampleOptions = {}): Promise<ExampleRun> {
    const observe = options.observe ?? true;
    const hasTaps = EXAMPLES.find((e) => e.id === exampleId)?.observe.some((o) => o.kind === 'tap') ?? false;
    const run = await this.runner.start(exampleId, {
      language: options.language ?? 'node',
      python: options.language === 'python' ? (await this.findPython())?.command : undefined,
      intervalMs: options.intervalMs,
      useTaps: observe && hasTaps,
      // with "Observe programs started here" on, the examples carry the agents too
      env: this.agentEnvironment?.(),
    });
    const ch = this.channel(run);
    ch.appendLine(`${run.example.title} — ${run.id} (${run.language}), started ${new Date(run.startedAt).toISOString()}`);
    ch.appendLine(`watch for: ${run.example.watchFor}`);
    for (const p of run.processes) ch.appendLine(`  ${p.label}: pid ${p.pid ?? '-'}  ${[p.command, ...p.args].join(' ')}`);
    const observers: { observation: Observation; sessionId?: string; error?: string }[] = [];
    this.observers.set(run.id, observers);
    if (observe) {
      for (const o of run.observations) {
        try {
          const session = await this.startObserver(o);
          observers.push({ observation: o, sessionId: session?.id, error: session ? undefined : 'not in the path (the run does not use taps)' });
          if (session) ch.appendLine(`observed by ${session.id}: ${session.label}`);
        } catch (e) {
          const error = e instanceof Error ? e.message : String(e);
          observers.push({ observation: o, error });
          ch.appendLine(`could not start the ${o.kind} on ${o.endpoint}: ${error}`);
        }
      }
    }
    this.refresh();
    return run;
  }

  private async startObserver(o: Observation): Promise<CaptureSession | undefined> {
    switch (o.kind) {
      case 'spy':
        return this.sessions.startSpy({ endpoints: [o.endpoint], topics: (o.topics ?? []).map((t) => parseTopic(t)) });
      case 'monitor':
        return this.sessions.startMonitor({ endpoint: o.endpoint, inPrefix: o.inPrefix, outPrefix: o.outPrefix });
      case 'tap': {
        if (!o.listen || !o.inPath) return undefined;
        // the tap module loads the ZMTP decoder: only when an example needs it
        const { ZmtpTap } = await import('../../core/sessions/tap');
        const tap = new ZmtpTap({ target: o.endpoint, listen: o.listen, id: this.sessions.nextId('tap') }, this.capture);
        try {
          await tap.listen();
        } catch (e) {
          tap.dispose();
          throw e;
        }
        return this.sessions.add(tap);
      }
    }
  }

  /** Stops every process of a run and the sessions started for it. */
  async stopRun(runId: string): Promise<void> {
    const observers = this.observers.get(runId) ?? [];
    this.observers.delete(runId);
    await Promise.all([
      this.runner.stop(runId),
      ...observers.filter((o) => o.sessionId).map((o) => this.sessions.stop(o.sessionId!)),
    ]);
    this.refresh();
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.runner.runs.map((r) => this.stopRun(r.id)));
  }

  showOutput(runId: string): void {
    const run = this.runner.getRun(runId);
    const ch = this.channels.get(runId) ?? (run ? this.channel(run) : undefined);
    ch?.show(true);
  }

  // ── TreeDataProvider ──

  getChildren(node?: ExamplesNode): ExamplesNode[] {
    if (!node) return EXAMPLES.map((e) => this.exampleNodes.get(e.id)!);
    switch (node.type) {
      case 'example':
        return this.runner.runs.filter((r) => r.example.id === node.example.id).map((r) => this.runNode(node, r));
      case 'run': {
        const processes = node.run.processes.map((p) => {
          let pn = this.processNodes.get(p.id);
          if (!pn) this.processNodes.set(p.id, (pn = new ProcessNode(node, p)));
          return pn;
        });
        const observers = (this.observers.get(node.run.id) ?? []).map((o) => new ObserverNode(node, o.observation, o.sessionId, o.error));
        return [...processes, ...observers];
      }
      default:
        return [];
    }
  }

  private runNode(parent: ExampleNode, run: ExampleRun): RunNode {
    let rn = this.runNodes.get(run.id);
    if (!rn) this.runNodes.set(run.id, (rn = new RunNode(parent, run)));
    return rn;
  }

  /** The tree node of a run (for reveal). */
  runNodeFor(runId: string): RunNode | undefined {
    const run = this.runner.getRun(runId);
    const parent = run ? this.exampleNodes.get(run.example.id) : undefined;
    return run && parent ? this.runNode(parent, run) : undefined;
  }

  getParent(node: ExamplesNode): ExamplesNode | undefined {
    return node.parent;
  }

  getTreeItem(node: ExamplesNode): vscode.TreeItem {
    switch (node.type) {
      case 'example': {
        const runs = this.runner.runs.filter((r) => r.example.id === node.example.id);
        const item = new vscode.TreeItem(node.example.title, runs.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        // a new id when runs appear: VS Code keeps a known item's collapsed state, so the run would stay hidden
        item.id = `example:${node.example.id}${runs.length ? ':running' : ''}`;
        item.description = runs.length ? `${runs.length} running` : node.example.id;
        item.tooltip = new vscode.MarkdownString(
          `**${node.example.title}**\n\n${node.example.description}\n\nRoles: ${node.example.roles.map((r) => `${r.name}${(r.instances ?? 1) > 1 ? ` ×${r.instances}` : ''}`).join(', ')}\n\nWatch for: ${node.example.watchFor}`,
        );
        item.iconPath = new vscode.ThemeIcon('symbol-event');
        item.contextValue = 'zmq:example';
        return item;
      }
      case 'run': {
        const run = node.run;
        const alive = run.processes.filter((p) => p.state === 'running' || p.state === 'starting').length;
        const item = new vscode.TreeItem(run.id, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `run:${run.id}`;
        item.description = `${run.language} · ${alive}/${run.processes.length} running`;
        item.tooltip = `${run.example.title} (${run.language}), started ${new Date(run.startedAt).toLocaleTimeString()}\nports: ${Object.entries(run.ports)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`;
        item.iconPath = new vscode.ThemeIcon(alive ? 'run-all' : 'debug-stop');
        item.contextValue = 'zmq:exampleRun';
        item.command = commandLink('zmqDebugger.examples.showOutput', 'Show Output', [run.id]);
        return item;
      }
      case 'process': {
        const p = node.process;
        const item = new vscode.TreeItem(p.label, vscode.TreeItemCollapsibleState.None);
        item.id = `process:${p.id}`;
        const exit = p.state === 'exited' || p.state === 'crashed' ? ` (${p.exitCode ?? p.signal ?? p.error ?? '?'})` : '';
        item.description = `pid ${p.pid ?? '-'} · ${p.state}${exit}${p.restarts ? ` · restarted ${p.restarts}×` : ''}`;
        const last = p.output().slice(-5).map((l) => l.text).join('\n');
        item.tooltip = `${[p.command, ...p.args].join(' ')}${p.error ? `\n${p.error}` : ''}${last ? `\n\n${last}` : ''}`;
        item.iconPath = new vscode.ThemeIcon(STATE_ICONS[p.state]);
        const alive = p.state === 'running' || p.state === 'starting' || p.state === 'stopping';
        item.contextValue = `zmq:exampleProcess:${alive ? 'alive' : 'ended'}`;
        item.command = commandLink('zmqDebugger.examples.showOutput', 'Show Output', [node.parent.run.id]);
        return item;
      }
      case 'observer': {
        const o = node.observation;
        const session = node.sessionId ? this.sessions.get(node.sessionId) : undefined;
        const item = new vscode.TreeItem(`${node.sessionId ?? o.kind} ${o.endpoint}`, vscode.TreeItemCollapsibleState.None);
        item.id = `observer:${node.parent.run.id}:${o.kind}:${o.endpoint}`;
        const count = node.sessionId ? (this.capture.session(node.sessionId)?.messages ?? 0) : 0;
        item.description = session ? `${session.state} · ${count} msg` : (node.error ?? 'stopped');
        item.tooltip = `${o.label}${o.listen ? `\ntap listens on ${o.listen}` : ''}`;
        item.iconPath = new vscode.ThemeIcon(session ? 'eye' : 'eye-closed');
        item.contextValue = 'zmq:exampleObserver';
        return item;
      }
    }
  }

  /** Pids of every example process still alive (tests check them). */
  livePids(): number[] {
    return this.runner.livePids();
  }

  /** Stops every process (SIGTERM at once, SIGKILL after the runner's grace period) and the sessions started for the runs. */
  async dispose(): Promise<void> {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.countTimer) clearTimeout(this.countTimer);
    for (const d of this.disposables.splice(0)) d.dispose();
    for (const ch of this.channels.values()) ch.dispose();
    this.channels.clear();
    const sessionIds = [...this.observers.values()].flatMap((list) => list.map((o) => o.sessionId).filter((id): id is string => !!id));
    this.observers.clear();
    await Promise.all([this.runner.dispose(), ...sessionIds.map((id) => this.sessions.stop(id))]);
  }
}

function idOf(arg: unknown, kind: 'run' | 'process'): string | undefined {
  if (typeof arg === 'string') return arg;
  if (kind === 'run' && arg instanceof RunNode) return arg.run.id;
  if (kind === 'run' && arg instanceof ProcessNode) return arg.parent.run.id;
  if (kind === 'process' && arg instanceof ProcessNode) return arg.process.id;
  return undefined;
}

async function requireTrust(): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const manage = 'Manage Workspace Trust';
  const picked = await vscode.window.showWarningMessage('Running an example starts processes, so it needs a trusted workspace. Discovery and spying work in restricted mode.', manage);
  if (picked === manage) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

/** Asks for an example (and a language when a Python with pyzmq exists). */
async function pickExample(tree: ExamplesTree, preset?: string): Promise<{ id: string; language: ExampleLanguage } | undefined> {
  let id = preset;
  if (!id) {
    const picked = await vscode.window.showQuickPick(
      EXAMPLES.map((e) => ({ label: e.title, description: e.id, detail: e.description, id: e.id })),
      { title: 'ZeroMQ: Run Example', placeHolder: 'A seed system to run as real processes, already observed', matchOnDescription: true, matchOnDetail: true },
    );
    if (!picked) return undefined;
    id = picked.id;
  }
  const python = await tree.findPython();
  if (!python) return { id, language: 'node' };
  const lang = await vscode.window.showQuickPick(
    [
      { label: 'Node.js', description: 'zeromq.js, the extension\'s own libzmq', language: 'node' as const },
      { label: 'Python', description: `${python.command} · pyzmq ${python.pyzmqVersion} · libzmq ${python.libzmqVersion}`, language: 'python' as const },
    ],
    { title: `ZeroMQ: Run Example ${id}`, placeHolder: 'Which variant of the programs to run' },
  );
  return lang ? { id, language: lang.language } : undefined;
}

/**
 * Creates the Examples view and its commands. `zmqDebugger.examples.run`
 * takes (exampleId?, {language, observe, intervalMs}?) and returns the run id.
 */
export function registerExamples(context: vscode.ExtensionContext, deps: { sessions: SessionManager; capture: Capture }, registry: CommandRegistry): ExamplesTree {
  const tree = new ExamplesTree(deps.sessions, deps.capture);
  current = tree;
  const view = vscode.window.createTreeView('zmqDebugger.examples', { treeDataProvider: tree, showCollapseAll: true });
  context.subscriptions.push(view, { dispose: () => void tree.dispose() });
  registry.register('zmqDebugger.examples.run', async (arg, opts) => {
    if (!(await requireTrust())) return undefined;
    const options = (opts ?? {}) as RunExampleOptions;
    let id = arg instanceof ExampleNode ? arg.example.id : typeof arg === 'string' ? arg : undefined;
    let language = options.language;
    if (!id || !language) {
      const choice = await pickExample(tree, id);
      if (!choice) return undefined;
      ({ id, language } = choice);
    }
    const exampleId = id;
    const run = await vscode.window.withProgress(
      { location: { viewId: 'zmqDebugger.examples' }, title: `Starting ${exampleId}` },
      () => tree.start(exampleId, { ...options, language }),
    );
    const node = tree.runNodeFor(run.id);
    if (node && view.visible) void view.reveal(node, { expand: true, select: false }).then(undefined, () => undefined);
    return run.id;
  });
  registry.register('zmqDebugger.examples.stopRun', async (arg) => {
    const id = idOf(arg, 'run') ?? (await pickRun(tree));
    if (!id) return false;
    await tree.stopRun(id);
    return true;
  });
  registry.register('zmqDebugger.examples.stopAll', async () => {
    await tree.stopAll();
    return true;
  });
  registry.register('zmqDebugger.examples.stopProcess', async (arg) => {
    const id = idOf(arg, 'process');
    if (!id) return false;
    await tree.runner.stopProcess(id);
    return true;
  });
  registry.register('zmqDebugger.examples.restartProcess', async (arg) => {
    if (!(await requireTrust())) return false;
    const id = idOf(arg, 'process');
    if (!id) return false;
    await tree.runner.restartProcess(id);
    return true;
  });
  registry.register('zmqDebugger.examples.showOutput', async (arg) => {
    const id = idOf(arg, 'run') ?? (await pickRun(tree));
    if (id) tree.showOutput(id);
    return id;
  });
  return tree;
}

let current: ExamplesTree | undefined;

/** For deactivate(): stops every example process and waits until they have exited. */
export async function stopAllExamples(): Promise<void> {
  const tree = current;
  current = undefined;
  await tree?.dispose();
}

async function pickRun(tree: ExamplesTree): Promise<string | undefined> {
  const runs = tree.runner.runs;
  if (runs.length <= 1) return runs[0]?.id;
  return (await vscode.window.showQuickPick(runs.map((r) => ({ label: r.id, description: `${r.example.title} · ${r.language}` })), { title: 'ZeroMQ: Example Run' }))?.label;
}
