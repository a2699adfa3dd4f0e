/**
 * The Sessions view: every running spy, monitor spy and tap with its state and
 * figures (messages, rate, evicted, dropped) in the description; children are
 * the tap's connections (with both socket types), the endpoints of a multi-endpoint
 * spy and the topics seen. Refreshes happen at most once a second, on the
 * second (with the status bar's: one repaint of the workbench for both), only
 * while the view is visible; a 1 s tick keeps rates honest when traffic stops.
 * While the same sessions run, a refresh redraws only their rows (see
 * TreeShape), and a row's tooltip is built when the user hovers it.
 */
import * as vscode from 'vscode';
import type { Capture, Counter } from '../../core/capture/capture';
import { BEHIND_TEXT, spyDetailsOf } from '../../core/sessions/spy';
import { DisposableStore } from '../../core/base/lifecycle';
import type { CaptureSession } from '../../core/sessions/session';
import type { SessionManager } from '../../core/sessions/sessionManager';
import type { TapConnectionInfo, ZmtpTap } from '../../core/sessions/tap';
import { escapeMd } from './endpointsTree';
import { ThrottledRefresh, TreeShape } from './throttledRefresh';
import { formatBytes, formatCount } from '../../shared/format';
import { formatRate, sessionDescription, stateIcon } from './treeText';
import type { LatencyStats } from '../../core/topology/latency';
import { latencyBrief, latencyHistogramLines, latencySummary } from '../../shared/latencyText';

/** Tap connections whose round trips the session's tooltip lists (with a histogram for the first few). */
const MAX_LATENCY_ROWS = 8;
const MAX_LATENCY_HISTOGRAMS = 3;

/** Topics listed per session; the rest are summed in one "more topics" row. */
const MAX_TOPIC_ROWS = 100;

export type SessionsNode = SessionNode | TopicNode | ConnectionNode | EndpointCountNode | InfoNode;

let sessionNodes = 0;

export class SessionNode {
  readonly type = 'session';
  readonly parent = undefined;
  /** Tells this node from an earlier one of a session with the same id (the view knows only the nodes it was given). */
  readonly key = `${++sessionNodes}`;
  constructor(readonly session: CaptureSession) {}
}

export class TopicNode {
  readonly type = 'topic';
  constructor(
    readonly parent: SessionNode,
    readonly topic: string,
    readonly counter: Counter,
  ) {}
}

export class EndpointCountNode {
  readonly type = 'endpointCount';
  constructor(
    readonly parent: SessionNode,
    readonly endpoint: string,
    readonly counter: Counter | undefined,
  ) {}
}

export class ConnectionNode {
  readonly type = 'connection';
  constructor(
    readonly parent: SessionNode,
    readonly info: TapConnectionInfo,
  ) {}
}

/** An error, a hint or a "more" row. */
export class InfoNode {
  readonly type = 'info';
  constructor(
    readonly parent: SessionNode,
    readonly text: string,
    readonly icon: 'error' | 'info' | 'ellipsis',
    readonly detail?: string,
  ) {}
}

/**
 * The row's label, short enough for a narrow side bar next to its figures:
 * "spy-1 127.0.0.1:5556", "tap-2 127.0.0.1:5556" (the full label, with a tap's
 * listen port, is in the tooltip and in the tap's first child row).
 */
export function sessionTitle(s: CaptureSession): string {
  const short = (e: string) => e.replace(/^tcp:\/\//, '');
  const observed = s.endpoints.length > 2 ? `${short(s.endpoints[0])} +${s.endpoints.length - 1}` : s.endpoints.map(short).join(', ');
  return `${s.id} ${observed}`;
}

export function isTap(s: CaptureSession): s is ZmtpTap {
  return s.kind === 'tap' && 'connections' in s;
}

export class SessionsTree implements vscode.TreeDataProvider<SessionsNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<SessionsNode | SessionsNode[] | undefined | void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly nodes = new Map<string, SessionNode>();
  private readonly perSession = new Map<string, DisposableStore>();
  private readonly disposables = new DisposableStore();
  private view: vscode.TreeView<SessionsNode> | undefined;
  // once a second while messages arrive (the rates shown are per second), on the second as the status bar: a refresh redraws the tree in the renderer, which shares the CPU with a flood
  private readonly refresher = new ThrottledRefresh(() => this.redraw(), { intervalMs: 1000, isVisible: () => this.view?.visible ?? true, aligned: true });
  private readonly shape = new TreeShape();
  private badgeCount: number | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;
  /** Round trips of a tap connection (`session#connection`), from the topology model once it exists (extension.ts sets it). */
  latencyOf: ((connectionId: string) => LatencyStats | undefined) | undefined;

  constructor(
    private readonly capture: Capture,
    private readonly sessions: SessionManager,
  ) {
    this.disposables.add(this.changeEmitter);
    this.disposables.add(this.refresher);
    this.disposables.add(capture.onDidAppend(() => this.refresh()));
    this.disposables.add(capture.onDidClear(() => this.refresh()));
    this.disposables.add(sessions.onDidChange(() => this.sessionsChanged()));
    this.sessionsChanged();
  }

  attach(view: vscode.TreeView<SessionsNode>): void {
    this.view = view;
    this.disposables.add(
      view.onDidChangeVisibility(() => {
        if (view.visible) this.shape.reset();
        this.refresher.visibilityChanged();
      }),
    );
    this.updateBadge();
  }

  refresh(): void {
    this.refresher.request();
  }

  /**
   * The same sessions with the same rows: only their rows (figures, state),
   * which VS Code redraws without asking for the children of a collapsed one;
   * anything else: the whole tree.
   */
  private redraw(): void {
    const nodes = this.sessions.list().map((s) => this.nodeFor(s.id)!);
    if (nodes.length && this.shape.next(nodes.map((n) => ({ key: n.key, hasChildren: this.hasChildren(n.session) }))) === 'rows') this.changeEmitter.fire(nodes);
    else {
      if (!nodes.length) this.shape.reset();
      this.changeEmitter.fire();
    }
  }

  private hasChildren(s: CaptureSession): boolean {
    return s.state === 'error' || isTap(s) || s.endpoints.length > 1 || (this.capture.session(s.id)?.topics.size ?? 0) > 0;
  }

  /** Whether the view shows now (refreshes wait while it does not). */
  get visible(): boolean {
    return this.view?.visible ?? false;
  }

  /** The node of a running session. */
  nodeFor(id: string): SessionNode | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    let n = this.nodes.get(id);
    if (!n || n.session !== s) this.nodes.set(id, (n = new SessionNode(s)));
    return n;
  }

  /** Shows and selects a session's row (opens the view if needed); never throws. */
  reveal(id: string): void {
    const node = this.nodeFor(id);
    if (!node || !this.view) return;
    Promise.resolve(this.view.reveal(node, { select: true, focus: false })).catch(() => {
      // the view may be closing; the row shows on its next refresh anyway
    });
  }

  private sessionsChanged(): void {
    const live = new Set(this.sessions.list().map((s) => s.id));
    for (const [id, store] of this.perSession) {
      if (!live.has(id)) {
        store.dispose();
        this.perSession.delete(id);
        this.nodes.delete(id);
      }
    }
    for (const s of this.sessions.list()) {
      if (this.perSession.has(s.id)) continue;
      const store = new DisposableStore();
      if (isTap(s)) store.add(s.onDidChangeConnections(() => this.refresh()));
      this.perSession.set(s.id, store);
    }
    // rates decay without appends: tick once a second while anything runs
    if (live.size && !this.ticker) this.ticker = setInterval(() => this.refresh(), 1000);
    if (!live.size && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
    this.updateBadge();
    this.refresh();
  }

  private updateBadge(): void {
    if (!this.view) return;
    const n = this.sessions.list().length;
    // set only when the count changes: each assignment redraws the activity bar's badge in the renderer
    if (n === this.badgeCount) return;
    this.badgeCount = n;
    this.view.badge = n ? { value: n, tooltip: `${n} running session${n === 1 ? '' : 's'}` } : undefined;
  }

  getChildren(node?: SessionsNode): SessionsNode[] {
    if (!node) {
      return this.sessions.list().map((s) => this.nodeFor(s.id)!);
    }
    if (node.type !== 'session') return [];
    const s = node.session;
    const out: SessionsNode[] = [];
    try {
      if (s.state === 'error') out.push(new InfoNode(node, s.error ?? 'failed', 'error', s.error));
      if (isTap(s)) {
        if (s.port) out.push(new InfoNode(node, `peers connect to ${s.listenEndpoint}`, 'info', `Point the connecting peer at ${s.listenEndpoint} instead of ${s.endpoint}.`));
        for (const c of s.connections) out.push(new ConnectionNode(node, c));
      }
      const counters = this.capture.session(s.id);
      if (s.endpoints.length > 1) for (const e of s.endpoints) out.push(new EndpointCountNode(node, e, counters?.endpoints.get(e)));
      if (counters && counters.topics.size) {
        const topics = [...counters.topics].sort((a, b) => b[1].messages - a[1].messages);
        for (const [topic, counter] of topics.slice(0, MAX_TOPIC_ROWS)) out.push(new TopicNode(node, topic, counter));
        if (topics.length > MAX_TOPIC_ROWS) {
          const rest = topics.slice(MAX_TOPIC_ROWS).reduce((n, [, c]) => n + c.messages, 0);
          out.push(new InfoNode(node, `${topics.length - MAX_TOPIC_ROWS} more topics (${formatCount(rest)} msgs)`, 'ellipsis'));
        }
      }
    } catch (e) {
      out.push(new InfoNode(node, `Could not read this session: ${(e as Error).message}`, 'error'));
    }
    return out;
  }

  getParent(node: SessionsNode): SessionsNode | undefined {
    return node.parent;
  }

  getTreeItem(node: SessionsNode): vscode.TreeItem {
    switch (node.type) {
      case 'session':
        return this.sessionItem(node);
      case 'topic': {
        const item = new vscode.TreeItem(node.topic === '' ? '(empty topic)' : node.topic, vscode.TreeItemCollapsibleState.None);
        item.id = `session:${node.parent.session.id}/topic:${node.topic}`;
        item.description = `${formatCount(node.counter.messages)} msgs · ${formatBytes(node.counter.bytes)}`;
        item.iconPath = new vscode.ThemeIcon('symbol-key');
        item.tooltip = `Topic ${node.topic}: ${formatCount(node.counter.messages)} messages, ${formatBytes(node.counter.bytes)}, last at ${new Date(node.counter.lastTs).toLocaleTimeString()}`;
        item.contextValue = 'zmq:topic';
        return item;
      }
      case 'endpointCount': {
        const item = new vscode.TreeItem(node.endpoint, vscode.TreeItemCollapsibleState.None);
        item.id = `session:${node.parent.session.id}/endpoint:${node.endpoint}`;
        item.description = `${formatCount(node.counter?.messages ?? 0)} msgs`;
        item.iconPath = new vscode.ThemeIcon('plug');
        item.contextValue = 'zmq:sessionEndpoint';
        return item;
      }
      case 'connection': {
        const c = node.info;
        const item = new vscode.TreeItem(`#${c.connection} ${c.peer}`, vscode.TreeItemCollapsibleState.None);
        item.id = `session:${node.parent.session.id}/connection:${c.connection}`;
        const types = `${c.clientSocketType ?? '?'} → ${c.targetSocketType ?? '?'}`;
        const latency = this.connectionLatency(node.parent.session.id, c.connection);
        item.description = `${types} · ${c.state} · ${formatCount(c.messagesToTarget)}→ ${formatCount(c.messagesFromTarget)}←${c.undecodable ? ' · undecodable' : ''}${latency ? ` · ${latencyBrief(latency)}` : ''}`;
        item.iconPath = new vscode.ThemeIcon(c.undecodable ? 'warning' : c.state === 'open' ? 'arrow-swap' : 'debug-disconnect');
        const md = new vscode.MarkdownString();
        md.appendMarkdown(`**Connection #${c.connection}** from ${escapeMd(c.peer)} (${c.state})  \n`);
        md.appendMarkdown(`Connecting peer: ${escapeMd(c.clientSocketType ?? 'unknown')}; target: ${escapeMd(c.targetSocketType ?? 'unknown')}  \n`);
        md.appendMarkdown(`To target: ${formatCount(c.messagesToTarget)} msgs, ${formatBytes(c.bytesToTarget)}  \n`);
        md.appendMarkdown(`From target: ${formatCount(c.messagesFromTarget)} msgs, ${formatBytes(c.bytesFromTarget)}`);
        if (c.undecodable) md.appendMarkdown(`  \nNot decoded (bytes still relayed): ${escapeMd(c.undecodable)}`);
        if (c.reason) md.appendMarkdown(`  \nClosed: ${escapeMd(c.reason)}`);
        if (latency) appendLatency(md, 'Request latency', latency);
        item.tooltip = md;
        item.contextValue = 'zmq:connection';
        return item;
      }
      case 'info': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.icon, node.icon === 'error' ? new vscode.ThemeColor('errorForeground') : undefined);
        if (node.detail) item.tooltip = node.detail;
        item.contextValue = `zmq:${node.icon}`;
        return item;
      }
    }
  }

  private sessionItem(node: SessionNode): vscode.TreeItem {
    const s = node.session;
    const c = this.capture.session(s.id);
    const tap = isTap(s) ? s : undefined;
    const details = spyDetailsOf(s);
    const item = new vscode.TreeItem(sessionTitle(s), this.hasChildren(s) ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `session:${s.id}`;
    item.description = sessionDescription({
      state: s.state,
      messages: c?.messages ?? 0,
      rate: c?.rate ?? 0,
      evicted: c?.evicted ?? 0,
      dropped: c?.dropped ?? 0,
      connections: tap?.connections.filter((x) => x.state !== 'closed').length,
      behind: details?.behind ?? false,
      retryAttempts: details?.retryAttempts,
    });
    item.iconPath = new vscode.ThemeIcon(stateIcon(s.state), s.state === 'error' ? new vscode.ThemeColor('errorForeground') : undefined);
    // a spy that cannot get through (not a ZeroMQ socket, no greeting in time, a refused handshake) says why on its row
    const problem = s.state !== 'error' ? details?.endpoints.find((e) => e.lastError !== undefined)?.lastError : undefined;
    if (problem) {
      item.description = `${item.description} · ${problem}`;
      item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
    }
    item.contextValue = `zmq:session:${s.state}`;
    // the tooltip comes from resolveTreeItem when the user hovers: a Markdown tooltip sent with the row costs its rendering to text in the workbench on every redraw
    return item;
  }

  /** Fills in a session row's tooltip when the user hovers it (VS Code asks only for what the item left undefined). */
  resolveTreeItem(item: vscode.TreeItem, node: SessionsNode): vscode.TreeItem {
    if (node.type === 'session' && item.tooltip === undefined) item.tooltip = this.sessionTooltip(node.session);
    return item;
  }

  private sessionTooltip(s: CaptureSession): vscode.MarkdownString {
    const c = this.capture.session(s.id);
    const tap = isTap(s) ? s : undefined;
    const details = spyDetailsOf(s);
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${escapeMd(s.label)}** (${escapeMd(s.id)})  \n`);
    md.appendMarkdown(`State: ${s.state}${s.error ? ` — ${escapeMd(s.error)}` : ''}  \n`);
    md.appendMarkdown(`Observes: ${s.endpoints.map(escapeMd).join(', ')}  \n`);
    if (tap?.port) md.appendMarkdown(`Listens on: ${escapeMd(tap.listenEndpoint)}  \n`);
    md.appendMarkdown(`Messages: ${formatCount(c?.messages ?? 0)} (${formatBytes(c?.bytes ?? 0)}), ${formatRate(c?.rate ?? 0)}  \n`);
    md.appendMarkdown(`Evicted from the capture: ${formatCount(c?.evicted ?? 0)}; dropped: ${formatCount(c?.dropped ?? 0)}; other records: ${formatCount(c?.others ?? 0)}`);
    if (details?.behind) md.appendMarkdown(`  \n**$(warning) ${escapeMd(BEHIND_TEXT)}**${details.behind.backlogBytes !== undefined ? ` (at least ${formatBytes(details.behind.backlogBytes)} waiting)` : ''}`);
    for (const e of details?.endpoints ?? []) {
      const how = `${e.path}${e.pathReason ? ` (${e.pathReason})` : ''}${e.zmtpVersion ? `, ZMTP ${e.zmtpVersion}` : ''}`;
      const retry = e.retry ? `; retrying since ${new Date(e.retry.since).toLocaleTimeString()}, ${formatCount(e.retry.attempts)} attempts` : '';
      md.appendMarkdown(`  \n${escapeMd(e.endpoint)}: ${escapeMd(how)}${escapeMd(retry)}${e.lastError ? ` — ${escapeMd(e.lastError)}` : ''}`);
    }
    if (tap) {
      const measured = tap.connections.flatMap((x) => {
        const l = this.connectionLatency(s.id, x.connection);
        return l ? [{ c: x, l }] : [];
      });
      measured.slice(0, MAX_LATENCY_ROWS).forEach(({ c: x, l }, i) => {
        const title = `Request latency #${x.connection} ${x.peer}`;
        if (i < MAX_LATENCY_HISTOGRAMS) appendLatency(md, title, l);
        else md.appendMarkdown(`  \n${escapeMd(title)}: ${escapeMd(latencySummary(l))}`);
      });
      if (measured.length > MAX_LATENCY_ROWS) md.appendMarkdown(`  \n…and ${measured.length - MAX_LATENCY_ROWS} more connections with round trips (their rows show them)`);
    }
    return md;
  }

  /** A tap connection's round trips, once it answered a request. */
  private connectionLatency(session: string, connection: number): LatencyStats | undefined {
    const l = this.latencyOf?.(`${session}#${connection}`);
    return l?.requests ? l : undefined;
  }

  dispose(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    for (const s of this.perSession.values()) s.dispose();
    this.perSession.clear();
    this.disposables.dispose();
  }
}

/** "Title: 60 requests, p50 …" and the histogram as a code block (text, monospaced). */
function appendLatency(md: vscode.MarkdownString, title: string, l: LatencyStats): void {
  md.appendMarkdown(`  \n${escapeMd(title)}: ${escapeMd(latencySummary(l))}`);
  const bars = latencyHistogramLines(l.histogram, 16);
  if (bars.length) md.appendCodeblock(bars.join('\n'), 'text');
}

/** Creates the Sessions view and registers everything for disposal. */
export function registerSessionsTree(context: vscode.ExtensionContext, deps: { capture: Capture; sessions: SessionManager }): SessionsTree {
  const tree = new SessionsTree(deps.capture, deps.sessions);
  const view = vscode.window.createTreeView('zmqDebugger.sessions', { treeDataProvider: tree, showCollapseAll: true });
  tree.attach(view);
  context.subscriptions.push(tree, view);
  return tree;
}

