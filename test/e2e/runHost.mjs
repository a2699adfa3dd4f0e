#!/usr/bin/env node
// Tier 2 launcher: runs the bundled in-host suite (out/e2e/host/index.js, built by
// test/e2e/build.mjs) inside a real VS Code extension host, offline. It starts the
// bare VS Code server shipped in code-server (scripts/install-test-vscode.sh),
// opens the workbench in headless Chromium with extensionDevelopmentPath and
// extensionTestsPath in the `payload` query parameter (as VS Code's own browser
// integration tests do), streams the suite's output, and exits 0 only when the
// suite reported passes and no failures. Everything it starts is killed at the end
// and checked for: a process left behind fails the run.
//
// Usage: node test/e2e/runHost.mjs [--timeout SECONDS] [--grep PATTERN] [--keep]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CODE_SERVER_VERSION = '4.100.3';
const VSCODE_DIR =
  process.env.ZMQ_TEST_VSCODE_DIR ??
  join(ROOT, '.vscode-test', `code-server-${CODE_SERVER_VERSION}`, 'node_modules', 'code-server', 'lib', 'vscode');
const CHROMIUM = process.env.ZMQ_TEST_CHROMIUM ?? '/usr/bin/chromium';
const TESTS = join(ROOT, 'out', 'e2e', 'host', 'index.js');
const WORKSPACE = join(ROOT, 'test', 'e2e', 'workspace');
const RESULTS_DIR = join(ROOT, 'test-results');

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const timeoutMs = Number(opt('--timeout', process.env.ZMQ_E2E_TIMEOUT ?? '240')) * 1000;
const grep = opt('--grep', undefined);
const keep = args.includes('--keep');

function say(line) {
  process.stdout.write(`[runHost] ${line}\n`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** PIDs of processes whose command line mentions `marker` (our private temp dir). */
function processesMentioning(marker) {
  const found = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(marker)) found.push({ pid: Number(pid), cmd: cmd.replace(/\0/g, ' ').slice(0, 160) });
    } catch {
      // the process ended meanwhile
    }
  }
  return found;
}

async function main() {
  for (const [what, path, fix] of [
    ['VS Code server', join(VSCODE_DIR, 'out', 'server-main.js'), 'bash scripts/install-test-vscode.sh'],
    ['Chromium', CHROMIUM, 'apt-get install chromium'],
    ['compiled suite', TESTS, 'node test/e2e/build.mjs'],
    ['extension bundle', join(ROOT, 'dist', 'extension.js'), 'npm run build'],
  ]) {
    if (!existsSync(path)) throw new Error(`${what} not found at ${path}; run: ${fix}`);
  }

  const tmp = mkdtempSync(join(tmpdir(), 'zmq-e2e-host-'));
  const serverData = join(tmp, 'server-data');
  const extensionsDir = join(tmp, 'extensions');
  const logFile = join(tmp, 'mocha.log');
  const resultsFile = join(tmp, 'results.json');
  // trust is application-scoped: set it where the server keeps user and machine settings
  for (const scope of ['User', 'Machine']) {
    mkdirSync(join(serverData, 'data', scope), { recursive: true });
    writeFileSync(
      join(serverData, 'data', scope, 'settings.json'),
      JSON.stringify(
        {
          'security.workspace.trust.enabled': false,
          'workbench.startupEditor': 'none',
          'extensions.autoCheckUpdates': false,
          'git.openRepositoryInParentFolders': 'never',
        },
        null,
        2,
      ),
    );
  }
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(logFile, '');

  const port = await freePort();
  const started = Date.now();
  let server;
  let browser;
  let printed = 0;
  const serverOutput = [];
  const browserErrors = [];

  const flushLog = () => {
    const text = readFileSync(logFile, 'utf8');
    if (text.length > printed) {
      process.stdout.write(text.slice(printed));
      printed = text.length;
    }
  };

  const cleanup = async () => {
    if (browser) await browser.close().catch(() => {});
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      // the server leads its own process group: extension host and pty host go with it
      try { process.kill(-server.pid, 'SIGTERM'); } catch { /* already gone */ }
      await Promise.race([exited, sleep(5000)]);
      try { process.kill(-server.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    // no orphans: anything still mentioning our private dir is a leak
    let left = processesMentioning(tmp);
    for (let i = 0; left.length && i < 20; i++) {
      await sleep(250);
      left = processesMentioning(tmp);
    }
    for (const p of left) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    if (!keep) rmSync(tmp, { recursive: true, force: true });
    return left;
  };

  let outcome;
  try {
    server = spawn(
      process.execPath,
      [
        join(VSCODE_DIR, 'out', 'server-main.js'),
        '--host', '127.0.0.1',
        '--port', String(port),
        '--without-connection-token',
        '--accept-server-license-terms',
        '--disable-workspace-trust',
        '--disable-telemetry',
        '--server-data-dir', serverData,
        '--extensions-dir', extensionsDir,
      ],
      {
        cwd: tmp,
        detached: true, // own process group, so cleanup reaches its children
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ZMQ_E2E_LOG: logFile, ZMQ_E2E_RESULTS: resultsFile, ...(grep ? { ZMQ_E2E_GREP: grep } : {}) },
      },
    );
    const collect = (d) => {
      serverOutput.push(String(d));
      if (serverOutput.length > 400) serverOutput.shift();
    };
    server.stdout.on('data', collect);
    server.stderr.on('data', collect);

    const deadline = started + timeoutMs;
    const overdue = () => Date.now() > deadline;
    while (!serverOutput.join('').includes(`listening on ${port}`) && !overdue()) {
      if (server.exitCode !== null) throw new Error(`VS Code server exited with ${server.exitCode}:\n${serverOutput.join('')}`);
      await sleep(100);
    }
    if (overdue()) throw new Error('timed out waiting for the VS Code server to listen');
    say(`VS Code server on 127.0.0.1:${port} after ${Date.now() - started} ms`);

    const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
    const payload = [
      ['extensionDevelopmentPath', remote(ROOT)],
      ['extensionTestsPath', remote(TESTS)],
      ['skipWelcome', 'true'],
    ];
    const url = `http://127.0.0.1:${port}/?folder=${encodeURI(WORKSPACE)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;

    // a profile inside our private dir, so the orphan check also sees Chromium's processes
    browser = await chromium.launchPersistentContext(join(tmp, 'chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run',
      ],
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    // offline noise (no gallery, no service worker, no web manifest) is not worth showing
    const noise = /status of 404|Manifest fetch|ServiceWorker|ERR_NAME_NOT_RESOLVED|ENOTFOUND|fetching the script|test\(s\) failed/;
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !noise.test(msg.text())) browserErrors.push(msg.text());
    });
    page.on('pageerror', (err) => browserErrors.push(String(err)));
    await page.goto(url, { timeout: Math.max(1000, deadline - Date.now()) });
    say(`workbench opened; running ${TESTS.slice(ROOT.length + 1)} in the extension host`);

    let hostExitedAt = 0;
    while (!existsSync(resultsFile) && !overdue()) {
      flushLog();
      if (server.exitCode !== null) throw new Error(`VS Code server exited early with ${server.exitCode}`);
      // an extension host that dies without reporting (crash, process.exit) fails the run at once
      if (!hostExitedAt && serverOutput.join('').includes('Extension Host Process exited')) hostExitedAt = Date.now();
      if (hostExitedAt && Date.now() - hostExitedAt > 2000) {
        throw new Error('the extension host exited without reporting results (see the server output below)');
      }
      await sleep(200);
    }
    flushLog();
    if (!existsSync(resultsFile)) {
      mkdirSync(RESULTS_DIR, { recursive: true });
      await page.screenshot({ path: join(RESULTS_DIR, 'host-timeout.png') }).catch(() => {});
      throw new Error(
        `timed out after ${timeoutMs / 1000} s without results from the extension host` +
          ` (screenshot: test-results/host-timeout.png)`,
      );
    }
    outcome = JSON.parse(readFileSync(resultsFile, 'utf8'));
  } catch (err) {
    flushLog();
    say(`error: ${err instanceof Error ? err.message : String(err)}`);
    outcome = undefined;
  }

  const failedRun = !outcome || outcome.failures > 0 || outcome.passes === 0;
  if (failedRun) {
    if (browserErrors.length) say(`browser console errors:\n  ${browserErrors.slice(-20).join('\n  ')}`);
    const serverLog = serverOutput.join('').trim();
    if (serverLog) say(`VS Code server output (last lines):\n${serverLog.split('\n').slice(-40).join('\n')}`);
  }
  const left = await cleanup();
  if (left.length) say(`left-over processes killed (a leak): ${left.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (outcome) say(`${outcome.passes} passed, ${outcome.failures} failed, ${outcome.pending} pending in ${secs} s`);
  process.exitCode = failedRun || left.length ? 1 : 0;
}

process.on('SIGINT', () => process.exit(130));
main().catch((err) => {
  say(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
