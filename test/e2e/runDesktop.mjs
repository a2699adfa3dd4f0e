#!/usr/bin/env node
// Runs the same in-host suite (out/e2e/host/index.js) in desktop VS Code through
// @vscode/test-electron. For a desktop with internet: test-electron downloads a
// VS Code build from Microsoft's update servers (cached in .vscode-test/), which
// the offline CI machines cannot reach; they use test/e2e/runHost.mjs instead.
// Set ZMQ_TEST_VSCODE_EXECUTABLE to use an installed VS Code, VSCODE_VERSION to
// pick a version (default: the engines.vscode minimum, 1.100.0).
import { runTests } from '@vscode/test-electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

try {
  await runTests({
    extensionDevelopmentPath: ROOT,
    extensionTestsPath: join(ROOT, 'out', 'e2e', 'host', 'index.js'),
    version: process.env.VSCODE_VERSION ?? '1.100.0',
    ...(process.env.ZMQ_TEST_VSCODE_EXECUTABLE ? { vscodeExecutablePath: process.env.ZMQ_TEST_VSCODE_EXECUTABLE } : {}),
    launchArgs: [join(ROOT, 'test', 'e2e', 'workspace'), '--disable-extensions', '--disable-workspace-trust', '--skip-welcome'],
    extensionTestsEnv: process.env.ZMQ_E2E_GREP ? { ZMQ_E2E_GREP: process.env.ZMQ_E2E_GREP } : {},
  });
} catch (err) {
  console.error(`test:desktop failed: ${err instanceof Error ? err.message : String(err)}`);
  console.error('(needs internet to download VS Code, or ZMQ_TEST_VSCODE_EXECUTABLE; offline, use `npm test`)');
  process.exit(1);
}
