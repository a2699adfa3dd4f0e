/**
 * The frames viewer panel: dist/webview/framesViewer.js on the webview host,
 * adapted to the vscode-free controller (src/viewers/framesViewController.ts)
 * that does the querying and batching. One panel; reopening reveals it. After a
 * reload the serializer revives it with the filter the page saved.
 *
 *   executeCommand('zmqDebugger.frames.open')                      // open or reveal
 *   executeCommand('zmqDebugger.frames.open', { session: 'spy-1' }) // filtered to a session
 */
import * as vscode from 'vscode';
import type { Capture } from '../../core/capture/capture';
import type { ImportResult } from '../../core/capture/exportFormat';
import type { CaptureRecord } from '../../core/capture/records';
import type { SessionManager } from '../../core/sessions/sessionManager';
import { DecoderRuleSpec, DEFAULT_FILTER, FrameFilter, parseFilter } from '../../shared/protocol/frames';
import { behindOfSessions, FramesViewController } from '../../viewers/framesViewController';
import { EXPORT_FILTERS, writeCaptureFile } from '../commands/captureCommands';
import { runCommand, type CommandRegistry } from '../commands/registry';
import { WebviewHost } from './webviewHost';

export const FRAMES_VIEW_TYPE = 'zmqDebugger.frames';

export interface FramesPanelDeps {
  capture: Capture;
  sessions: SessionManager;
  log?: vscode.LogOutputChannel;
  /** The payload decoders to apply (the zmqDebugger.decoders setting, the Jupyter kernels found). */
  decoderRules?: () => DecoderRuleSpec[];
}

export class FramesPanel extends WebviewHost<{ filter?: unknown }> {
  private current: FramesViewController | undefined;
  private readonly importEmitter = new vscode.EventEmitter<{ name: string; records: readonly CaptureRecord[] }>();
  /** A file was imported into the viewer (the map and the doctor show it too, frozen in time). */
  readonly onDidImport = this.importEmitter.event;

  constructor(
    extensionUri: vscode.Uri,
    private readonly deps: FramesPanelDeps,
  ) {
    super(extensionUri, { viewType: FRAMES_VIEW_TYPE, title: 'ZeroMQ Frames', bundle: 'framesViewer.js', stylesheet: 'framesViewer.css', retainContextWhenHidden: false }, deps.log);
  }

  register(registry: CommandRegistry): void {
    registry.register('zmqDebugger.frames.open', (arg?: unknown) => {
      const field = (k: 'session' | 'process' | 'socket') =>
        typeof arg === 'object' && arg !== null && typeof (arg as Record<string, unknown>)[k] === 'string' ? ((arg as Record<string, string>)[k]) : undefined;
      this.open({ session: field('session'), process: field('process'), socket: field('socket') });
    });
  }

  /** The open panel's controller (tests read its query model and counters). */
  get controller(): FramesViewController | undefined {
    return this.current;
  }

  /** Opens (or reveals) the panel; `session` narrows the filter to one session, `process` (name or pid) and `socket` (`<pid>.<n>`) to agent records. */
  open(options: { session?: string; process?: string; socket?: string } = {}): vscode.WebviewPanel {
    const opened = !!this.panel;
    const narrow: Partial<FrameFilter> = {};
    if (options.session) narrow.session = options.session;
    if (options.process || options.socket) {
      narrow.process = options.process ?? '';
      narrow.socket = options.socket ?? '';
    }
    const any = Object.keys(narrow).length > 0;
    if (!opened && any) this.pendingFilter = { ...DEFAULT_FILTER, kinds: [...DEFAULT_FILTER.kinds], ...narrow };
    const panel = this.show();
    if (opened && any && this.current) this.current.setFilter({ ...this.current.filter, ...narrow });
    return panel;
  }

  private pendingFilter: FrameFilter | undefined;

  /** The decoder rules changed (setting edited, kernel found): the open viewer applies them at once. */
  applyDecoderRules(): void {
    const rules = this.deps.decoderRules?.();
    if (!rules || !this.current) return;
    for (const problem of this.current.setDecoderRules(rules)) this.log?.warn(`decoders: ${problem}`);
  }

  /** Opens the panel on an imported file: a capture of its own, apart from the live one. */
  showImported(name: string, result: ImportResult): void {
    this.show();
    this.current?.showImported(name, result);
    this.importEmitter.fire({ name, records: result.records });
  }

  override dispose(): void {
    super.dispose();
    this.importEmitter.dispose();
  }

  protected attached(panel: vscode.WebviewPanel, state: { filter?: unknown } | undefined): void {
    let filter = this.pendingFilter;
    this.pendingFilter = undefined;
    try {
      if (state && typeof state === 'object' && 'filter' in state) filter = parseFilter(state.filter);
    } catch (e) {
      this.log?.warn(`frames viewer: ignoring the saved filter (${(e as Error).message})`);
    }
    this.current?.dispose();
    this.current = new FramesViewController(
      this.deps.capture,
      {
        post: (m) => this.postNow(m),
        save: async (name, records, totals) => {
          const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
          const uri = await vscode.window.showSaveDialog({
            title: 'Export capture',
            defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
            filters: EXPORT_FILTERS,
          });
          if (!uri) return undefined;
          await writeCaptureFile(uri, records, totals);
          return uri.fsPath || uri.toString();
        },
        // the viewer's Import… is the command: one dialog and one reader for the export format, pcap and pcapng
        open: async () => {
          await runCommand('zmqDebugger.capture.import');
          return undefined;
        },
        copy: (text) => Promise.resolve(vscode.env.clipboard.writeText(text)),
        isTrusted: () => vscode.workspace.isTrusted,
        log: (line) => this.log?.info(line),
      },
      { filter, decoderRules: this.deps.decoderRules?.(), behind: behindOfSessions(this.deps.sessions) },
    );
    this.current.setVisible(panel.visible);
  }

  protected received(message: unknown): void {
    this.current?.handle(message);
  }

  protected override visibilityChanged(visible: boolean): void {
    this.current?.setVisible(visible);
  }

  protected override detached(): void {
    if (this.panel) return;
    this.current?.dispose();
    this.current = undefined;
  }
}
