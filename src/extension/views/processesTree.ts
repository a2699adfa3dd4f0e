/**
 * The Processes view: what the agents report, as process → sockets →
 * endpoints, with counts, failures, drops and state. Empty (with a welcome text
 * in the manifest) until programs are observed from the inside.
 */
import * as vscode from 'vscode';
import type { AgentEndpointFacts, AgentProcessWithSockets, AgentSocketFacts } from '../../core/sessions/agentStore';
import type { Collector } from '../../core/sessions/collector';
import { formatBytes, formatCount } from '../../shared/format';
import type { ProgramObserver } from '../agents/programObserver';
import { ThrottledRefresh } from './throttledRefresh';

export type ProcessesNode =
  | { kind: 'process'; process: AgentProcessWithSockets }
  | { kind: 'socket'; process: AgentProcessWithSockets; socket: AgentSocketFacts }
  | { kind: 'endpoint'; socket: AgentSocketFacts; endpoint: AgentEndpointFacts };

export class ProcessesTree implements vscode.TreeDataProvider<ProcessesNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  // once a second, as the Sessions view: counters move with every report, and each refresh
  // makes VS Code drop the rows' click commands (a click landing while the new rows are on their
  // way fails with "Actual command not found"), so fewer refreshes mean fewer such clicks
  private readonly refresh = new ThrottledRefresh(() => this.changeEmitter.fire(), { intervalMs: 1000 });
  private modelSub: vscode.Disposable | undefined;
  private readonly observerSub: vscode.Disposable;

  constructor(private readonly observer: ProgramObserver) {
    this.watch(observer.collector);
    this.observerSub = observer.onDidChange((c) => this.watch(c));
  }

  private watch(collector: Collector | undefined): void {
    this.modelSub?.dispose();
    this.modelSub = collector ? collector.model.onDidChange(() => this.refresh.request()) : undefined;
    this.changeEmitter.fire();
  }

  /** The processes shown now (tests read it). */
  processes(): AgentProcessWithSockets[] {
    return this.observer.collector?.model.processes() ?? [];
  }

  getChildren(node?: ProcessesNode): ProcessesNode[] {
    if (!node) return this.processes().map((process) => ({ kind: 'process', process }));
    if (node.kind === 'process') return [...node.process.sockets.values()].map((socket) => ({ kind: 'socket', process: node.process, socket }));
    if (node.kind === 'socket') return node.socket.endpoints.map((endpoint) => ({ kind: 'endpoint', socket: node.socket, endpoint }));
    return [];
  }

  getTreeItem(node: ProcessesNode): vscode.TreeItem {
    const collapsed = vscode.TreeItemCollapsibleState.Collapsed;
    const none = vscode.TreeItemCollapsibleState.None;
    if (node.kind === 'process') {
      const p = node.process;
      const item = new vscode.TreeItem(`${p.name} (pid ${p.pid})`, p.sockets.size ? vscode.TreeItemCollapsibleState.Expanded : none);
      // A row's expanded state is decided when VS Code first draws it: a process reported before
      // its sockets was drawn as a leaf, and stayed collapsed when its sockets came. Its id
      // changes once, with its first socket, so that row is drawn anew, expanded; from then on
      // it is stable and the user's collapse is kept.
      item.id = `${p.nodeId}${p.sockets.size ? '' : ':no-sockets'}`;
      const parts = [`${p.sockets.size} socket${p.sockets.size === 1 ? '' : 's'}`, p.state];
      if (p.dropped) parts.push(`${formatCount(p.dropped)} reports dropped`);
      item.description = parts.join(' · ');
      item.tooltip = `${p.argv.join(' ')}\ncwd: ${p.cwd}${p.runtime ? `\n${p.runtime}` : ''}`;
      item.iconPath = new vscode.ThemeIcon(p.state === 'running' ? 'vm-running' : 'vm-outline');
      item.contextValue = `zmq:process:${p.state}`;
      return item;
    }
    if (node.kind === 'socket') {
      const s = node.socket;
      const item = new vscode.TreeItem(`${s.type} ${s.id}`, s.endpoints.length ? collapsed : none);
      const parts = [`↑ ${formatCount(s.sent.messages)} (${formatBytes(s.sent.bytes)})`, `↓ ${formatCount(s.received.messages)} (${formatBytes(s.received.bytes)})`];
      const failures = s.failures.map((f) => `${formatCount(f.count)} ${f.op} ${f.code}`);
      if (failures.length) parts.push(failures.join(', '));
      if (s.state === 'closed') parts.unshift('closed');
      item.description = parts.join(' · ');
      // a receive that found nothing yet (EAGAIN, a polling loop's NOBLOCK) is shown, not warned about: nothing was lost
      const warn = s.failures.some((f) => !(f.op === 'recv' && f.code === 'EAGAIN'));
      item.iconPath = new vscode.ThemeIcon(warn ? 'warning' : 'plug');
      const events = Object.entries(s.events).map(([what, n]) => `${what} ${formatCount(n)}`);
      const peers = s.peers.length ? `peers: ${s.peers.join(', ')}` : '';
      const tip = [Object.entries(s.options).map(([k, v]) => `${k}=${v}`).join('\n'), events.length ? `events: ${events.join(', ')}` : '', peers].filter(Boolean).join('\n');
      item.tooltip = tip || undefined;
      if (s.peers.length) item.description = `${item.description} · ${s.peers.length} peer${s.peers.length === 1 ? '' : 's'}`;
      // a click shows this socket's records in the frames viewer
      item.command = { command: 'zmqDebugger.frames.open', title: 'Show Frames', arguments: [{ socket: s.id }] };
      return item;
    }
    const e = node.endpoint;
    const item = new vscode.TreeItem(e.endpoint, none);
    item.description = [e.role, e.state !== 'active' ? e.state : '', e.requested && e.requested !== e.endpoint ? `as ${e.requested}` : ''].filter(Boolean).join(' · ');
    item.tooltip = e.error;
    item.iconPath = new vscode.ThemeIcon(e.role === 'bind' ? 'radio-tower' : 'arrow-right');
    return item;
  }

  dispose(): void {
    this.modelSub?.dispose();
    this.observerSub.dispose();
    this.refresh.dispose();
    this.changeEmitter.dispose();
  }
}
