/**
 * The topology in VS Code: feeds the model (core/topology) with what the
 * workspace knows (code found by discovery, the examples' processes, peers
 * named by pid), runs the doctor on every change and once a second while
 * something is live, and shows the result in three places: the map panel, the
 * Doctor view and the Problems panel. Thin: the model, the rules and the map
 * graph hold the logic.
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
import { Diagnostic, diagnose } from '../../core/topology/doctor';
import { processFromExample } from '../../core/topology/exampleTopology';
import { findPidOfTcpPeer } from '../../core/topology/peerProcess';
import { TopologyModel } from '../../core/topology/topology';
import type { CodeEndpoint, TopologySnapshot } from '../../core/topology/topologyFacts';
import { TopologyProber } from '../../core/zmtp/socketTypeProbe';
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

/** Tries to name a tap peer after a process we started (see namePeers). */
const NAMING_TRIES = 10;

export class Topology implements TopologyView, vscode.Disposable {
  readonly model: TopologyModel;
  private readonly prober: TopologyProber;
  private readonly problems = new ProblemsPublisher();
  private readonly doctorView = new DoctorView();
  private readonly map: TopologyMapPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private current: Diagnostic[] = [];
  private snapshot: TopologySnapshot | undefined;
  private showCode: boolean;
  /** Tap connections whose peer we tried to name by pid, and how often (a few tries each). */
  private readonly namingTries = new Map<string, { tries: number; at: number; candidates: number }>();
  /**
   * While the frames viewer shows an imported file: its topology, frozen at its
   * last record, takes the live one's place on the map, in the Doctor view and
   * in Problems (until the viewer goes back to live or closes).
   */
  private frozen: { name: string; model: TopologyModel; now: number } | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly deps: TopologyDeps,
  ) {
    this.model = new TopologyModel(deps.capture, deps.sessions);
    this.prober = new TopologyProber(this.model);
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
    this.disposables.push(this.model, this.prober, this.problems, this.doctorView, this.map);
    this.feedCode();
    this.feedExamples();
    this.disposables.push(
      this.model.onDidChange(() => {
        this.evaluate();
        this.namePeers();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('zmqDebugger.doctor')) this.evaluate();
      }),
    );
    // time-based rules (a REQ waiting too long, a publisher whose subscriber left) need a clock
    // (only while something is live or a live finding still has to age out: an idle workspace costs nothing)
    const tick = setInterval(() => this.tick(), 1000);
    this.disposables.push({ dispose: () => clearInterval(tick) });
    const onImport = deps.framesViewer?.onDidImport?.((e) => this.showImported(e.name, e.records));
    if (onImport) this.disposables.push(onImport, { dispose: () => this.frozen?.model.dispose() });
    this.evaluate();
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
    return this.current;
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
    this.frozen?.model.dispose();
    const model = new TopologyModel();
    let now = 0;
    for (const r of records) {
      model.ingest(r);
      if (r.ts > now) now = r.ts;
    }
    this.frozen = { name, model, now };
    this.evaluate();
  }

  evaluate(): Diagnostic[] {
    this.snapshot = this.frozen ? this.frozen.model.snapshot(this.frozen.now) : this.model.snapshot();
    this.current = diagnose(this.snapshot, doctorOptions());
    this.problems.publish(this.current);
    this.doctorView.show(this.current);
    if (this.map.panel) this.map.update(toMapGraph(this.snapshot, this.current, { showCode: this.showCode }));
    return this.current;
  }

  private reveal(arg: unknown): void {
    const d = arg instanceof DoctorItem ? arg.finding : undefined;
    // code sites are folded into their endpoint on the map
    const found = typeof arg === 'string' ? arg : (d?.nodeIds.find((n) => !n.startsWith('code:')) ?? d?.nodeIds[0]);
    // an agent's socket drawn as its tap peer
    const id = found && (this.snapshot?.aliases[found] ?? found);
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
    const s = this.snapshot ?? this.model.snapshot();
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

  private tick(): void {
    if (this.frozen) {
      // the viewer went back to live (or closed): so does the map
      if (this.deps.framesViewer?.controller?.sourceLabel === this.frozen.name) return;
      this.frozen.model.dispose();
      this.frozen = undefined;
      this.evaluate();
      return;
    }
    const s = this.snapshot;
    if (!s) return;
    const live =
      this.deps.sessions.list().length > 0 ||
      s.processes.some((p) => p.state === 'running' || p.state === 'starting') ||
      s.connections.some((c) => c.state === 'open');
    if (live || this.current.some((d) => !d.rule.startsWith('code-'))) this.evaluate();
  }

  /** Endpoints found in the workspace's code. */
  private feedCode(): void {
    const discovery = this.deps.discovery;
    if (!discovery) return;
    const feed = () => this.model.setCodeEndpoints(discovery.results().flatMap((f) => f.hits.map((h): CodeEndpoint => ({ ...h, file: f.uri.toString() }))));
    feed();
    this.disposables.push(discovery.onDidChange(feed));
  }

  /** The processes of the examples we run. */
  private feedExamples(): void {
    if (!this.deps.examples) return;
    const runner = this.deps.examples.runner;
    const known = new Set<string>();
    const feed = () => {
      const seen = new Set<string>();
      for (const run of runner.runs) {
        for (const p of run.processes) {
          seen.add(p.id);
          this.model.setProcess(processFromExample(run, p));
        }
      }
      for (const id of known) if (!seen.has(id)) this.model.removeProcess(id);
      known.clear();
      for (const id of seen) known.add(id);
    };
    feed();
    this.disposables.push(
      runner.onDidChange(feed),
      // a ZeroMQ error on stderr ("Address already in use") changes what the doctor says
      runner.onDidOutput((e) => {
        if (e.line.stream === 'stderr') feed();
      }),
    );
  }

  /** Names the tap peers that are processes we started (Linux /proc; a few tries per connection). */
  private namePeers(): void {
    const s = this.snapshot;
    if (!s) return;
    const pids = new Map<number, string>();
    for (const p of s.processes) if (p.pid !== undefined && (p.state === 'running' || p.state === 'starting')) pids.set(p.pid, p.id);
    // programs under the agent too: the peer is then drawn inside the program, named by it
    for (const p of s.agents.processes) if (p.state === 'running' && !pids.has(p.pid)) pids.set(p.pid, p.nodeId);
    if (pids.size === 0) return;
    for (const c of s.connections) {
      if (c.state !== 'open' || c.processId || !c.peer) continue;
      // up to NAMING_TRIES per connection, at most one a second (a loaded machine may
      // show the connection before /proc does), and again when a process appears
      const tried = this.namingTries.get(c.id);
      const again = tried && tried.candidates >= pids.size ? tried : undefined;
      const now = Date.now();
      if (again && (again.tries >= NAMING_TRIES || now - again.at < 1000)) continue;
      this.namingTries.set(c.id, { tries: (again?.tries ?? 0) + 1, at: now, candidates: pids.size });
      // /proc is read asynchronously: the extension host never waits on the file system here
      void findPidOfTcpPeer(c.peer, [...pids.keys()]).then((pid) => {
        if (pid !== undefined) this.model.setConnectionProcess(c.id, pids.get(pid)!);
      });
    }
    if (this.namingTries.size > 1000) this.namingTries.clear();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
