/**
 * The composition root: builds the core objects, the views and the command
 * handlers, and registers every one of them for disposal. Thin by design: all
 * protocol logic lives in src/core; one register call per feature here.
 *
 * Lifecycle: deactivate() stops every session (sockets closed, tap ports
 * released) before VS Code disposes `context.subscriptions`.
 */
import * as vscode from 'vscode';
import { Capture } from '../core/capture/capture';
import { SessionManager } from '../core/sessions/sessionManager';
import { Commands, registerCommands } from './commands';
import { registerDiscovery, WorkspaceDiscovery } from './discovery/workspaceDiscovery';
import { EndpointsTree, registerEndpointsTree } from './views/endpointsTree';
import { ExamplesTree, registerExamples, stopAllExamples } from './views/examplesTree';
import { FramesViewer, registerFramesViewer } from './webviews/framesPanel';
import { createLog, Log } from './log';
import { SessionsTree, registerSessionsTree } from './views/sessionsTree';
import { Settings } from './settings';
import { SessionsStatusBar, registerStatusBar } from './views/statusBar';
import { registerTopology, TopologyView } from './topology/topologyView';

export interface ExtensionApi {
  capture: Capture;
  sessions: SessionManager;
  /** The Endpoints tree's data provider; `registerSource()` adds groups of endpoints. */
  endpoints: EndpointsTree;
  sessionsTree: SessionsTree;
  statusBar: SessionsStatusBar;
  commands: Commands;
  /** The frames viewer: `open()`, and the open panel's `controller` (query model, counters). */
  framesViewer: FramesViewer;
  settings: Settings;
  log: Log;
  /** Endpoints found in the workspace's code (also the "Found in code" group and the CodeLenses). */
  discovery: WorkspaceDiscovery;
  /** The Examples view: the catalog, its runs and their processes. */
  examples: ExamplesTree;
  /** The topology model, the doctor's findings (Problems panel, Doctor view) and the map. */
  topology: TopologyView;
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
  running = sessions;
  context.subscriptions.push(log, settings, capture, sessions, settings.applyCaptureLimits(capture, log));

  const endpoints = registerEndpointsTree(context, { settings, sessions });
  const sessionsTree = registerSessionsTree(context, { capture, sessions });
  const statusBar = registerStatusBar(context, { capture, sessions });
  const commands = registerCommands(context, { capture, sessions, endpoints, sessionsTree, settings, log });
  const framesViewer = registerFramesViewer(context, { capture, sessions, log });
  const discovery = registerDiscovery(context, { endpoints, sessions });
  const examples = registerExamples(context, { sessions, capture });
  const topology = registerTopology(context, { capture, sessions, discovery, examples, framesViewer, log });
  const activationMs = performance.now() - started;
  log.info(`activated in ${activationMs.toFixed(1)} ms`);

  return { capture, sessions, endpoints, sessionsTree, statusBar, commands, settings, log, framesViewer, discovery, examples, topology, activationMs };
}

export async function deactivate(): Promise<void> {
  // stop sockets and taps before the subscriptions (capture, views) go away
  await Promise.all([running?.stopAll(), stopAllExamples()]);
}
