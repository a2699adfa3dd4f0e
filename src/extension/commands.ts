/**
 * The command handlers, one per command. Each is wrapped so that a failure
 * becomes an error notification (with actions that help) and a line in the
 * "ZeroMQ" log, never a silent rejection; a cancelled prompt is not a failure.
 *
 * Every handler also accepts its inputs as arguments, so it runs without prompts
 * from tests and other commands, e.g.
 *   executeCommand('zmqDebugger.endpoint.add', 'tcp://127.0.0.1:5999')
 *   executeCommand('zmqDebugger.endpoint.spy', 'tcp://127.0.0.1:5556', ['10001'])  // → 'spy-1'
 *   executeCommand('zmqDebugger.endpoint.tap', 'tcp://127.0.0.1:5556', { listenPort: 6556 })
 *   executeCommand('zmqDebugger.capture.export', '/tmp/capture.jsonl')
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Capture } from '../core/capture/capture';
import { bracketHost, connectAddressFor, parseEndpoint, parseHostPort } from '../core/zmq/endpoint';
import { FORMAT_VERSION, parseJsonLines, recordToLine, SummaryRecord, toJsonLines } from '../core/capture/exportFormat';
import type { CaptureRecord } from '../core/capture/records';
import type { CaptureSession } from '../core/sessions/session';
import type { SessionManager } from '../core/sessions/sessionManager';
import { ZmtpTap } from '../core/sessions/tap';
import { parseTopic } from '../core/zmq/topics';
import { EndpointNode, EndpointsTree, LocationNode } from './views/endpointsTree';
import { Log, messageOf, reportError, UserError } from './log';
import { SessionNode, SessionsTree, isTap } from './views/sessionsTree';
import type { Settings } from './settings';
import { formatCount } from '../shared/format';
import { parsePrefixes, splitTopics, validatePort } from './views/treeText';

export interface CommandDeps {
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

export interface ImportOutcome {
  records: number;
  errors: { line: number; message: string }[];
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

export class Commands {
  /** Sessions whose error was already shown, so one failure makes one notification. */
  private readonly reportedErrors = new Set<string>();

  constructor(private readonly deps: CommandDeps) {}

  // ── endpoints ────────────────────────────────────────────────────────────

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

  // ── sessions ─────────────────────────────────────────────────────────────

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
    const chooseAnother = [{ title: 'Choose Another Port', run: () => vscode.commands.executeCommand('zmqDebugger.endpoint.tap', endpoint) }];
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

  async stop(arg?: unknown): Promise<boolean> {
    let id = arg instanceof SessionNode ? arg.session.id : typeof arg === 'string' ? arg : undefined;
    if (id === undefined) {
      const items = this.deps.sessions.list().map((s) => ({ label: s.id, description: s.label, detail: s.state }));
      if (!items.length) {
        void vscode.window.showInformationMessage('No session is running.');
        return false;
      }
      id = (await vscode.window.showQuickPick(items, { title: 'ZeroMQ: Stop Session' }))?.label;
      if (!id) return false;
    }
    if (!this.deps.sessions.get(id)) throw new UserError(`No running session ${id}.`);
    await this.deps.sessions.stop(id);
    this.deps.log.info(`${id} stopped`);
    return true;
  }

  async stopAll(): Promise<number> {
    const n = this.deps.sessions.list().length;
    await this.deps.sessions.stopAll();
    if (n) this.deps.log.info(`stopped ${n} session${n === 1 ? '' : 's'}`);
    return n;
  }

  async openFrames(arg?: unknown): Promise<void> {
    const session = arg instanceof SessionNode ? arg.session.id : typeof arg === 'string' ? arg : undefined;
    const all = await vscode.commands.getCommands(true);
    if (!all.includes('zmqDebugger.frames.open')) throw new UserError('The frames viewer is not available in this build.');
    await vscode.commands.executeCommand('zmqDebugger.frames.open', session ? { session } : undefined);
  }

  // ── capture ──────────────────────────────────────────────────────────────

  async exportCapture(arg?: unknown): Promise<{ uri: string; records: number } | undefined> {
    const { capture, log } = this.deps;
    const stats = capture.stats();
    if (!stats.retained) {
      void vscode.window.showInformationMessage('The capture is empty: nothing to export.');
      return undefined;
    }
    let uri = uriFrom(arg);
    if (!uri) {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const name = `zmq-capture-${new Date().toISOString().replace(/[:T]/g, '-').replace(/\..*$/, '')}.jsonl`;
      uri = await vscode.window.showSaveDialog({
        title: 'Export Capture (JSON Lines)',
        defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
        filters: { 'JSON Lines': ['jsonl'], 'All files': ['*'] },
        saveLabel: 'Export',
      });
      if (!uri) return undefined;
    }
    // a snapshot: running sessions keep appending (and evicting) while the file is written
    const records = [...capture.records()];
    const where = uri.fsPath || uri.toString();
    const started = Date.now();
    try {
      await writeJsonLines(uri, records, stats);
    } catch (e) {
      throw new UserError(`Could not write ${where}: ${messageOf(e)}`);
    }
    log.info(`exported ${records.length} records to ${where} in ${Date.now() - started} ms (${stats.evicted} evicted, ${stats.dropped} dropped before the export)`);
    const note = stats.evicted ? ` (${formatCount(stats.evicted)} older records had been evicted and are not in it)` : '';
    void vscode.window.showInformationMessage(`Exported ${formatCount(records.length)} records to ${path.basename(where)}${note}.`);
    return { uri: uri.toString(), records: records.length };
  }

  async importCapture(arg?: unknown): Promise<ImportOutcome | undefined> {
    const { capture, log } = this.deps;
    let uri = uriFrom(arg);
    if (!uri) {
      const picked = await vscode.window.showOpenDialog({
        title: 'Import Capture (JSON Lines)',
        canSelectMany: false,
        filters: { 'JSON Lines': ['jsonl', 'json', 'txt'], 'All files': ['*'] },
        openLabel: 'Import',
      });
      uri = picked?.[0];
      if (!uri) return undefined;
    }
    const where = uri.fsPath || uri.toString();
    let text: string;
    try {
      text = Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
    } catch (e) {
      throw new UserError(`Could not read ${where}: ${messageOf(e)}`);
    }
    const result = parseJsonLines(text);
    for (const e of result.errors) log.warn(`import ${where} line ${e.line}: ${e.message}`);
    if (!result.records.length && result.errors.length) {
      throw new UserError(`No record could be read from ${path.basename(where)}: ${describeLineErrors(result.errors)}`);
    }
    // Imported records keep everything but their session, renamed so they never
    // mix with the counters of a live session that has the same id (spy-1...).
    const evictedBefore = capture.stats().evicted;
    for (const r of result.records) {
      r.session = `imported:${r.session ?? r.endpoint}`;
      capture.append(r);
    }
    const evicted = capture.stats().evicted - evictedBefore;
    const s = result.summary;
    let original = s && (s.evicted || s.dropped) ? ` The original capture had evicted ${formatCount(s.evicted)} and dropped ${formatCount(s.dropped)}.` : '';
    if (evicted) original += ` ${formatCount(evicted)} older records were evicted to stay within the capture limits (zmqDebugger.capture.*).`;
    log.info(`imported ${result.records.length} records from ${where}; ${result.errors.length} bad lines`);
    if (result.errors.length) {
      const showLog = 'Show Log';
      void vscode.window
        .showWarningMessage(
          `Imported ${formatCount(result.records.length)} records from ${path.basename(where)}; ${result.errors.length} line${result.errors.length === 1 ? '' : 's'} could not be read: ${describeLineErrors(result.errors)}.${original}`,
          showLog,
        )
        .then((p) => {
          if (p === showLog) log.show(true);
        });
    } else {
      void vscode.window.showInformationMessage(`Imported ${formatCount(result.records.length)} records from ${path.basename(where)}.${original}`);
    }
    return { records: result.records.length, errors: result.errors };
  }

  async clearCapture(confirmed?: unknown): Promise<boolean> {
    const { retained } = this.deps.capture.stats();
    if (retained && confirmed !== true) {
      const clear = 'Clear';
      const picked = await vscode.window.showWarningMessage(
        `Clear ${formatCount(retained)} captured records and every counter? Running sessions keep capturing.`,
        { modal: true },
        clear,
      );
      if (picked !== clear) return false;
    }
    this.deps.capture.clear();
    this.deps.log.info(`capture cleared (${retained} records)`);
    return true;
  }

  showLog(): void {
    this.deps.log.show();
  }

  async about(): Promise<string> {
    // zeromq is loaded lazily (on first use, not at activation) so that activation stays fast
    const { productVersion, libzmqVersion } = await import('../core/zmq/version');
    const text = `ZeroMQ Topology Debugger ${productVersion()} — libzmq ${libzmqVersion()}`;
    void vscode.window.showInformationMessage(text);
    return text;
  }

  /** Sessions that fail later (not at start) get one notification each. */
  watchSessionErrors(): vscode.Disposable {
    const check = () => {
      const live = new Set<string>();
      for (const s of this.deps.sessions.list()) {
        live.add(s.id);
        if (s.state !== 'error' || this.reportedErrors.has(s.id)) continue;
        this.reportedErrors.add(s.id);
        void reportError(this.deps.log, s.id, new UserError(`${s.label} failed: ${s.error ?? 'unknown error'}`, [{ title: 'Stop Session', run: () => this.deps.sessions.stop(s.id) }]));
      }
      for (const id of this.reportedErrors) if (!live.has(id)) this.reportedErrors.delete(id);
    };
    const d = this.deps.sessions.onDidChange(check);
    return new vscode.Disposable(() => d.dispose());
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

/**
 * Writes records as JSON Lines (the export format: one record per line, then the
 * summary) in chunks, so a large capture never becomes one giant string. Local
 * files stream through node:fs; other schemes go through workspace.fs.
 */
async function writeJsonLines(uri: vscode.Uri, records: CaptureRecord[], totals: { evicted: number; evictedBytes: number; dropped: number }): Promise<void> {
  const summary: SummaryRecord = { kind: 'summary', ts: Date.now(), format: FORMAT_VERSION, records: records.length, evicted: totals.evicted, evictedBytes: totals.evictedBytes, dropped: totals.dropped };
  if (uri.scheme !== 'file') {
    await vscode.workspace.fs.writeFile(uri, Buffer.from(toJsonLines(records, totals), 'utf8'));
    return;
  }
  const out = fs.createWriteStream(uri.fsPath);
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  const write = (text: string) => (out.write(text) ? Promise.resolve() : Promise.race([failed, new Promise<void>((r) => out.once('drain', () => r()))]));
  try {
    let chunk: string[] = [];
    let size = 0;
    for (const r of records) {
      const line = recordToLine(r);
      chunk.push(line);
      size += line.length;
      if (size >= 1 << 20) {
        await write(chunk.join('\n') + '\n');
        chunk = [];
        size = 0;
      }
    }
    chunk.push(JSON.stringify(summary));
    await write(chunk.join('\n') + '\n');
    await Promise.race([failed, new Promise<void>((r) => out.end(() => r()))]);
  } finally {
    out.destroy();
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

function describeLineErrors(errors: { line: number; message: string }[]): string {
  const shown = errors.slice(0, 3).map((e) => `line ${e.line}: ${e.message}`);
  return shown.join('; ') + (errors.length > 3 ? `; and ${errors.length - 3} more (see the log)` : '');
}

function uriFrom(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg) return path.isAbsolute(arg) ? vscode.Uri.file(arg) : vscode.Uri.parse(arg);
  return undefined;
}

function openSettingAction(id: string) {
  return { title: 'Open Settings', run: () => vscode.commands.executeCommand('workbench.action.openSettings', id) };
}

/** Registers every command with its wrapper; returns the handlers (for the API). */
export function registerCommands(context: vscode.ExtensionContext, deps: CommandDeps): Commands {
  const c = new Commands(deps);
  const handlers: Record<string, (...args: unknown[]) => unknown> = {
    'zmqDebugger.endpoint.add': (a) => c.addEndpoint(a),
    'zmqDebugger.endpoint.remove': (a) => c.removeEndpoint(a),
    'zmqDebugger.endpoint.copy': (a) => c.copyEndpoint(a),
    'zmqDebugger.endpoint.spy': (a, b) => c.spy(a, b),
    'zmqDebugger.endpoint.monitor': (a, b) => c.monitor(a, b),
    'zmqDebugger.endpoint.tap': (a, b) => c.tap(a, b),
    'zmqDebugger.session.stop': (a) => c.stop(a),
    'zmqDebugger.session.stopAll': () => c.stopAll(),
    'zmqDebugger.session.openFrames': (a) => c.openFrames(a),
    'zmqDebugger.capture.export': (a) => c.exportCapture(a),
    'zmqDebugger.capture.import': (a) => c.importCapture(a),
    'zmqDebugger.capture.clear': (a) => c.clearCapture(a),
    'zmqDebugger.log.show': () => c.showLog(),
    'zmqDebugger.about.show': () => c.about(),
  };
  for (const [id, handler] of Object.entries(handlers)) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await handler(...args);
        } catch (e) {
          void reportError(deps.log, id, e);
          return undefined;
        }
      }),
    );
  }
  context.subscriptions.push(c.watchSessionErrors());
  return c;
}
