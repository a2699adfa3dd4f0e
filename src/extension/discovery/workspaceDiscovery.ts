/**
 * Endpoint discovery in the workspace's code: scans the files matched by
 * `zmqDebugger.discovery.include` (minus `.exclude`, minus files over 1 MB) with
 * the pure scanner of src/core/discovery, keeps the results per file, follows
 * file changes (debounced) and settings changes, and shows the results as the
 * "Found in code" group of the Endpoints view: endpoint → source locations.
 *
 * Read-only work: it runs in restricted (untrusted) workspaces too.
 */
import * as vscode from 'vscode';
import type { CommandRegistry } from '../commands/registry';
import { DiscoveredEndpoint, discoveryLanguage, findEndpointsInText } from '../../core/discovery/discovery';
import type { DiscoveredEndpoint as TreeEndpoint, EndpointLocation, EndpointSource, EndpointsTree } from '../views/endpointsTree';

export const DEFAULT_INCLUDE = '**/*.{py,pyw,js,mjs,cjs,jsx,ts,mts,cts,tsx,c,h,cc,cpp,cxx,hh,hpp,hxx,go,java,cs}';
export const DEFAULT_EXCLUDE = '**/{node_modules,.git,.hg,.svn,dist,out,build,target,bin,obj,vendor,.venv,venv,env,__pycache__,.tox,.vscode-test,site-packages}/**';
/** Files bigger than this are generated or data: never scanned. */
export const MAX_FILE_BYTES = 1024 * 1024;
const DEBOUNCE_MS = 300;
const READ_CONCURRENCY = 8;
/** Cheap pre-filter: a file without any of these words has no bind/connect call worth parsing. */
const MAYBE_ZMQ = /bind|connect|Bind|Connect|Socket\s*\(/;

export interface DiscoveredFile {
  uri: vscode.Uri;
  hits: DiscoveredEndpoint[];
}

export interface ScanStats {
  files: number;
  scanned: number;
  skippedLarge: number;
  endpoints: number;
  ms: number;
}

export class WorkspaceDiscovery implements EndpointSource, vscode.Disposable {
  readonly id = 'code';
  readonly label = 'Found in code';
  private readonly files = new Map<string, DiscoveredFile>();
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  /** Fires after a scan changed what is known. */
  readonly onDidChange = this.changeEmitter.event;
  private readonly disposables: vscode.Disposable[] = [this.changeEmitter];
  private watcher: vscode.FileSystemWatcher | undefined;
  private pending = new Map<string, vscode.Uri | undefined>(); // undefined: deleted
  private timer: NodeJS.Timeout | undefined;
  private generation = 0;
  private scanning: Promise<ScanStats> | undefined;
  /** The last full scan's numbers. */
  lastScan: ScanStats | undefined;
  /** Why the last scan failed, shown in the tree. */
  lastError: string | undefined;

  constructor() {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('zmqDebugger.discovery')) void this.rescan();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.rescan()),
    );
  }

  private get config() {
    const c = vscode.workspace.getConfiguration('zmqDebugger.discovery');
    return {
      enabled: c.get<boolean>('enabled', true),
      include: c.get<string>('include', DEFAULT_INCLUDE) || DEFAULT_INCLUDE,
      exclude: c.get<string>('exclude', DEFAULT_EXCLUDE),
      maxFiles: Math.max(1, c.get<number>('maxFiles', 5000)),
    };
  }

  /** Scans the whole workspace again (settings changed, folders changed, or on demand). Resolves when done. */
  rescan(): Promise<ScanStats> {
    const generation = ++this.generation;
    const run = this.scanAll(generation);
    this.scanning = run;
    return run;
  }

  /** Resolves once the scan in progress (or the last one) is done. */
  async ready(): Promise<ScanStats | undefined> {
    while (this.scanning) {
      const current = this.scanning;
      const stats = await current;
      if (this.scanning === current) return stats;
    }
    return this.lastScan;
  }

  private async scanAll(generation: number): Promise<ScanStats> {
    const started = Date.now();
    const { enabled, include, exclude, maxFiles } = this.config;
    this.setupWatcher(enabled ? include : undefined);
    const stats: ScanStats = { files: 0, scanned: 0, skippedLarge: 0, endpoints: 0, ms: 0 };
    const found = new Map<string, DiscoveredFile>();
    try {
      if (enabled && vscode.workspace.workspaceFolders?.length) {
        const uris = await vscode.workspace.findFiles(include, exclude || undefined, maxFiles);
        stats.files = uris.length;
        let next = 0;
        const worker = async () => {
          while (next < uris.length && generation === this.generation) {
            const uri = uris[next++];
            const result = await this.scanUri(uri);
            if (result === 'large') stats.skippedLarge++;
            else if (result) {
              stats.scanned++;
              if (result.hits.length) found.set(uri.toString(), result);
            } else stats.scanned++;
          }
        };
        await Promise.all(Array.from({ length: READ_CONCURRENCY }, worker));
      }
      this.lastError = undefined;
    } catch (e) {
      this.lastError = e instanceof Error ? e.message : String(e);
    }
    stats.ms = Date.now() - started;
    stats.endpoints = [...found.values()].reduce((n, f) => n + f.hits.length, 0);
    if (generation === this.generation) {
      this.files.clear();
      for (const [k, v] of found) this.files.set(k, v);
      this.lastScan = stats;
      this.changeEmitter.fire();
    }
    return stats;
  }

  /** Reads and scans one file; 'large' when over the size limit; undefined when unreadable or not code. */
  private async scanUri(uri: vscode.Uri): Promise<DiscoveredFile | 'large' | undefined> {
    const language = discoveryLanguage(uri.path);
    if (!language) return undefined;
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      if (stat.size > MAX_FILE_BYTES) return 'large';
      // an open editor's unsaved text wins over the file on disk
      const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      const text = open ? open.getText() : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      if (!MAYBE_ZMQ.test(text) || looksMinified(text)) return { uri, hits: [] };
      return { uri, hits: findEndpointsInText(text, language) };
    } catch {
      return undefined; // deleted meanwhile, or unreadable: nothing to show
    }
  }

  private setupWatcher(include: string | undefined): void {
    this.watcher?.dispose();
    this.watcher = undefined;
    if (!include) return;
    const w = vscode.workspace.createFileSystemWatcher(include);
    w.onDidCreate((uri) => this.queue(uri, uri));
    w.onDidChange((uri) => this.queue(uri, uri));
    w.onDidDelete((uri) => this.queue(uri, undefined));
    this.watcher = w;
  }

  private queue(key: vscode.Uri, uri: vscode.Uri | undefined): void {
    this.pending.set(key.toString(), uri);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), DEBOUNCE_MS);
  }

  /** Rescans the files that changed since the last flush. */
  private async flush(): Promise<void> {
    this.timer = undefined;
    const batch = [...this.pending];
    this.pending.clear();
    const { exclude } = this.config;
    let changed = false;
    for (const [key, uri] of batch) {
      const before = this.files.get(key);
      const after = uri && !isExcluded(uri, exclude) ? await this.scanUri(uri) : undefined;
      const hits = after && after !== 'large' ? after.hits : [];
      if (hits.length) this.files.set(key, { uri: uri!, hits });
      else this.files.delete(key);
      if (JSON.stringify(before?.hits ?? []) !== JSON.stringify(hits)) changed = true;
    }
    if (changed) this.changeEmitter.fire();
  }

  /** Everything found, per file, sorted by path. */
  results(): DiscoveredFile[] {
    return [...this.files.values()].sort((a, b) => a.uri.toString().localeCompare(b.uri.toString()));
  }

  /** The hits of one file as last scanned. */
  resultsFor(uri: vscode.Uri): DiscoveredEndpoint[] {
    return this.files.get(uri.toString())?.hits ?? [];
  }

  /** Every hit whose observable address is `address`, with its file. */
  locationsOf(address: string): { uri: vscode.Uri; hit: DiscoveredEndpoint }[] {
    const out: { uri: vscode.Uri; hit: DiscoveredEndpoint }[] = [];
    for (const f of this.results()) for (const hit of f.hits) if ((hit.address ?? hit.endpoint) === address) out.push({ uri: f.uri, hit });
    return out;
  }

  /** EndpointSource for the Endpoints view: one entry per observable address, its locations as children. */
  endpoints(): TreeEndpoint[] {
    if (this.lastError) throw new Error(this.lastError);
    const byAddress = new Map<string, TreeEndpoint & { locations: EndpointLocation[] }>();
    for (const f of this.results()) {
      for (const hit of f.hits) {
        const key = hit.address ?? hit.endpoint;
        const entry = byAddress.get(key) ?? { endpoint: key, locations: [] };
        entry.locations.push({
          uri: f.uri,
          range: new vscode.Range(hit.line, hit.column, hit.endLine, hit.endColumn),
          role: hit.role,
          socketType: hit.socketType,
        });
        // the binder's view of the endpoint names it best
        if (hit.role === 'bind' || !entry.role) {
          entry.role = hit.role;
          entry.socketType = hit.socketType ?? entry.socketType;
        }
        byAddress.set(key, entry);
      }
    }
    return [...byAddress.values()].sort((a, b) => a.endpoint.localeCompare(b.endpoint));
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.generation++;
    this.watcher?.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** Bundled/minified code (very long lines) is generated: its endpoints, if any, are in its sources. */
function looksMinified(text: string): boolean {
  if (text.length < 20000) return false;
  let lines = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  return text.length / lines > 500;
}

/** A small glob check for the exclude setting on watcher events (findFiles applies it for full scans). */
function isExcluded(uri: vscode.Uri, exclude: string): boolean {
  if (!exclude) return false;
  const rel = vscode.workspace.asRelativePath(uri, false);
  return globToRegExp(exclude).test(rel);
}

/** `**`, `*`, `?` and `{a,b}` globs as a RegExp over a relative path. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') re += '(?:';
    else if (c === '}') re += ')';
    else if (c === ',') re += '|';
    else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Creates the discovery, shows it in the Endpoints view, registers the CodeLens
 * and hover providers, and starts the first scan (in the background: activation
 * stays fast).
 */
export function registerDiscovery(
  context: vscode.ExtensionContext,
  deps: { endpoints: EndpointsTree },
  registry: CommandRegistry,
): WorkspaceDiscovery {
  const discovery = new WorkspaceDiscovery();
  context.subscriptions.push(
    discovery,
    deps.endpoints.registerSource(discovery),
  );
  registry.register('zmqDebugger.discovery.rescan', async () => {
    const stats = await discovery.rescan();
    vscode.window.setStatusBarMessage(`ZeroMQ: ${stats.endpoints} endpoint(s) found in ${stats.scanned} file(s) in ${stats.ms} ms`, 5000);
    return stats;
  });
  void discovery.rescan();
  return discovery;
}
