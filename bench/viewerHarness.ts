/**
 * Runs the real frames viewer webview bundle (dist/webview/framesViewer.js) in a
 * real Chromium (Debian's, driven by playwright-core) against the real host-side
 * controller in Node: a small local page stubs `acquireVsCodeApi`, the page's
 * posts reach the controller through Playwright's `exposeFunction`, and the
 * controller's posts arrive as `message` events, as in a VS Code webview.
 * Used by the viewer benchmark and by test/unit/framesViewerPage.test.ts.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { Capture } from '../src/core/capture/capture';
import { ControllerOptions, FramesViewController, ViewerHost } from '../src/viewers/framesViewController';
import type { FromHost } from '../src/shared/protocol/frames';

/** The page's window, as far as the harness uses it (Node's lib has no DOM types). */
interface Window {
  postMessage(message: unknown, targetOrigin: string): void;
}

export const ROOT = join(__dirname, '..');
export const CHROMIUM = process.env.ZMQ_TEST_CHROMIUM ?? '/usr/bin/chromium';
const BUNDLE = join(ROOT, 'dist', 'webview', 'framesViewer.js');
/** The stylesheets the extension's webview shell loads for this page, in its order. */
const CSS = ['webview.css', 'framesViewer.css'].map((name) => join(ROOT, 'media', name));

export interface ViewerPage {
  page: Page;
  controller: FramesViewController;
  /** Every message the controller posted, in order (when `record` was set). */
  posted: FromHost[];
  /** Text copied through the host's clipboard. */
  copied: string[];
  /** Uncaught errors and console errors of the page. */
  errors: string[];
  close(): Promise<void>;
}

let browser: Browser | undefined;

async function sharedBrowser(): Promise<Browser> {
  // loaded on first use: playwright-core is a large module, and a big heap makes
  // every full GC dearer for the benchmarks that run before this one (the tap's)
  const { chromium } = await import('playwright-core');
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  return browser;
}

/** Closes the browser the harness started (call once at the end). */
export async function closeViewerBrowser(): Promise<void> {
  await browser?.close();
  browser = undefined;
}

export async function openViewerPage(
  capture: Capture,
  options: ControllerOptions & { record?: boolean; host?: Partial<ViewerHost>; viewport?: { width: number; height: number }; strictCsp?: boolean } = {},
): Promise<ViewerPage> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing; run: npm run build`);
  const dir = mkdtempSync(join(tmpdir(), 'zmq-viewer-'));
  const htmlFile = join(dir, 'viewer.html');
  // strictCsp: the policy of src/extension/webviews/webviewHtml.ts (styles from files, scripts by nonce only);
  // a violation is a console error, so it lands in `errors`
  const nonce = 'bm9uY2UtZm9yLXRlc3Rz';
  const csp = options.strictCsp
    ? `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src file:; script-src 'nonce-${nonce}'; img-src file: data:; font-src file:">`
    : '';
  writeFileSync(
    htmlFile,
    `<!DOCTYPE html><html><head><meta charset="UTF-8">${csp}${CSS.map((css) => `<link rel="stylesheet" href="${pathToFileURL(css)}">`).join('')}</head>
<body><div id="app"></div><script${options.strictCsp ? ` nonce="${nonce}"` : ''} src="${pathToFileURL(BUNDLE)}"></script></body></html>`,
  );
  const b = await sharedBrowser();
  const context = await b.newContext({ viewport: options.viewport ?? { width: 1400, height: 800 } });
  const page = await context.newPage();
  const posted: FromHost[] = [];
  const copied: string[] = [];
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  let closed = false;
  const controller = new FramesViewController(
    capture,
    {
      post: (m) => {
        if (closed) return;
        if (options.record) posted.push(m);
        // host → webview: a `message` event carrying a structured clone, as VS Code delivers it
        page.evaluate((msg) => (globalThis as unknown as Window).postMessage(msg, '*'), m as unknown).catch(() => {});
      },
      copy: async (text) => {
        copied.push(text);
      },
      ...options.host,
    },
    options,
  );
  await page.exposeFunction('__zmqToHost', (m: unknown) => controller.handle(m));
  // a string, not a function: tsx/esbuild helpers do not exist in the page
  await page.addInitScript(`(() => {
    let state;
    window.acquireVsCodeApi = () => ({
      postMessage: (m) => window.__zmqToHost(m),
      getState: () => state,
      setState: (s) => { state = s; },
    });
  })();`);
  await page.goto(pathToFileURL(htmlFile).toString());
  return {
    page,
    controller,
    posted,
    copied,
    errors,
    async close() {
      closed = true;
      controller.dispose();
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
