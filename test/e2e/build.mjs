// Bundles the in-host test suite (test/e2e/host) into out/e2e/host/: index.js
// (the extensionTestsPath module) and one <name>.test.js per test file. `vscode`
// is provided by the host; mocha and zeromq load from the repo's node_modules.
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const hostDir = join(root, 'test/e2e/host');
const outdir = join(root, 'out/e2e/host');

const entryPoints = readdirSync(hostDir)
  .filter((f) => f === 'index.ts' || f.endsWith('.test.ts'))
  .map((f) => join(hostDir, f));

rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
  entryPoints,
  outdir,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  external: ['vscode', 'mocha', 'zeromq'],
  logLevel: 'warning',
});
console.log(`e2e host suite built: ${entryPoints.length} files → ${outdir.slice(root.length + 1)}/`);
