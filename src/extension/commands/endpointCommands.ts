/**
 * Commands on endpoints: add, remove and copy them, and start a spy, a monitor
 * spy or a tap on one. Every handler also takes its inputs as arguments, so it
 * runs without prompts from tests and other commands, e.g.
 *   executeCommand('zmqDebugger.endpoint.add', 'tcp://127.0.0.1:5999')
 *   executeCommand('zmqDebugger.endpoint.spy', 'tcp://127.0.0.1:5556', ['10001'])  // → 'spy-1'
 *   executeCommand('zmqDebugger.endpoint.tap', 'tcp://127.0.0.1:5556', { listenPort: 6556 })
 */
import * as net from 'node:net';
import * as vscode from 'vscode';
import type { Capture } from '../../core/capture/capture';
import type { CaptureSession } from '../../core/sessions/session';
import type { SessionManager } from '../../core/sessions/sessionManager';
import { ZmtpTap } from '../../core/sessions/tap';
import { bracketHost, connectAddressFor, parseEndpoint, parseHostPort } from '../../core/zmq/endpoint';
import { parseTopic } from '../../core/zmq/topics';
import { Log, messageOf, UserError } from '../log';
import type { Settings } from '../settings';
import { EndpointNode, EndpointsTree, LocationNode } from '../views/endpointsTree';
import { isTap, SessionNode, SessionsTree } from '../views/sessionsTree';
import { parsePrefixes, splitTopics, validatePort } from '../views/treeText';
import type { CommandRegistry } from './registry';
import { runCommand } from './registry';

export interface EndpointCommandDeps {
  capture: Capture;
  sessions: SessionManager;
  endpoints: EndpointsTree;
  sessionsTree: SessionsTree;
  settings: Settings;
  log: Log;
}

export interface TapOptions {
  /** Port the tap listens on; without it the user is asked, with a free port proposed. */
  listenPort?: number;
}

/** Why an endpoint cannot be observed by a spy (invalid, inproc...), or undefined. */
export function observableEndpointError(text: string): string | undefined {
  try {
    connectAddressFor(text);
    return undefined;
  } catch (e) {
    return messageOf(e);
  }
}

/** A TCP port that was free on `host` a moment ago. */
export function proposeFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Why nothing can listen on host:port right now ("port 5556 in use"), or undefined when it can. */
export function portProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(`port ${port} in use`);
      else if (err.code === 'EACCES') resolve(`no permission to listen on port ${port}`);
      else if (err.code === 'EADDRNOTAVAIL') resolve(`cannot listen on ${host}: address not available`);
      else resolve(`cannot listen on ${host}:${port}: ${err.message}`);
    });
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}

export class EndpointCommands {
  constructor(private readonly deps: EndpointCommandDeps) {}

  register(registry: CommandRegistry): void {
    registry.register('zmqDebugger.endpoint.add', (a) => this.addEndpoint(a));
    registry.register('zmqDebugger.endpoint.remove', (a) => this.removeEndpoint(a));
    registry.register('zmqDebugger.endpoint.copy', (a) => this.copyEndpoint(a));
    registry.register('zmqDebugger.endpoint.spy', (a, b) => this.spy(a, b));
    registry.register('zmqDebugger.endpoint.monitor', (a, b) => this.monitor(a, b));
    registry.register('zmqDebugger.endpoint.tap', (a, b) => this.tap(a, b));
  }

  async addEndpoint(arg?: unknown): Promise<string | undefined> {
    let text = typeof arg === 'string' ? arg : undefined;
    if (text === undefined) {
      text = await vscode.window.showInputBox({
        title: 'ZeroMQ: Add Endpoint',
        prompt: 'An endpoint to observe, as the program binds or connects it',
        placeHolder: 'tcp://127.0.0.1:5556',
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim() ? observableEndpointError(v) : undefined),
      });
      if (!text?.trim()) return undefined;
    }
    const error = observableEndpointError(text);
    if (error) throw new UserError(error);
    const endpoint = parseEndpoint(text).text;
    const already = this.deps.endpoints.allEndpoints().find((e) => e.endpoint === endpoint);
    if (already) {
      void vscode.window.showInformationMessage(`${endpoint} is already listed (${already.sources.join(', ')}).`);
      return endpoint;
    }
    await this.deps.endpoints.added.add(endpoint);
    this.deps.log.info(`endpoint added: ${endpoint}`);
    return endpoint;
  }

  async removeEndpoint(arg?: unknown): Promise<boolean> {
    let endpoint = arg instanceof EndpointNode ? arg.endpoint : typeof arg === 'string' ? arg : undefined;
    if (endpoint === undefined) {
      const removable = [
        ...this.deps.endpoints.added.list().map((e) => ({ label: e, description: 'added' })),
        ...this.deps.settings.endpoints.map((e) => ({ label: e, description: 'setting zmqDebugger.endpoints' })),
      ];
      if (!removable.length) {
        void vscode.window.showInformationMessage('No endpoint to remove: endpoints found in code disappear when the code changes.');
        return false;
      }
      endpoint = (await vscode.window.showQuickPick(removable, { title: 'ZeroMQ: Remove Endpoint' }))?.label;
      if (!endpoint) return false;
    }
    // a row removes from its own group only; a typed or picked endpoint from both
    const group = arg instanceof EndpointNode ? arg.source.id : undefined;
    const fromAdded = group === undefined || group === 'added' ? await this.deps.endpoints.added.remove(endpoint) : false;
    let fromSettings = false;
    if (group === undefined || group === 'setting') {
      // the setting holds the text as written (e.g. with spaces or upper case): match that too
      const raw = arg instanceof EndpointNode ? arg.entries.map((e) => e.endpoint) : [endpoint];
      for (const r of new Set([endpoint, ...raw])) fromSettings = (await this.deps.settings.removeEndpoint(r)) || fromSettings;
    }
    if (!fromAdded && !fromSettings) throw new UserError(`${endpoint} is neither an added endpoint nor in the setting zmqDebugger.endpoints, so it cannot be removed.`);
    this.deps.log.info(`endpoint removed: ${endpoint}${fromSettings ? ' (from settings)' : ''}`);
    return true;
  }

  async copyEndpoint(arg?: unknown): Promise<string | undefined> {
    let text: string | undefined;
    if (arg instanceof EndpointNode) text = arg.endpoint;
    else if (arg instanceof LocationNode) text = arg.parent.endpoint;
    else if (arg instanceof SessionNode) text = isTap(arg.session) ? arg.session.listenEndpoint : arg.session.endpoints.join(' ');
    else if (typeof arg === 'string') text = arg;
    if (!text) return undefined;
    await vscode.env.clipboard.writeText(text);
    vscode.window.setStatusBarMessage(`Copied ${text}`, 3000);
    return text;
  }

  async spy(arg?: unknown, topicsArg?: unknown): Promise<string | undefined> {
    const endpoint = await this.endpointFrom(arg, 'ZeroMQ: Spy on Endpoint');
    if (!endpoint) return undefined;
    let topicTexts: string[];
    if (Array.isArray(topicsArg)) topicTexts = topicsArg.map(String);
    else {
      const answer = await vscode.window.showInputBox({
        title: `ZeroMQ: Spy on ${endpoint}`,
        prompt: 'Topic prefixes to subscribe to, separated by commas; empty for every message; hex:0aff for binary prefixes',
        placeHolder: 'every topic',
        ignoreFocusOut: true,
        validateInput: (v) => topicsError(v),
      });
      if (answer === undefined) return undefined;
      topicTexts = splitTopics(answer);
    }
    const error = topicsError(topicTexts.join(','));
    if (error) throw new UserError(error);
    const session = this.start(() => this.deps.sessions.startSpy({ endpoints: [endpoint], topics: topicTexts.map(parseTopic) }), endpoint);
    return session.id;
  }

  async monitor(arg?: unknown, options?: unknown): Promise<string | undefined> {
    const endpoint = await this.endpointFrom(arg, 'ZeroMQ: Monitor Endpoint');
    if (!endpoint) return undefined;
    let prefixes: { inPrefix: string; outPrefix: string };
    const o = options as { inPrefix?: unknown; outPrefix?: unknown } | undefined;
    if (o && typeof o.inPrefix === 'string' && typeof o.outPrefix === 'string') prefixes = parsePrefixes(`${o.inPrefix},${o.outPrefix}`);
    else {
      const answer = await vscode.window.showInputBox({
        title: `ZeroMQ: Monitor ${endpoint}`,
        prompt: "The monitor PUB's direction prefixes: in prefix, out prefix (pyzmq's monitored_queue uses in,out)",
        value: 'in,out',
        ignoreFocusOut: true,
        validateInput: (v) => {
          try {
            parsePrefixes(v);
            return undefined;
          } catch (e) {
            return messageOf(e);
          }
        },
      });
      if (answer === undefined) return undefined;
      prefixes = parsePrefixes(answer);
    }
    const session = this.start(() => this.deps.sessions.startMonitor({ endpoint, ...prefixes }), endpoint);
    return session.id;
  }

  async tap(arg?: unknown, options?: unknown): Promise<string | undefined> {
    if (!vscode.workspace.isTrusted) {
      const manage = 'Manage Workspace Trust';
      const picked = await vscode.window.showWarningMessage(
        'A tap listens for connections on a local port, so it needs a trusted workspace. Spying works in restricted mode.',
        manage,
      );
      if (picked === manage) await vscode.commands.executeCommand('workbench.trust.manage');
      return undefined;
    }
    const endpoint = await this.endpointFrom(arg, 'ZeroMQ: Tap Endpoint');
    if (!endpoint) return undefined;
    const ep = parseEndpoint(endpoint);
    if (ep.transport !== 'tcp') throw new UserError(`A tap relays TCP connections; ${endpoint} is not a tcp:// endpoint.`);
    const target = connectAddressFor(ep);
    const host = this.deps.settings.tapListenAddress;
    try {
      parseHostPort(`${bracketHost(host)}:1`);
    } catch (e) {
      throw new UserError(`The setting zmqDebugger.tap.listenAddress is not a valid address: ${messageOf(e)}`, [openSettingAction('zmqDebugger.tap.listenAddress')]);
    }
    let port = typeof (options as TapOptions | undefined)?.listenPort === 'number' ? (options as TapOptions).listenPort! : undefined;
    if (port === undefined) {
      const proposed = await proposeFreePort(host).catch(() => undefined);
      const answer = await vscode.window.showInputBox({
        title: `ZeroMQ: Tap ${endpoint}`,
        prompt: `Port the tap listens on (at ${host}); point the connecting peer at it instead of ${endpoint}`,
        value: proposed ? String(proposed) : '',
        ignoreFocusOut: true,
        validateInput: (v) => validatePort(v),
      });
      if (answer === undefined) return undefined;
      port = Number(answer.trim());
    }
    const portError = validatePort(String(port));
    if (portError) throw new UserError(portError);
    const chooseAnother = [{ title: 'Choose Another Port', run: () => runCommand('zmqDebugger.endpoint.tap', endpoint) }];
    // probe first, so a busy port costs no session id (tap-1, tap-2... stay dense); listen() still reports a race
    const busy = await portProblem(host, port);
    if (busy) throw new UserError(`Cannot start the tap for ${endpoint}: ${busy} — choose another port.`, chooseAnother);
    const tap = new ZmtpTap(
      { target, listen: `${bracketHost(host)}:${port}`, maxCapturedFrameBytes: this.deps.settings.maxCapturedFrameBytes, id: this.deps.sessions.nextId('tap') },
      this.deps.capture,
    );
    try {
      await tap.listen();
    } catch (e) {
      tap.dispose();
      throw new UserError(`Cannot start the tap for ${endpoint}: ${messageOf(e)} — choose another port.`, chooseAnother);
    }
    this.deps.sessions.add(tap);
    this.deps.log.info(`${tap.id} started: ${tap.label}`);
    this.revealSession(tap.id);
    const copy = 'Copy Address';
    void vscode.window
      .showInformationMessage(`Tap listening on ${tap.listenEndpoint} → ${tap.endpoint}. Point the connecting peer at ${tap.listenEndpoint}.`, copy)
      .then((picked) => {
        if (picked === copy) void vscode.env.clipboard.writeText(tap.listenEndpoint);
      });
    return tap.id;
  }

  // ── helpers ──────────────────────────────────────────────────────────────

  /** The endpoint a command acts on: from a tree node, a string, or picked by the user. */
  private async endpointFrom(arg: unknown, title: string): Promise<string | undefined> {
    let text: string | undefined;
    if (arg instanceof EndpointNode) text = arg.endpoint;
    else if (arg instanceof LocationNode) text = arg.parent.endpoint;
    else if (typeof arg === 'string') text = arg;
    if (text === undefined) text = await this.pickEndpoint(title);
    if (text === undefined) return undefined;
    const error = observableEndpointError(text);
    if (error) throw new UserError(error);
    return parseEndpoint(text).text;
  }

  private async pickEndpoint(title: string): Promise<string | undefined> {
    const other = '$(edit) Enter an endpoint…';
    const items: vscode.QuickPickItem[] = [
      ...this.deps.endpoints.allEndpoints().map((e) => ({ label: e.endpoint, description: e.sources.join(', ') })),
      { label: other, alwaysShow: true },
    ];
    const picked = items.length > 1 ? (await vscode.window.showQuickPick(items, { title, placeHolder: 'Endpoint to observe' }))?.label : other;
    if (picked !== other) return picked;
    const typed = await vscode.window.showInputBox({
      title,
      placeHolder: 'tcp://127.0.0.1:5556',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? observableEndpointError(v) : undefined),
    });
    return typed?.trim() ? typed : undefined;
  }

  /** Starts a session; a synchronous failure becomes a UserError naming the endpoint. */
  private start(start: () => CaptureSession, endpoint: string): CaptureSession {
    let session: CaptureSession;
    try {
      session = start();
    } catch (e) {
      throw new UserError(`Cannot observe ${endpoint}: ${messageOf(e)}`);
    }
    this.deps.log.info(`${session.id} started: ${session.label}`);
    this.revealSession(session.id);
    return session;
  }

  private revealSession(id: string): void {
    this.deps.sessionsTree.reveal(id);
  }
}

function topicsError(input: string): string | undefined {
  for (const t of splitTopics(input)) {
    try {
      parseTopic(t);
    } catch (e) {
      return messageOf(e);
    }
  }
  return undefined;
}

function openSettingAction(id: string) {
  return { title: 'Open Settings', run: () => vscode.commands.executeCommand('workbench.action.openSettings', id) };
}
