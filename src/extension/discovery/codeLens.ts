/**
 * In the editor: a CodeLens above every bind/connect line that carries an
 * endpoint ("Spy", "Monitor" or "Tap", as fits the socket type, plus the state
 * of the sessions already observing it), and a hover on the call with the
 * endpoint, what the code does with it and those sessions' states.
 *
 * The lines come from the open document's current text (unsaved edits
 * included), scanned by src/core/discovery; the workspace scan only adds which
 * addresses are monitor PUBs elsewhere in the code.
 */
import * as vscode from 'vscode';
import type { CommandId } from '../commands/commandIds';
import { commandLink } from '../commands/registry';
import { DISCOVERY_LANGUAGE_IDS, DiscoveredEndpoint, findEndpointsInText, ObserveAction, observeActionFor } from '../../core/discovery/discovery';
import { endpointKey } from '../../core/zmq/endpointIdentity';
import type { CaptureSession } from '../../core/sessions/session';
import type { SessionManager } from '../../core/sessions/sessionManager';
import type { WorkspaceDiscovery } from './workspaceDiscovery';

const COMMANDS: Record<ObserveAction, { id: CommandId; title: string; tooltip: string }> = {
  spy: { id: 'zmqDebugger.endpoint.spy', title: '$(eye) Spy', tooltip: 'Subscribe to this PUB endpoint with a spy socket and capture every message' },
  monitor: { id: 'zmqDebugger.endpoint.monitor', title: '$(eye) Monitor', tooltip: "Subscribe to this monitored queue's monitor PUB and capture both directions" },
  tap: { id: 'zmqDebugger.endpoint.tap', title: '$(debug-disconnect) Tap', tooltip: 'Put a decoding TCP relay in front of this endpoint (point the connecting peer at it)' },
};

/** Sessions observing the endpoint at `address` (the one endpoint identity: every name of this machine is one host), stopped ones left out. */
export function sessionsObserving(sessions: SessionManager, address: string): CaptureSession[] {
  const key = endpointKey(address);
  return sessions.list().filter((s) => s.state !== 'stopped' && s.endpoints.some((e) => endpointKey(e) === key));
}

/** The arguments each observe command takes from a lens: spies subscribe to everything without asking. */
function commandArguments(action: ObserveAction, address: string): unknown[] {
  return action === 'spy' ? [address, []] : [address];
}

export class DiscoveryLensProvider implements vscode.CodeLensProvider, vscode.HoverProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changeEmitter.event;
  private readonly cache = new Map<string, { version: number; hits: DiscoveredEndpoint[] }>();
  private readonly disposables: vscode.Disposable[] = [this.changeEmitter];

  constructor(
    private readonly discovery: WorkspaceDiscovery,
    private readonly sessions: SessionManager,
  ) {
    const refresh = () => this.changeEmitter.fire();
    const sub = sessions.onDidChange(refresh);
    this.disposables.push(
      new vscode.Disposable(() => sub.dispose()),
      discovery.onDidChange(refresh),
      vscode.workspace.onDidCloseTextDocument((d) => this.cache.delete(d.uri.toString())),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('zmqDebugger.codeLens') && refresh()),
    );
  }

  /** The hits of a document's current text (cached per version). */
  hitsFor(document: vscode.TextDocument): DiscoveredEndpoint[] {
    const key = document.uri.toString();
    const cached = this.cache.get(key);
    if (cached && cached.version === document.version) return cached.hits;
    let hits: DiscoveredEndpoint[] = [];
    // the same limit as the workspace scan: huge files are generated or data
    if (document.getText().length <= 1024 * 1024) hits = findEndpointsInText(document.getText(), document.languageId);
    this.cache.set(key, { version: document.version, hits });
    return hits;
  }

  private monitorAddresses(document: vscode.TextDocument): Set<string> {
    const set = new Set<string>();
    for (const h of this.hitsFor(document)) if (h.monitor && h.address) set.add(h.address);
    for (const f of this.discovery.results()) for (const h of f.hits) if (h.monitor && h.address) set.add(h.address);
    return set;
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!vscode.workspace.getConfiguration('zmqDebugger.codeLens').get<boolean>('enabled', true)) return [];
    const hits = this.hitsFor(document);
    if (!hits.length) return [];
    const monitors = this.monitorAddresses(document);
    const lenses: vscode.CodeLens[] = [];
    for (const hit of hits) {
      const action = observeActionFor(hit, monitors);
      if (!action || !hit.address) continue;
      const range = new vscode.Range(hit.line, hit.column, hit.line, hit.column);
      const cmd = COMMANDS[action];
      lenses.push(
        new vscode.CodeLens(range, {
          title: cmd.title,
          command: cmd.id,
          tooltip: `${cmd.tooltip}: ${hit.address}`,
          arguments: commandArguments(action, hit.address),
        }),
      );
      const observing = sessionsObserving(this.sessions, hit.address);
      if (observing.length) {
        lenses.push(
          new vscode.CodeLens(range, commandLink('zmqDebugger.session.openFrames', observing.map((s) => `${s.id}: ${s.state}`).join(' · '), [observing[0].id], 'Open the frames of this session')),
        );
      }
    }
    return lenses;
  }

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const hit = this.hitsFor(document).find((h) => new vscode.Range(h.line, h.column, h.endLine, h.endColumn).contains(position));
    if (!hit) return undefined;
    const md = new vscode.MarkdownString(undefined, true);
    const what = [hit.role === 'bind' ? 'binds' : 'connects', hit.socketType ? `a ${hit.socketType} socket` : 'a socket of unknown type'];
    md.appendMarkdown(`**ZeroMQ** — ${escape(hit.variable ?? 'the code')} ${what.join(' ')}${hit.monitor ? ' (monitored queue monitor)' : ''} to \`${hit.endpoint}\``);
    if (!hit.address) {
      md.appendMarkdown('  \ninproc:// endpoints are only reachable inside the same process: the debugger cannot observe them.');
      return new vscode.Hover(md);
    }
    if (hit.address !== hit.endpoint) md.appendMarkdown(`  \nObserved at \`${hit.address}\``);
    const observing = sessionsObserving(this.sessions, hit.address);
    if (observing.length) {
      for (const s of observing) md.appendMarkdown(`  \n$(eye) **${escape(s.id)}** ${escape(s.state)}${s.error ? ` — ${escape(s.error)}` : ''}`);
    } else {
      md.appendMarkdown('  \nNo session observes it.');
    }
    const elsewhere = this.discovery.locationsOf(hit.address).filter((l) => l.uri.toString() !== document.uri.toString() || l.hit.line !== hit.line);
    if (elsewhere.length) {
      const peers = elsewhere.slice(0, 5).map((l) => `${vscode.workspace.asRelativePath(l.uri)}:${l.hit.line + 1} ${l.hit.role}s${l.hit.socketType ? ` ${l.hit.socketType}` : ''}`);
      md.appendMarkdown(`  \nAlso in: ${peers.map(escape).join(', ')}${elsewhere.length > 5 ? ', …' : ''}`);
    }
    const action = observeActionFor(hit, this.monitorAddresses(document));
    if (action) {
      const cmd = COMMANDS[action];
      const args = encodeURIComponent(JSON.stringify(commandArguments(action, hit.address)));
      md.appendMarkdown(`  \n[${cmd.title}](command:${cmd.id}?${args} "${cmd.tooltip}")`);
      md.isTrusted = { enabledCommands: [cmd.id] };
    }
    return new vscode.Hover(md, new vscode.Range(hit.line, hit.column, hit.endLine, hit.endColumn));
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    this.cache.clear();
  }
}

function escape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>$]/g, '\\$&');
}

export function registerCodeLens(context: vscode.ExtensionContext, deps: { discovery: WorkspaceDiscovery; sessions: SessionManager }): DiscoveryLensProvider {
  const provider = new DiscoveryLensProvider(deps.discovery, deps.sessions);
  const selector = DISCOVERY_LANGUAGE_IDS.map((language) => ({ language }));
  context.subscriptions.push(
    provider,
    vscode.languages.registerCodeLensProvider(selector, provider),
    vscode.languages.registerHoverProvider(selector, provider),
  );
  return provider;
}
