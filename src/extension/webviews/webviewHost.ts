/**
 * The one way a webview panel is hosted. A WebviewHost owns at most one panel at
 * a time and everything tied to it: the panel's options and icon, the CSP shell
 * (webviewHtml), the subscriptions to its messages and visibility, the
 * serializer that revives it after a reload, and the ready handshake: a page
 * says `{ type: 'ready' }` when its script runs, and `post()` sends nothing
 * before that (a page that is not listening loses what it is sent).
 *
 * A panel is a small subclass: it says what to do when a panel is attached
 * (`attached`), when the page sends a message (`received`), when it is shown
 * or hidden, and when it goes away (`detached`).
 */
import * as vscode from 'vscode';
import { webviewHtml } from './webviewHtml';

export interface WebviewPage {
  viewType: string;
  title: string;
  /** The page's script in dist/webview/ and its stylesheet in media/. */
  bundle: string;
  stylesheet: string;
  /** Keep the page alive while hidden (the map keeps its layout); else it is rebuilt and asks again with `ready`. */
  retainContextWhenHidden: boolean;
}

export abstract class WebviewHost<State = unknown> implements vscode.Disposable {
  private currentPanel: vscode.WebviewPanel | undefined;
  private panelDisposables: vscode.Disposable[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private pageReady = false;

  constructor(
    protected readonly extensionUri: vscode.Uri,
    private readonly page: WebviewPage,
    protected readonly log?: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      vscode.window.registerWebviewPanelSerializer(page.viewType, {
        deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
          this.currentPanel?.dispose();
          this.attach(panel, state as State | undefined);
        },
      }),
    );
  }

  get panel(): vscode.WebviewPanel | undefined {
    return this.currentPanel;
  }

  /** True once the open page said `ready`; false again when it is rebuilt or closed. */
  get ready(): boolean {
    return this.pageReady;
  }

  /** Reveals the open panel, or opens a new one. */
  show(): vscode.WebviewPanel {
    if (this.currentPanel) {
      this.currentPanel.reveal();
      return this.currentPanel;
    }
    const panel = vscode.window.createWebviewPanel(this.page.viewType, this.page.title, vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: this.page.retainContextWhenHidden,
      localResourceRoots: this.resourceRoots(),
    });
    return this.attach(panel, undefined);
  }

  /** Posts to the page once it is ready; returns whether it was sent. */
  protected post(message: unknown): boolean {
    if (!this.currentPanel || !this.pageReady) return false;
    void this.currentPanel.webview.postMessage(message);
    return true;
  }

  /** Posts to the page whether or not it said `ready` (for pages whose controller does its own handshake). */
  protected postNow(message: unknown): void {
    if (this.currentPanel) void this.currentPanel.webview.postMessage(message);
  }

  protected abstract attached(panel: vscode.WebviewPanel, state: State | undefined): void;
  protected abstract received(message: unknown): void;
  protected visibilityChanged(_visible: boolean): void {}
  protected detached(): void {}

  private attach(panel: vscode.WebviewPanel, state: State | undefined): vscode.WebviewPanel {
    this.currentPanel = panel;
    this.pageReady = false;
    panel.webview.options = { enableScripts: true, localResourceRoots: this.resourceRoots() };
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'zeromq.svg');
    this.attached(panel, state);
    this.panelDisposables = [
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'ready') this.pageReady = true;
        this.received(m);
      }),
      panel.onDidChangeViewState((e) => this.visibilityChanged(e.webviewPanel.visible)),
      panel.onDidDispose(() => {
        for (const d of this.panelDisposables) d.dispose();
        this.panelDisposables = [];
        if (this.currentPanel === panel) {
          this.currentPanel = undefined;
          this.pageReady = false;
        }
        this.detached();
      }),
    ];
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, { bundle: this.page.bundle, stylesheet: this.page.stylesheet, title: this.page.title });
    return panel;
  }

  private resourceRoots(): vscode.Uri[] {
    return [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(this.extensionUri, 'media')];
  }

  dispose(): void {
    this.currentPanel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
