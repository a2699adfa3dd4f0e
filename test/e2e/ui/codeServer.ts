/**
 * Helpers for UI tests (tier 3): a real VS Code (code-server 4.100.3, VS Code
 * 1.100.3) with this extension installed, driven through headless Chromium with
 * playwright-core. Nothing is mocked: what the user would see is what is checked.
 *
 *   const vsc = await startCodeServer({ folder: WORKSPACE });   // server + browser
 *   await vsc.runCommand('ZeroMQ: Show Version');                // F1, type, Enter
 *   await vsc.waitForNotification(/libzmq 4\.3\.5/);            // a toast's text
 *   await vsc.openViewContainer('ZeroMQ');                        // activity bar
 *   const map = await vsc.mapFrame();                             // the topology map's document
 *   await vsc.screenshot('about');                                // test-results/about.png
 *   await vsc.stop();                                             // in afterEach: kills all
 *
 * `vsc.page` is the Playwright page for anything not covered here. Each instance
 * has its own port, user data, extensions dir and Chromium profile under a private
 * temp folder; stop() kills the whole process group, checks that no process that
 * mentions that folder survives (throws if one did), and removes the folder.
 * `stopAllCodeServers()` is a safety net for an afterEach/after hook.
 *
 * Needs: scripts/install-test-vscode.sh (run by `npm test`), `npm run build`
 * (dist/extension.js), /usr/bin/chromium.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { freePort } from '../../unit/helpers/peers';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Frame, type Locator, type Page } from 'playwright-core';

export const ROOT = join(__dirname, '..', '..', '..');
export const CODE_SERVER_VERSION = '4.100.3';
export const CODE_SERVER_DIR =
  process.env.ZMQ_TEST_CODE_SERVER_DIR ??
  join(ROOT, '.vscode-test', `code-server-${CODE_SERVER_VERSION}`, 'node_modules', 'code-server');
export const CHROMIUM = process.env.ZMQ_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const RESULTS_DIR = join(ROOT, 'test-results');
/** The workspace the e2e tests open; its settings list two endpoints. */
export const TEST_WORKSPACE = join(ROOT, 'test', 'e2e', 'workspace');

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  publisher: string;
  name: string;
  version: string;
  main?: string;
};
/** `publisher.name`, as VS Code identifies the extension. */
export const EXTENSION_ID = `${manifest.publisher}.${manifest.name}`;

export interface StartOptions {
  /** Folder to open in the workbench. */
  folder: string;
  /** Extra user settings. */
  settings?: Record<string, unknown>;
  /**
   * Open the folder in restricted mode (workspace trust on, the folder not
   * trusted, no startup prompt). By default trust is off: everything is trusted.
   */
  restricted?: boolean;
  /** Milliseconds to wait for the workbench to come up (default 60 s). */
  timeoutMs?: number;
  viewport?: { width: number; height: number };
  /**
   * A .vsix to install (`code-server --install-extension`) into this instance's
   * empty extensions dir, instead of linking the repository as the extension:
   * tests the packaged extension as users get it.
   */
  vsix?: string;
  /** Extra environment for code-server (and so the extension host it forks): bench hooks. */
  env?: Record<string, string>;
}

const running = new Set<CodeServer>();

/** Starts code-server with the extension installed, and opens the folder in Chromium. */
export async function startCodeServer(options: StartOptions): Promise<CodeServer> {
  const entry = join(CODE_SERVER_DIR, 'out', 'node', 'entry.js');
  for (const [what, path, fix] of [
    ['code-server', entry, 'bash scripts/install-test-vscode.sh'],
    ['Chromium', CHROMIUM, 'apt-get install chromium'],
    options.vsix
      ? ['the VSIX', options.vsix, 'npm run package']
      : ['the extension bundle', join(ROOT, manifest.main ?? 'dist/extension.js'), 'npm run build'],
  ] as const) {
    if (!existsSync(path)) throw new Error(`${what} not found at ${path}; run: ${fix}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'zmq-e2e-ui-'));
  const vsc = new CodeServer(dir, options.folder);
  running.add(vsc);
  try {
    await vsc.start(entry, options);
  } catch (err) {
    await vsc.stop().catch(() => {});
    throw err;
  }
  return vsc;
}

/**
 * The afterEach every UI suite registers: when the test failed, a screenshot of
 * each running instance (test-results/failed-<title>.png); then every instance
 * stopped, then `cleanup` (the suite's own peers).
 */
export function stopCodeServersAfterEach(cleanup?: () => Promise<unknown>): void {
  afterEach(async function () {
    const failed = this.currentTest?.state === 'failed' ? this.currentTest.title : undefined;
    if (failed) for (const v of running) await v.screenshot(`failed-${failed}`).catch(() => {});
    await stopAllCodeServers();
    await cleanup?.();
  });
}

/** Stops every instance still running (for an after/afterEach hook). */
export async function stopAllCodeServers(): Promise<void> {
  await Promise.all([...running].map((v) => v.stop()));
}

export class CodeServer {
  port = 0;
  url = '';
  page!: Page;
  private proc?: ChildProcess;
  private context?: BrowserContext;
  private log = '';
  private stopped = false;

  constructor(
    /** Private temp folder holding user data, extensions and the browser profile. */
    readonly dir: string,
    readonly folder: string,
  ) {}

  /** What code-server printed (the last 64 KB), for failure messages. */
  output(): string {
    return this.log;
  }

  async start(entry: string, options: StartOptions): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 60000;
    const userData = join(this.dir, 'user-data');
    const extensions = join(this.dir, 'extensions');
    mkdirSync(join(userData, 'User'), { recursive: true });
    mkdirSync(extensions, { recursive: true });
    writeFileSync(
      join(userData, 'User', 'settings.json'),
      JSON.stringify(
        {
          'security.workspace.trust.enabled': options.restricted === true,
          // restricted mode without the modal "Do you trust the authors?" prompt
          'security.workspace.trust.startupPrompt': 'never',
          'workbench.startupEditor': 'none',
          'workbench.tips.enabled': false,
          'extensions.autoCheckUpdates': false,
          'extensions.autoUpdate': false,
          // the test workspace lives inside this repo: no "open the parent repository?" toast
          'git.openRepositoryInParentFolders': 'never',
          ...options.settings,
        },
        null,
        2,
      ),
    );
    if (options.vsix) {
      await this.installVsix(entry, options.vsix, userData, extensions);
    } else {
      // installed the way VS Code lays out extensions: <extensions dir>/<publisher>.<name>-<version>
      symlinkSync(ROOT, join(extensions, `${EXTENSION_ID}-${manifest.version}`), 'dir');
    }

    this.port = await freePort();
    this.proc = spawn(
      process.execPath,
      [
        entry,
        '--auth', 'none',
        '--bind-addr', `127.0.0.1:${this.port}`,
        '--user-data-dir', userData,
        '--extensions-dir', extensions,
        '--disable-telemetry',
        '--disable-update-check',
        ...(options.restricted ? [] : ['--disable-workspace-trust']),
        this.folder,
      ],
      // own process group, so stop() reaches the VS Code server and extension host it forks
      { cwd: this.dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
    );
    const collect = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-65536);
    };
    this.proc.stdout!.on('data', collect);
    this.proc.stderr!.on('data', collect);
    const deadline = Date.now() + timeoutMs;
    while (!this.log.includes('HTTP server listening')) {
      if (this.proc.exitCode !== null) throw new Error(`code-server exited with ${this.proc.exitCode}:\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`code-server did not listen within ${timeoutMs} ms:\n${this.log}`);
      await sleep(100);
    }

    this.context = await chromium.launchPersistentContext(join(this.dir, 'chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: options.viewport ?? { width: 1400, height: 900 },
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run',
      ],
    });
    this.page = this.context.pages()[0] ?? (await this.context.newPage());
    this.url = `http://127.0.0.1:${this.port}/?folder=${encodeURI(this.folder)}`;
    await this.page.goto(this.url, { timeout: Math.max(1000, deadline - Date.now()) });
    await this.page.locator('.monaco-workbench').waitFor({ timeout: Math.max(1000, deadline - Date.now()) });
    // the activity bar is there once the workbench has restored its parts
    await this.page.locator('.activitybar').waitFor({ timeout: Math.max(1000, deadline - Date.now()) });
  }

  /** `code-server --install-extension VSIX`: unpacks it into the extensions dir (local file, no network). */
  private async installVsix(entry: string, vsix: string, userData: string, extensions: string): Promise<void> {
    const started = Date.now();
    const args = [entry, '--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', vsix];
    const proc = spawn(process.execPath, args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60000);
    const code = await new Promise<number | null>((r) => proc.once('exit', r));
    clearTimeout(timer);
    if (code !== 0 || !/successfully installed/i.test(out)) {
      throw new Error(`code-server --install-extension ${vsix} failed (exit ${code}):\n${out}`);
    }
    this.installMs = Date.now() - started;
  }

  /** Milliseconds `--install-extension` took, when started with a VSIX. */
  installMs = 0;

  /** Opens the command palette (F1, retried: it needs the keyboard focus inside the workbench) and returns its input. */
  async openPalette(): Promise<Locator> {
    const page = this.page;
    const input = page.locator('.quick-input-widget .quick-input-box input');
    for (let attempt = 0; ; attempt++) {
      await page.locator('.monaco-workbench').focus().catch(() => {});
      await page.keyboard.press('F1');
      try {
        await input.waitFor({ state: 'visible', timeout: 3000 });
        return input;
      } catch (err) {
        if (attempt >= 2) throw new Error(`the command palette did not open: ${String(err)}`);
      }
    }
  }

  /** Runs a command from the palette by its full title, e.g. "ZeroMQ: Show Version". */
  async runCommand(title: string, timeoutMs = 15000): Promise<void> {
    const page = this.page;
    const input = await this.openPalette();
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: title }).first();
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
    const label = (await row.getAttribute('aria-label')) ?? '';
    if (!label.includes(title)) {
      throw new Error(`palette row for "${title}" is "${label}"`);
    }
    await row.click();
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: timeoutMs });
  }

  /**
   * Runs an endpoint command from the palette ("ZeroMQ: Spy on Endpoint…"), picks
   * "Enter an endpoint…" in its endpoint list and types `endpoint`; the command's
   * next prompt, if it has one, is left open.
   */
  async runEndpointCommand(title: string, endpoint: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    const input = await this.openPalette();
    await input.fill(`>${title}`);
    await widget.locator('.monaco-list-row', { hasText: title }).first().click();
    await widget.locator('.monaco-list-row', { hasText: 'Enter an endpoint' }).first().click();
    await input.fill(endpoint);
    await this.page.keyboard.press('Enter');
  }

  /** Waits for a notification toast whose text matches, and returns it. */
  async waitForNotification(text: string | RegExp, timeoutMs = 15000): Promise<Locator> {
    const toast = this.page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
    await toast.waitFor({ state: 'visible', timeout: timeoutMs });
    return toast;
  }

  /** Opens a view container from the activity bar by its title ("ZeroMQ", "Explorer", ...). */
  async openViewContainer(title: string, timeoutMs = 15000): Promise<void> {
    const item = this.page.locator(`.activitybar .action-item a[aria-label^="${title}"]`).first();
    await item.waitFor({ state: 'visible', timeout: timeoutMs });
    const checked = await item.locator('xpath=..').getAttribute('aria-selected').catch(() => null);
    if (checked !== 'true') await item.click();
    await this.page
      .locator('.sidebar .composite.title', { hasText: new RegExp(title, 'i') })
      .first()
      .waitFor({ state: 'visible', timeout: timeoutMs });
  }

  /** The side-bar pane of a view by its name ("Endpoints"): header and body. */
  view(name: string): Locator {
    return this.page.locator('.sidebar .pane', { has: this.page.locator('.pane-header', { hasText: name }) }).first();
  }

  /** The topology map's own document inside the webview's nested iframes (once it draws its canvas). */
  async mapFrame(timeoutMs = 20000): Promise<Frame> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      for (const f of this.page.frames()) {
        if (await f.locator('#graph canvas').count().catch(() => 0)) return f;
      }
      await sleep(200);
    }
    throw new Error('the topology map webview did not render a canvas');
  }

  /** Saves a full-page PNG under test-results/ and returns its path. */
  async screenshot(name: string): Promise<string> {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const path = join(RESULTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path });
    return path;
  }

  /** Closes the browser and kills code-server with everything it started. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    running.delete(this);
    await this.context?.close().catch(() => {});
    const proc = this.proc;
    if (proc?.pid && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      signalGroup(proc.pid, 'SIGTERM');
      await Promise.race([exited, sleep(5000)]);
    }
    if (proc?.pid) signalGroup(proc.pid, 'SIGKILL');
    let left = processesMentioning(this.dir);
    for (let i = 0; left.length && i < 20; i++) {
      await sleep(250);
      left = processesMentioning(this.dir);
    }
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // ended meanwhile
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    if (left.length) throw new Error(`processes outlived code-server (killed): ${left.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

/** Processes whose command line mentions `marker`. */
export function processesMentioning(marker: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(marker)) found.push({ pid: Number(pid), cmd: cmd.replace(/\0/g, ' ').slice(0, 160) });
    } catch {
      // ended meanwhile
    }
  }
  return found;
}


function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
