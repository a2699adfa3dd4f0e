/**
 * The frames viewer panel: a WebviewPanel hosting dist/webview/framesViewer.js
 * under a strict CSP, adapted to the core controller (src/core/framesViewController.ts)
 * that does the querying and batching. One panel; reopening reveals it. A
 * serializer revives it after a reload with the filter the webview saved.
 *
 *   executeCommand('zmqDebugger.frames.open')                      // open or reveal
 *   executeCommand('zmqDebugger.frames.open', { session: 'spy-1' }) // filtered to a session
 */
import * as vscode from 'vscode';
import { webviewHtml } from './webviewHtml';
import type { Capture } from '../../core/capture/capture';
import { FramesViewController } from '../../viewers/framesViewController';
import type { SessionManager } from '../../core/sessions/sessionManager';
import { DEFAULT_FILTER, FrameFilter, parseFilter } from '../../shared/protocol/frames';

export const FRAMES_VIEW_TYPE = 'zmqDebugger.frames';

export interface FramesViewerDeps {
  capture: Capture;
  sessions: SessionManager;
  log?: vscode.LogOutputChannel;
}

export interface FramesViewer {
  /** Opens (or reveals) the panel; `session` narrows the filter to one session. */
  open(options?: { session?: string }): vscode.WebviewPanel;
  /** The open panel's controller (tests read its query model and counters). */
  readonly controller: FramesViewController | undefined;
  readonly panel: vscode.WebviewPanel | undefined;
}

export function registerFramesViewer(context: vscode.ExtensionContext, deps: FramesViewerDeps): FramesViewer {
  let current: { panel: vscode.WebviewPanel; controller: FramesViewController } | undefined;

  const roots = [vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(context.extensionUri, 'media')];

  const attach = (panel: vscode.WebviewPanel, filter?: FrameFilter) => {
    panel.webview.options = { enableScripts: true, localResourceRoots: roots };
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'zeromq.svg');
    const controller = new FramesViewController(
      deps.capture,
      {
        post: (m) => void panel.webview.postMessage(m),
        save: async (name, text) => {
          const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
          const uri = await vscode.window.showSaveDialog({
            title: 'Export capture',
            defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
            filters: { 'JSON Lines': ['jsonl'], 'All files': ['*'] },
          });
          if (!uri) return undefined;
          await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
          return uri.fsPath || uri.toString();
        },
        open: async () => {
          const picked = await vscode.window.showOpenDialog({
            title: 'Import capture',
            canSelectMany: false,
            filters: { 'JSON Lines': ['jsonl', 'json', 'txt'], 'All files': ['*'] },
          });
          if (!picked?.[0]) return undefined;
          const bytes = await vscode.workspace.fs.readFile(picked[0]);
          return { name: picked[0].path, text: Buffer.from(bytes).toString('utf8') };
        },
        copy: (text) => Promise.resolve(vscode.env.clipboard.writeText(text)),
        isTrusted: () => vscode.workspace.isTrusted,
        log: (line) => deps.log?.info(line),
      },
      { filter },
    );
    controller.setVisible(panel.visible);
    const subscriptions = [
      panel.webview.onDidReceiveMessage((m) => controller.handle(m)),
      panel.onDidChangeViewState((e) => controller.setVisible(e.webviewPanel.visible)),
    ];
    panel.webview.html = html(panel.webview, context.extensionUri);
    current = { panel, controller };
    panel.onDidDispose(() => {
      for (const s of subscriptions) s.dispose();
      controller.dispose();
      if (current?.panel === panel) current = undefined;
    });
    return panel;
  };

  const open = (options: { session?: string } = {}) => {
    const filter = options.session ? { ...DEFAULT_FILTER, kinds: [...DEFAULT_FILTER.kinds], session: options.session } : undefined;
    if (current) {
      current.panel.reveal();
      if (filter) current.controller.setFilter({ ...current.controller.filter, session: filter.session });
      return current.panel;
    }
    const panel = vscode.window.createWebviewPanel(FRAMES_VIEW_TYPE, 'ZeroMQ Frames', vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: roots,
    });
    return attach(panel, filter);
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('zmqDebugger.frames.open', (arg?: unknown) => {
      const session = typeof arg === 'object' && arg !== null && typeof (arg as { session?: unknown }).session === 'string' ? (arg as { session: string }).session : undefined;
      open({ session });
    }),
    vscode.window.registerWebviewPanelSerializer(FRAMES_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        let filter: FrameFilter | undefined;
        try {
          if (state && typeof state === 'object' && 'filter' in state) filter = parseFilter((state as { filter: unknown }).filter);
        } catch (e) {
          deps.log?.warn(`frames viewer: ignoring the saved filter (${(e as Error).message})`);
        }
        if (current) current.panel.dispose();
        attach(panel, filter);
      },
    }),
    { dispose: () => current?.panel.dispose() },
  );

  return {
    open,
    get controller() {
      return current?.controller;
    },
    get panel() {
      return current?.panel;
    },
  };
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewHtml(webview, extensionUri, { bundle: 'framesViewer.js', stylesheet: 'framesViewer.css', title: 'ZeroMQ Frames' });
}
