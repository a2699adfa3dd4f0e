/**
 * The topology in VS Code: the core service (core/topology/topologyService.ts)
 * feeds the model and runs the doctor; this shows the result in three places:
 * the map panel, the Doctor view and the Problems panel, and gives the service
 * what only VS Code knows (the workspace's code, settings, the frames viewer).
 *
 *   executeCommand('zmqDebugger.topology.show')             // open or reveal the map
 *   executeCommand('zmqDebugger.topology.reveal', nodeId)    // map, with a node selected
 */
import * as vscode from 'vscode';
import type { Capture } from '../../core/capture/capture';
import type { CaptureRecord } from '../../core/capture/records';
import type { DiscoveredEndpoint } from '../../core/discovery/discovery';
import type { ExampleRunner } from '../../core/examples/exampleRunner';
import type { SessionManager } from '../../core/sessions/sessionManager';
import { Diagnostic } from '../../core/topology/doctor';
import type { TopologyModel } from '../../core/topology/topology';
import type { TopologySnapshot } from '../../core/topology/topologyFacts';
import { TopologyService } from '../../core/topology/topologyService';
import type { ToMap } from '../../shared/protocol/topology';
import { framesFilterFor, toMapGraph } from '../../viewers/mapGraph';
import type { CommandRegistry } from '../commands/registry';
import { runCommand } from '../commands/registry';
import type { FramesPanel } from '../webviews/framesPanel';
import { TopologyMapPanel } from '../webviews/topologyMapPanel';
import { showLocation } from './codeLocations';
import { DoctorItem, DoctorTree, DoctorView } from './doctorView';
import { ProblemsPublisher } from './problemsPublisher';

export interface TopologyDeps {
  capture: Capture;
  sessions: SessionManager;
  /** Endpoints found in the workspace's code. */
  discovery?: { results(): { uri: vscode.Uri; hits: DiscoveredEndpoint[] }[]; onDidChange: vscode.Event<void> };
  /** The examples the extension runs. */
  examples?: { runner: ExampleRunner };
  /** For filtering an open frames viewer without stealing focus; its imports are shown frozen. */
  framesViewer?: Pick<FramesPanel, 'controller'> & Partial<Pick<FramesPanel, 'onDidImport'>>;
  log?: vscode.LogOutputChannel;
}

export interface TopologyView {
  readonly model: TopologyModel;
  /** The doctor's current findings. */
  findings(): Diagnostic[];
  /** Re-evaluates the doctor now (it also runs on every change and once a second). */
  evaluate(): Diagnostic[];
  readonly diagnostics: vscode.DiagnosticCollection;
  readonly doctor: DoctorTree;
  show(): vscode.WebviewPanel;
  readonly panel: vscode.WebviewPanel | undefined;
  /** The last graph posted to the map (tests read it). */
  readonly lastGraph: ToMap | undefined;
}

function doctorOptions() {
  const c = vscode.workspace.getConfiguration('zmqDebugger.doctor');
  return { reqTimeoutMs: Math.max(100, c.get<number>('requestTimeoutMs', 3000)) };
}

const SHOW_CODE_KEY = 'zmqDebugger.topology.showCode';

export class Topology implements TopologyView, vscode.Disposable {
  private readonly service: TopologyService;
  private readonly problems = new ProblemsPublisher();
  private readonly doctorView = new DoctorView();
  private readonly map: TopologyMapPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private showCode: boolean;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly deps: TopologyDeps,
  ) {
    const discovery = deps.discovery;
    this.service = new TopologyService({
      capture: deps.capture,
      sessions: deps.sessions,
      code: discovery && { results: () => discovery.results().map((f) => ({ file: f.uri.toString(), hits: f.hits })), onDidChange: discovery.onDidChange },
      examples: deps.examples?.runner,
      doctorOptions,
      // while the frames viewer shows an imported file, its topology is the one shown
      stillShown: (name) => deps.framesViewer?.controller?.sourceLabel === name,
    });
    this.showCode = context.workspaceState.get<boolean>(SHOW_CODE_KEY, false);
    this.map = new TopologyMapPanel(
      context.extensionUri,
      {
        wantsGraph: () => this.evaluate(),
        select: (target, id, openFrames) => this.onSelect(target, id, openFrames),
        setShowCode: (showCode) => this.setShowCode(showCode),
      },
      deps.log,
    );
    this.disposables.push(
      this.service,
      this.problems,
      this.doctorView,
      this.map,
      this.service.onDidEvaluate(({ snapshot, findings }) => this.present(snapshot, findings)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('zmqDebugger.doctor')) this.evaluate();
      }),
    );
    const onImport = deps.framesViewer?.onDidImport?.((e) => this.showImported(e.name, e.records));
    if (onImport) this.disposables.push(onImport);
    this.evaluate();
  }

  get model(): TopologyModel {
    return this.service.model;
  }

  register(registry: CommandRegistry): void {
    registry.register('zmqDebugger.topology.show', () => {
      this.show();
    });
    registry.register('zmqDebugger.topology.reveal', (arg?: unknown) => this.reveal(arg));
    registry.register('zmqDebugger.doctor.open', async (arg?: unknown) => {
      const d = arg instanceof DoctorItem ? arg.finding : undefined;
      if (d?.location) await showLocation(d.location, false);
      else if (d) await runCommand('zmqDebugger.topology.reveal', arg);
    });
  }

  findings(): Diagnostic[] {
    return this.service.findings();
  }

  get diagnostics(): vscode.DiagnosticCollection {
    return this.problems.collection;
  }

  get doctor(): DoctorTree {
    return this.doctorView.tree;
  }

  get panel(): vscode.WebviewPanel | undefined {
    return this.map.panel;
  }

  get lastGraph(): ToMap | undefined {
    return this.map.lastGraph;
  }

  show(): vscode.WebviewPanel {
    return this.map.show();
  }

  /** Shows an imported capture's topology, frozen at its last record, instead of the live one. */
  showImported(name: string, records: readonly CaptureRecord[]): void {
    this.service.showImported(name, records);
  }

  evaluate(): Diagnostic[] {
    return this.service.evaluate();
  }

  /** An evaluation in the three places that show it. */
  private present(snapshot: TopologySnapshot, findings: Diagnostic[]): void {
    this.problems.publish(findings);
    this.doctorView.show(findings);
    if (this.map.panel) this.map.update(toMapGraph(snapshot, findings, { showCode: this.showCode }));
  }

  private reveal(arg: unknown): void {
    const d = arg instanceof DoctorItem ? arg.finding : undefined;
    // code sites are folded into their endpoint on the map
    const found = typeof arg === 'string' ? arg : (d?.nodeIds.find((n) => !n.startsWith('code:')) ?? d?.nodeIds[0]);
    // an agent's socket drawn as its tap peer
    const id = found && (this.service.snapshot?.aliases[found] ?? found);
    this.show();
    if (!id) return;
    const graph = this.map.lastGraph;
    const onMap = graph?.type === 'topology/update' && graph.graph.nodes.some((n) => n.id === id);
    // an endpoint known only from code: draw the code-only endpoints
    if (!onMap && !this.showCode && id.startsWith('ep:')) this.setShowCode(true);
    this.map.reveal(id);
  }

  private setShowCode(showCode: boolean): void {
    this.showCode = showCode;
    void this.context.workspaceState.update(SHOW_CODE_KEY, showCode);
    this.evaluate();
  }

  private onSelect(target: 'node' | 'edge', id: string, open: boolean): void {
    const s = this.service.snapshot ?? this.model.snapshot();
    const filter = framesFilterFor(s, target, id);
    if (open) {
      void runCommand('zmqDebugger.frames.open', filter);
      return;
    }
    // an open frames viewer follows the selection; a closed one stays closed
    const ctl = this.deps.framesViewer?.controller;
    if (ctl && filter?.session) ctl.setFilter({ ...ctl.filter, session: filter.session, process: filter.process ?? '', socket: filter.socket ?? '' });
    const node = target === 'node' ? s.nodes.find((n) => n.id === id) : undefined;
    if (node?.location) void showLocation(node.location, true);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
