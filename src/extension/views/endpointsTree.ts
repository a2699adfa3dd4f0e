/**
 * The Endpoints view: endpoints grouped by where they come from — the setting
 * `zmqDebugger.endpoints`, endpoints added by command (kept per workspace), and
 * any number of extra sources registered with `registerSource` (the workspace
 * code discovery registers "Found in code"). Each endpoint shows what the code
 * does with it (binds/connects, socket type) when a source knows, the sessions
 * observing it, and its source locations as children (a click opens the line).
 *
 * Extension point for other features:
 *
 *   const source: EndpointSource = { id: 'code', label: 'Found in code', onDidChange, endpoints: () => [...] };
 *   context.subscriptions.push(endpointsTree.registerSource(source));
 *
 * Nodes keep a parent pointer (getParent works, so `reveal()` works); refreshes
 * are throttled and happen only while the view is visible.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseEndpoint } from '../../core/zmq/endpoint';
import type { SessionManager } from '../../core/sessions/sessionManager';
import type { Settings } from '../settings';
import { ThrottledRefresh } from './throttledRefresh';
import { endpointDescription, endpointUses, onShownSessionsChange } from './treeText';

/** Where an endpoint appears in source code. */
export interface EndpointLocation {
  uri: vscode.Uri;
  range: vscode.Range;
  /** What the code does with the endpoint on that line, when it can be seen. */
  role?: 'bind' | 'connect';
  /** The socket type at that line (PUB, SUB, ROUTER...), when it can be seen. */
  socketType?: string;
}

export interface DiscoveredEndpoint {
  /** The endpoint as written, e.g. `tcp://*:5556`; normalised for display and matching. */
  endpoint: string;
  role?: 'bind' | 'connect';
  socketType?: string;
  locations?: EndpointLocation[];
}

/** A provider of endpoints shown as one group of the Endpoints view. */
export interface EndpointSource {
  /** Stable id, used in tree item ids and in the item's contextValue `zmq:endpoint:<id>`. */
  readonly id: string;
  /** The group's label, e.g. "Found in code". */
  readonly label: string;
  readonly onDidChange: vscode.Event<void>;
  endpoints(): DiscoveredEndpoint[];
}

const ADDED_KEY = 'zmqDebugger.addedEndpoints';

/** Endpoints added with "ZeroMQ: Add Endpoint…", kept in the workspace's state. */
export class AddedEndpoints implements EndpointSource {
  readonly id = 'added';
  readonly label = 'Added';
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;

  constructor(private readonly memento: vscode.Memento) {}

  list(): string[] {
    const v = this.memento.get<unknown>(ADDED_KEY, []);
    return Array.isArray(v) ? v.filter((e): e is string => typeof e === 'string') : [];
  }

  endpoints(): DiscoveredEndpoint[] {
    return this.list().map((endpoint) => ({ endpoint }));
  }

  /** Adds a (valid, normalised) endpoint; false when it was there already. */
  async add(endpoint: string): Promise<boolean> {
    const list = this.list();
    if (list.includes(endpoint)) return false;
    await this.memento.update(ADDED_KEY, [...list, endpoint]);
    this.emitter.fire();
    return true;
  }

  async remove(endpoint: string): Promise<boolean> {
    const list = this.list();
    if (!list.includes(endpoint)) return false;
    await this.memento.update(ADDED_KEY, list.filter((e) => e !== endpoint));
    this.emitter.fire();
    return true;
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

/** The `zmqDebugger.endpoints` setting as a source. */
class SettingsEndpoints implements EndpointSource {
  readonly id = 'setting';
  readonly label = 'Settings';
  readonly onDidChange: vscode.Event<void>;

  constructor(private readonly settings: Settings) {
    this.onDidChange = (listener, thisArg, disposables) =>
      settings.onDidChange((e) => e.affectsConfiguration('zmqDebugger.endpoints') && listener.call(thisArg), undefined, disposables);
  }

  endpoints(): DiscoveredEndpoint[] {
    return this.settings.endpoints.map((endpoint) => ({ endpoint }));
  }
}

export type EndpointsNode = GroupNode | EndpointNode | LocationNode | MessageNode;

export class GroupNode {
  readonly type = 'group';
  constructor(readonly source: EndpointSource) {}
  readonly parent = undefined;
}

export class EndpointNode {
  readonly type = 'endpoint';
  constructor(
    readonly parent: GroupNode,
    /** Normalised endpoint text (or the raw text when it is invalid). */
    readonly endpoint: string,
    readonly entries: DiscoveredEndpoint[],
    /** Why the endpoint is invalid, when it is. */
    readonly invalid?: string,
  ) {}
  get source(): EndpointSource {
    return this.parent.source;
  }
  get locations(): EndpointLocation[] {
    return this.entries.flatMap((e) => e.locations ?? []);
  }
}

export class LocationNode {
  readonly type = 'location';
  constructor(
    readonly parent: EndpointNode,
    readonly location: EndpointLocation,
  ) {}
}

/** An error or note shown as a child instead of throwing from getChildren. */
export class MessageNode {
  readonly type = 'message';
  constructor(
    readonly parent: GroupNode | undefined,
    readonly text: string,
    readonly isError = true,
  ) {}
}

/** Normalises an endpoint for display and matching; returns the error when it is invalid. */
export function normaliseEndpoint(text: string): { endpoint: string; invalid?: string } {
  try {
    return { endpoint: parseEndpoint(text).text };
  } catch (e) {
    return { endpoint: text, invalid: (e as Error).message };
  }
}

export class EndpointsTree implements vscode.TreeDataProvider<EndpointsNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<EndpointsNode | undefined | void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly sources: EndpointSource[] = [];
  private readonly groups = new Map<string, GroupNode>();
  private readonly sourceSubscriptions = new Map<EndpointSource, vscode.Disposable>();
  private readonly disposables: vscode.Disposable[] = [];
  private view: vscode.TreeView<EndpointsNode> | undefined;
  private readonly refresher = new ThrottledRefresh(() => this.changeEmitter.fire(), { intervalMs: 250, isVisible: () => this.view?.visible ?? true });
  readonly added: AddedEndpoints;

  constructor(
    settings: Settings,
    memento: vscode.Memento,
    private readonly sessions: SessionManager,
  ) {
    this.added = new AddedEndpoints(memento);
    this.registerSource(new SettingsEndpoints(settings));
    this.registerSource(this.added);
    // not when only a spy's details changed (retries, backlog): nothing this view shows
    const onSessions = onShownSessionsChange(sessions, () => this.refresh());
    this.disposables.push(this.added, this.changeEmitter, this.refresher, toVsDisposable(onSessions));
  }

  /** Shows the endpoints of `source` as a group of the view, until disposed. */
  registerSource(source: EndpointSource): vscode.Disposable {
    if (this.sources.some((s) => s.id === source.id)) throw new Error(`an endpoint source with id '${source.id}' is already registered`);
    this.sources.push(source);
    this.groups.set(source.id, new GroupNode(source));
    this.sourceSubscriptions.set(source, source.onDidChange(() => this.refresh()));
    this.refresh();
    return new vscode.Disposable(() => {
      const i = this.sources.indexOf(source);
      if (i >= 0) this.sources.splice(i, 1);
      this.groups.delete(source.id);
      this.sourceSubscriptions.get(source)?.dispose();
      this.sourceSubscriptions.delete(source);
      this.refresh();
    });
  }

  /** Connects the view so refreshes happen only while it is visible. */
  attach(view: vscode.TreeView<EndpointsNode>): void {
    this.view = view;
    this.disposables.push(view.onDidChangeVisibility(() => this.refresher.visibilityChanged()));
  }

  refresh(): void {
    this.refresher.request();
  }

  /** Every valid endpoint of every source, once, with the ids of the sources that list it. */
  allEndpoints(): { endpoint: string; sources: string[] }[] {
    const seen = new Map<string, string[]>();
    for (const source of this.sources) {
      for (const e of safeEndpoints(source)) {
        const n = normaliseEndpoint(e.endpoint);
        if (n.invalid) continue;
        const list = seen.get(n.endpoint) ?? [];
        if (!list.includes(source.label)) list.push(source.label);
        seen.set(n.endpoint, list);
      }
    }
    return [...seen].map(([endpoint, sources]) => ({ endpoint, sources }));
  }

  getChildren(node?: EndpointsNode): EndpointsNode[] {
    if (!node) {
      return this.sources.map((s) => this.groups.get(s.id)!).filter((g) => safeEndpoints(g.source).length > 0 || sourceError(g.source));
    }
    switch (node.type) {
      case 'group': {
        let entries: DiscoveredEndpoint[];
        try {
          entries = node.source.endpoints();
        } catch (e) {
          return [new MessageNode(node, `Could not list endpoints: ${(e as Error).message}`)];
        }
        // one node per endpoint, merging what the source said about it
        const byEndpoint = new Map<string, { entries: DiscoveredEndpoint[]; invalid?: string }>();
        for (const entry of entries) {
          const n = normaliseEndpoint(entry.endpoint);
          const slot = byEndpoint.get(n.endpoint) ?? { entries: [], invalid: n.invalid };
          slot.entries.push(entry);
          byEndpoint.set(n.endpoint, slot);
        }
        return [...byEndpoint].map(([endpoint, slot]) => new EndpointNode(node, endpoint, slot.entries, slot.invalid));
      }
      case 'endpoint':
        return node.locations.map((l) => new LocationNode(node, l));
      default:
        return [];
    }
  }

  getParent(node: EndpointsNode): EndpointsNode | undefined {
    return node.parent;
  }

  getTreeItem(node: EndpointsNode): vscode.TreeItem {
    switch (node.type) {
      case 'group': {
        const item = new vscode.TreeItem(node.source.label, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `group:${node.source.id}`;
        item.contextValue = `zmq:group:${node.source.id}`;
        const n = safeEndpoints(node.source).length;
        item.description = `${n}`;
        return item;
      }
      case 'endpoint':
        return this.endpointItem(node);
      case 'location': {
        const l = node.location;
        const line = l.range.start.line + 1;
        const item = new vscode.TreeItem(`${path.basename(l.uri.fsPath || l.uri.path)}:${line}`, vscode.TreeItemCollapsibleState.None);
        item.id = `${node.parent.parent.source.id}:${node.parent.endpoint}:${l.uri.toString()}:${line}:${l.range.start.character}`;
        item.description = [l.role === 'bind' ? 'binds' : l.role === 'connect' ? 'connects' : '', l.socketType ?? ''].filter(Boolean).join(' ');
        item.tooltip = `${vscode.workspace.asRelativePath(l.uri)}:${line}`;
        item.resourceUri = l.uri;
        item.iconPath = new vscode.ThemeIcon('go-to-file');
        item.contextValue = 'zmq:location';
        item.command = { command: 'vscode.open', title: 'Open', arguments: [l.uri, { selection: l.range }] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.isError ? 'error' : 'info');
        item.contextValue = 'zmq:message';
        return item;
      }
    }
  }

  private endpointItem(node: EndpointNode): vscode.TreeItem {
    const locations = node.locations;
    const item = new vscode.TreeItem(
      node.endpoint,
      locations.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `${node.source.id}:${node.endpoint}`;
    if (node.invalid) {
      item.description = node.invalid;
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
      item.tooltip = new vscode.MarkdownString(`**${escapeMd(node.endpoint)}** is not a valid endpoint: ${escapeMd(node.invalid)}`);
      item.contextValue = `zmq:invalidEndpoint:${node.source.id}`;
      return item;
    }
    const uses = [...node.entries, ...locations].map((u) => ({ role: u.role, socketType: u.socketType }));
    const inCode = endpointUses(uses);
    const observing = this.sessions.list().filter((s) => s.endpoints.includes(node.endpoint) && s.state !== 'stopped');
    item.description = endpointDescription({ uses, sessions: observing.map((s) => s.id) });
    item.iconPath = new vscode.ThemeIcon(observing.length ? 'eye' : uses.some((u) => u.role === 'bind') ? 'radio-tower' : 'plug');
    item.contextValue = `zmq:endpoint:${node.source.id}${observing.length ? ':observed' : ''}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${escapeMd(node.endpoint)}**  \nFrom: ${escapeMd(node.source.label)}`);
    if (inCode) md.appendMarkdown(`  \nIn code: ${escapeMd(inCode)}`);
    for (const s of observing) md.appendMarkdown(`  \n$(eye) ${escapeMd(s.id)}: ${escapeMd(s.state)}`);
    if (locations.length) {
      md.appendMarkdown(`  \n${locations.length} location${locations.length === 1 ? '' : 's'}:`);
      for (const l of locations.slice(0, 10)) md.appendMarkdown(`  \n- ${escapeMd(vscode.workspace.asRelativePath(l.uri))}:${l.range.start.line + 1}`);
    }
    item.tooltip = md;
    return item;
  }

  dispose(): void {
    for (const d of this.sourceSubscriptions.values()) d.dispose();
    this.sourceSubscriptions.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function safeEndpoints(source: EndpointSource): DiscoveredEndpoint[] {
  try {
    return source.endpoints();
  } catch {
    return [];
  }
}

function sourceError(source: EndpointSource): boolean {
  try {
    source.endpoints();
    return false;
  } catch {
    return true;
  }
}

export function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>$]/g, '\\$&');
}

export function toVsDisposable(d: { dispose(): void }): vscode.Disposable {
  return new vscode.Disposable(() => d.dispose());
}

/** Creates the Endpoints view and registers everything for disposal. */
export function registerEndpointsTree(
  context: vscode.ExtensionContext,
  deps: { settings: Settings; sessions: SessionManager },
): EndpointsTree {
  const tree = new EndpointsTree(deps.settings, context.workspaceState, deps.sessions);
  const view = vscode.window.createTreeView('zmqDebugger.endpoints', { treeDataProvider: tree, showCollapseAll: true });
  tree.attach(view);
  context.subscriptions.push(tree, view);
  return tree;
}
