/**
 * The topology in VS Code: the live map (a webview hosting
 * dist/webview/topologyMap.js under a strict CSP), the doctor's findings in the
 * Problems panel (for code locations) and in the Doctor view. Thin: the model
 * (core/topology.ts), the rules (core/doctor.ts) and the map graph
 * (core/mapGraph.ts) hold the logic; this file adapts them to VS Code.
 *
 *   executeCommand('zmqDebugger.topology.show')             // open or reveal the map
 *   executeCommand('zmqDebugger.topology.reveal', nodeId)    // map, with a node selected
 */
import * as vscode from 'vscode';
import { webviewHtml } from '../webviews/webviewHtml';
import { baseName } from '../../core/base/bytes';
import type { Capture } from '../../core/capture/capture';
import { Diagnostic, diagnose, DOCTOR_RULES } from '../../core/topology/doctor';
import { processFromExample } from '../../core/topology/exampleTopology';
import type { ExampleRunner } from '../../core/examples/exampleRunner';
import { framesFilterFor, toMapGraph } from '../../viewers/mapGraph';
import type { SessionManager } from '../../core/sessions/sessionManager';
import { pidOfTcpPeer } from '../../core/topology/peerProcess';
import { TopologyProber } from '../../core/zmtp/socketTypeProbe';
import { CodeEndpoint, CodeLocation, TopologyModel, TopologySnapshot } from '../../core/topology/topology';
import { parseFromMap, ToMap } from '../../shared/protocol/topology';
import type { DiscoveredEndpoint } from '../../core/discovery/discovery';
import type { FramesViewer } from '../webviews/framesPanel';

export const TOPOLOGY_VIEW_TYPE = 'zmqDebugger.topology';

export interface TopologyDeps {
  capture: Capture;
  sessions: SessionManager;
  /** Endpoints found in the workspace's code. */
  discovery?: { results(): { uri: vscode.Uri; hits: DiscoveredEndpoint[] }[]; onDidChange: vscode.Event<void> };
  /** The examples the extension runs. */
  examples?: { runner: ExampleRunner };
  /** For filtering an open frames viewer without stealing focus. */
  framesViewer?: Pick<FramesViewer, 'controller'>;
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

export function registerTopology(context: vscode.ExtensionContext, deps: TopologyDeps): TopologyView {
  const model = new TopologyModel(deps.capture, deps.sessions);
  const prober = new TopologyProber(model);
  const diagnostics = vscode.languages.createDiagnosticCollection('ZeroMQ');
  const doctor = new DoctorTree();
  const treeView = vscode.window.createTreeView('zmqDebugger.doctor', { treeDataProvider: doctor });
  context.subscriptions.push(model, prober, diagnostics, treeView, doctor);

  let findings: Diagnostic[] = [];
  let snapshot: TopologySnapshot | undefined;
  let problemsKey = '';
  let panel: vscode.WebviewPanel | undefined;
  let ready = false;
  let lastGraph: ToMap | undefined;
  let pendingReveal: string | undefined;
  let showCode = context.workspaceState.get<boolean>('zmqDebugger.topology.showCode', false);

  const post = (m: ToMap) => {
    if (m.type === 'topology/update') lastGraph = m;
    if (panel && ready) void panel.webview.postMessage(m);
  };

  const evaluate = (): Diagnostic[] => {
    snapshot = model.snapshot();
    findings = diagnose(snapshot, doctorOptions());
    updateProblems(findings);
    doctor.set(findings);
    const n = findings.length;
    treeView.badge = n ? { value: n, tooltip: `${n} ZeroMQ problem${n === 1 ? '' : 's'}` } : undefined;
    if (panel) post({ type: 'topology/update', graph: toMapGraph(snapshot, findings, { showCode }) });
    return findings;
  };

  const updateProblems = (list: Diagnostic[]) => {
    const located = list.filter((d) => d.location);
    // the Problems panel flickers when replaced with the same content once a second
    const key = JSON.stringify(located.map((d) => [d.id, d.message, d.location]));
    if (key === problemsKey) return;
    problemsKey = key;
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const d of located) {
      const loc = d.location!;
      const vd = new vscode.Diagnostic(rangeOf(loc), d.message, severityOf(d));
      vd.source = 'ZeroMQ';
      vd.code = d.rule;
      if (d.related?.length) vd.relatedInformation = d.related.map((r) => new vscode.DiagnosticRelatedInformation(new vscode.Location(uriOf(r.location.file), rangeOf(r.location)), r.message));
      byFile.set(loc.file, [...(byFile.get(loc.file) ?? []), vd]);
    }
    diagnostics.clear();
    for (const [file, ds] of byFile) diagnostics.set(uriOf(file), ds);
  };

  // inputs: code found in the workspace, processes of the examples
  if (deps.discovery) {
    const discovery = deps.discovery;
    const feed = () =>
      model.setCodeEndpoints(discovery.results().flatMap((f) => f.hits.map((h): CodeEndpoint => ({ ...h, file: f.uri.toString() }))));
    feed();
    context.subscriptions.push(discovery.onDidChange(feed));
  }
  if (deps.examples) {
    const runner = deps.examples.runner;
    const known = new Set<string>();
    const feed = () => {
      const seen = new Set<string>();
      for (const run of runner.runs) {
        for (const p of run.processes) {
          seen.add(p.id);
          model.setProcess(processFromExample(run, p));
        }
      }
      for (const id of known) if (!seen.has(id)) model.removeProcess(id);
      known.clear();
      for (const id of seen) known.add(id);
    };
    feed();
    context.subscriptions.push(
      runner.onDidChange(feed),
      // a ZeroMQ error on stderr ("Address already in use") changes what the doctor says
      runner.onDidOutput((e) => {
        if (e.line.stream === 'stderr') feed();
      }),
    );
  }

  // name the tap peers that are processes we started (Linux /proc; a few tries per connection)
  const tries = new Map<string, number>();
  const namePeers = () => {
    const s = snapshot;
    if (!s) return;
    const pids = new Map<number, string>();
    for (const p of s.processes) if (p.pid !== undefined && (p.state === 'running' || p.state === 'starting')) pids.set(p.pid, p.id);
    if (pids.size === 0) return;
    for (const c of s.connections) {
      if (c.state !== 'open' || c.processId || !c.peer || (tries.get(c.id) ?? 0) >= 3) continue;
      tries.set(c.id, (tries.get(c.id) ?? 0) + 1);
      const pid = pidOfTcpPeer(c.peer, [...pids.keys()]);
      if (pid !== undefined) model.setConnectionProcess(c.id, pids.get(pid)!);
    }
    if (tries.size > 1000) tries.clear();
  };

  context.subscriptions.push(
    model.onDidChange(() => {
      evaluate();
      namePeers();
    }),
  );
  // time-based rules (a REQ waiting too long, a publisher whose subscriber left) need a clock
  // (only while something is live or a live finding still has to age out: an idle workspace costs nothing)
  const tick = setInterval(() => {
    const s = snapshot;
    if (!s) return;
    const live =
      deps.sessions.list().length > 0 ||
      s.processes.some((p) => p.state === 'running' || p.state === 'starting') ||
      s.connections.some((c) => c.state === 'open');
    if (live || findings.some((d) => !d.rule.startsWith('code-'))) evaluate();
  }, 1000);
  context.subscriptions.push({ dispose: () => clearInterval(tick) });
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('zmqDebugger.doctor')) evaluate();
    }),
  );

  const roots = [vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(context.extensionUri, 'media')];

  const onSelect = (target: 'node' | 'edge', id: string, open: boolean) => {
    const s = snapshot ?? model.snapshot();
    const filter = framesFilterFor(s, target, id);
    if (open) {
      void vscode.commands.executeCommand('zmqDebugger.frames.open', filter);
      return;
    }
    // an open frames viewer follows the selection; a closed one stays closed
    const ctl = deps.framesViewer?.controller;
    if (ctl && filter?.session) ctl.setFilter({ ...ctl.filter, session: filter.session });
    const node = target === 'node' ? s.nodes.find((n) => n.id === id) : undefined;
    if (node?.location) void showLocation(node.location, true);
  };

  const attach = (p: vscode.WebviewPanel) => {
    panel = p;
    ready = false;
    p.webview.options = { enableScripts: true, localResourceRoots: roots };
    p.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'zeromq.svg');
    const subs = [
      p.webview.onDidReceiveMessage((raw) => {
        let m;
        try {
          m = parseFromMap(raw);
        } catch (e) {
          deps.log?.warn(`topology map: ignoring a message (${(e as Error).message})`);
          return;
        }
        switch (m.type) {
          case 'ready':
            ready = true;
            evaluate();
            if (pendingReveal) post({ type: 'topology/reveal', id: pendingReveal });
            pendingReveal = undefined;
            break;
          case 'select':
          case 'openFrames':
            onSelect(m.target, m.id, m.type === 'openFrames');
            break;
          case 'setShowCode':
            showCode = m.showCode;
            void context.workspaceState.update('zmqDebugger.topology.showCode', showCode);
            evaluate();
            break;
          default: {
            const never: never = m;
            void never;
          }
        }
      }),
      // a hidden webview loses posted messages: it asks again with `ready` when it comes back
      p.onDidChangeViewState((e) => {
        if (e.webviewPanel.visible && ready) evaluate();
      }),
    ];
    p.webview.html = html(p.webview, context.extensionUri);
    p.onDidDispose(() => {
      for (const s of subs) s.dispose();
      if (panel === p) panel = undefined;
    });
    return p;
  };

  const show = () => {
    if (panel) {
      panel.reveal();
      return panel;
    }
    return attach(
      vscode.window.createWebviewPanel(TOPOLOGY_VIEW_TYPE, 'ZeroMQ Topology', vscode.ViewColumn.Active, {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: roots,
      }),
    );
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('zmqDebugger.topology.show', () => {
      show();
    }),
    vscode.commands.registerCommand('zmqDebugger.topology.reveal', (arg?: unknown) => {
      const d = arg instanceof DoctorItem ? arg.finding : undefined;
      // code sites are folded into their endpoint on the map
      const id = typeof arg === 'string' ? arg : (d?.nodeIds.find((n) => !n.startsWith('code:')) ?? d?.nodeIds[0]);
      show();
      if (!id) return;
      const onMap = lastGraph?.type === 'topology/update' && lastGraph.graph.nodes.some((n) => n.id === id);
      if (!onMap && !showCode && id.startsWith('ep:')) {
        // an endpoint known only from code: draw the code-only endpoints
        showCode = true;
        void context.workspaceState.update('zmqDebugger.topology.showCode', true);
        evaluate();
      }
      // a panel that is still loading reveals it once it said `ready` and got its graph
      if (ready) post({ type: 'topology/reveal', id });
      else pendingReveal = id;
    }),
    vscode.commands.registerCommand('zmqDebugger.doctor.open', async (arg?: unknown) => {
      const d = arg instanceof DoctorItem ? arg.finding : undefined;
      if (d?.location) await showLocation(d.location, false);
      else if (d) await vscode.commands.executeCommand('zmqDebugger.topology.reveal', arg);
    }),
    vscode.window.registerWebviewPanelSerializer(TOPOLOGY_VIEW_TYPE, {
      async deserializeWebviewPanel(p: vscode.WebviewPanel) {
        if (panel) panel.dispose();
        attach(p);
      },
    }),
    { dispose: () => panel?.dispose() },
  );

  evaluate();
  return {
    model,
    findings: () => findings,
    evaluate,
    diagnostics,
    doctor,
    show,
    get panel() {
      return panel;
    },
    get lastGraph() {
      return lastGraph;
    },
  };
}

function uriOf(file: string): vscode.Uri {
  return /^[a-z][a-z0-9+.-]*:/i.test(file) && !/^[a-z]:[\\/]/i.test(file) ? vscode.Uri.parse(file) : vscode.Uri.file(file);
}

function rangeOf(l: CodeLocation): vscode.Range {
  const col = l.column ?? 0;
  // the whole rest of the line: VS Code clamps to its length
  return new vscode.Range(l.line, col, l.line, col + 1000);
}

function severityOf(d: Diagnostic): vscode.DiagnosticSeverity {
  return d.severity === 'error' ? vscode.DiagnosticSeverity.Error : d.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information;
}

async function showLocation(l: CodeLocation, preserveFocus: boolean): Promise<void> {
  const col = l.column ?? 0;
  await vscode.window.showTextDocument(uriOf(l.file), {
    selection: new vscode.Range(l.line, col, l.line, col),
    preserveFocus,
    viewColumn: preserveFocus ? vscode.ViewColumn.Beside : undefined,
  });
}

export class DoctorItem extends vscode.TreeItem {
  constructor(readonly finding: Diagnostic) {
    super(DOCTOR_RULES[finding.rule], vscode.TreeItemCollapsibleState.None);
    this.id = finding.id;
    const where = finding.location ? `${decodeURIComponent(baseName(finding.location.file))}:${finding.location.line + 1}` : finding.endpoint;
    this.description = where;
    this.tooltip = new vscode.MarkdownString().appendText(finding.message);
    this.iconPath =
      finding.severity === 'error'
        ? new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'))
        : finding.severity === 'warning'
          ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
          : new vscode.ThemeIcon('info', new vscode.ThemeColor('problemsInfoIcon.foreground'));
    this.contextValue = `zmq:doctor:${finding.location ? 'code' : 'live'}`;
    this.command = { command: 'zmqDebugger.doctor.open', title: 'Show', arguments: [this] };
    this.accessibilityInformation = { label: `${finding.severity}: ${finding.message}` };
  }
}

/** The Doctor view: one row per finding, worst first; the full text in the tooltip. */
export class DoctorTree implements vscode.TreeDataProvider<DoctorItem>, vscode.Disposable {
  private items: DoctorItem[] = [];
  private key = '';
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;

  set(findings: Diagnostic[]): void {
    const key = JSON.stringify(findings.map((d) => [d.id, d.message]));
    if (key === this.key) return;
    this.key = key;
    this.items = findings.map((d) => new DoctorItem(d));
    this.changeEmitter.fire();
  }

  getTreeItem(e: DoctorItem): vscode.TreeItem {
    return e;
  }

  getChildren(e?: DoctorItem): DoctorItem[] {
    return e ? [] : this.items;
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }
}


function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewHtml(webview, extensionUri, { bundle: 'topologyMap.js', stylesheet: 'topologyMap.css', title: 'ZeroMQ Topology' });
}
