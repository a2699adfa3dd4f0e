/**
 * The composition root: builds the core objects, the views, the panels and the
 * command handlers, and registers every one of them for disposal. Thin by
 * design: protocol logic lives in src/core and src/viewers; every command goes
 * through the one CommandRegistry, every panel through the WebviewHost.
 *
 * Lifecycle: deactivate() stops every session (sockets closed, tap ports
 * released) and every example process before VS Code disposes
 * `context.subscriptions`.
 */
import * as vscode from 'vscode';
import { Capture } from '../core/capture/capture';
import { SessionManager } from '../core/sessions/sessionManager';
import { parseDecoderSetting } from '../viewers/decoderSettings';
import { ProgramObserver } from './agents/programObserver';
import { AppCommands } from './commands/appCommands';
import { CaptureCommands } from './commands/captureCommands';
import { EndpointCommands } from './commands/endpointCommands';
import { CommandRegistry } from './commands/registry';
import { SessionCommands } from './commands/sessionCommands';
import { registerCodeLens } from './discovery/codeLens';
import { JupyterKernelsSource } from './discovery/jupyterKernelsSource';
import { registerDiscovery, WorkspaceDiscovery } from './discovery/workspaceDiscovery';
import { startBenchDrain } from './benchDrain';
import { createLog, Log } from './log';
import { Settings } from './settings';
import { Topology } from './topology/topologyView';
import { EndpointsTree, registerEndpointsTree } from './views/endpointsTree';
import { ExamplesTree, registerExamples, stopAllExamples } from './views/examplesTree';
import { ProcessesTree } from './views/processesTree';
import { SessionsTree, registerSessionsTree } from './views/sessionsTree';
import { SessionsStatusBar, registerStatusBar } from './views/statusBar';
import { FramesPanel } from './webviews/framesPanel';

export interface ExtensionApi {
  capture: Capture;
  sessions: SessionManager;
  /** The Endpoints tree's data provider; `registerSource()` adds groups of endpoints. */
  endpoints: EndpointsTree;
  sessionsTree: SessionsTree;
  statusBar: SessionsStatusBar;
  /** The command handlers by domain, and the registry that holds every registration. */
  commands: { registry: CommandRegistry; endpoints: EndpointCommands; sessions: SessionCommands; capture: CaptureCommands };
  /** The frames viewer: `open()`, and the open panel's `controller` (query model, counters). */
  framesViewer: FramesPanel;
  settings: Settings;
  log: Log;
  /** Endpoints found in the workspace's code (also the "Found in code" group and the CodeLenses). */
  discovery: WorkspaceDiscovery;
  /** The Examples view: the catalog, its runs and their processes. */
  examples: ExamplesTree;
  /** The topology model, the doctor's findings (Problems panel, Doctor view) and the map. */
  topology: Topology;
  /** "Observe programs started here": the collector the agents report to, and the Processes view. */
  programs: ProgramObserver;
  /** Jupyter kernels found in Jupyter's runtime directory (Endpoints groups, decoder rules). */
  kernels: JupyterKernelsSource;
  processesTree: ProcessesTree;
  /** How long activate() took, in milliseconds (logged too). */
  activationMs: number;
}

let running: SessionManager | undefined;

export function activate(context: vscode.ExtensionContext): ExtensionApi {
  const started = performance.now();
  const log = createLog();
  const settings = new Settings();
  const capture = new Capture(settings.captureLimits);
  const sessions = new SessionManager(capture);
  const registry = new CommandRegistry(log);
  running = sessions;
  context.subscriptions.push(log, settings, capture, sessions, registry, settings.applyCaptureLimits(capture, log));

  const endpoints = registerEndpointsTree(context, { settings, sessions });
  const sessionsTree = registerSessionsTree(context, { capture, sessions });
  const statusBar = registerStatusBar(context, { capture, sessions });

  const kernels = new JupyterKernelsSource(endpoints);
  const decoderRules = () => {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const { rules, problems } = parseDecoderSetting(vscode.workspace.getConfiguration('zmqDebugger').get('decoders'), folder);
    for (const p of problems) log.warn(p);
    return [...rules, ...kernels.decoderRules()];
  };
  const framesViewer = new FramesPanel(context.extensionUri, { capture, sessions, log, decoderRules });
  context.subscriptions.push(
    kernels,
    kernels.onDidChange(() => framesViewer.applyDecoderRules()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('zmqDebugger.decoders')) framesViewer.applyDecoderRules();
    }),
  );
  const commands = {
    registry,
    endpoints: new EndpointCommands({ capture, sessions, endpoints, sessionsTree, settings, log }),
    sessions: new SessionCommands({ sessions, log }),
    capture: new CaptureCommands({ capture, log, viewer: framesViewer }),
  };
  context.subscriptions.push(commands.sessions, framesViewer);
  for (const handlers of [commands.endpoints, commands.sessions, commands.capture, new AppCommands({ log }), framesViewer]) handlers.register(registry);

  const discovery = registerDiscovery(context, { endpoints }, registry);
  registerCodeLens(context, { discovery, sessions });
  const examples = registerExamples(context, { sessions, capture }, registry);
  const programs = new ProgramObserver(context, { capture, sessions, log });
  const processesTree = new ProcessesTree(programs);
  examples.agentEnvironment = () => programs.environment();
  context.subscriptions.push(programs, processesTree, vscode.window.createTreeView('zmqDebugger.processes', { treeDataProvider: processesTree }));
  programs.register(registry);
  const topology = new Topology(context, { capture, sessions, discovery, examples, framesViewer, log });
  context.subscriptions.push(topology);
  topology.register(registry);
  sessionsTree.latencyOf = (id) => topology.model.connectionLatency(id);
  // bench/hostSpy.ts's ceiling round only: nothing unless its environment variables are set
  const stopBenchDrain = startBenchDrain();
  if (stopBenchDrain) context.subscriptions.push({ dispose: stopBenchDrain });

  const activationMs = performance.now() - started;
  log.info(`activated in ${activationMs.toFixed(1)} ms`);
  return { capture, sessions, endpoints, sessionsTree, statusBar, commands, settings, log, framesViewer, discovery, examples, topology, programs, processesTree, kernels, activationMs };
}

export async function deactivate(): Promise<void> {
  // stop sockets and taps before the subscriptions (capture, views) go away
  await Promise.all([running?.stopAll(), stopAllExamples()]);
}
