#!/usr/bin/env node
// `npm run package`: builds dist-vsix/<name>-<version>.vsix with @vscode/vsce and
// prints its size. vsce runs the `vscode:prepublish` script (a minified build
// without source maps, `node esbuild.mjs --production`) and packs what
// .vscodeignore allows: the bundles, media, snippets, examples and the zeromq
// runtime with its prebuilt addons. `vsce package` never contacts the
// marketplace. Afterwards dist/ is rebuilt as the development build (with source
// maps) that the test tiers and `npm start` use; pass --keep-production to skip that.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { name, version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const out = join(ROOT, 'dist-vsix', `${name}-${version}.vsix`);
const keepProduction = process.argv.includes('--keep-production');

mkdirSync(dirname(out), { recursive: true });
const started = Date.now();
const vsce = join(ROOT, 'node_modules', '.bin', 'vsce');
try {
  // stdin closed: vsce asks y/N for a missing LICENSE or repository; in CI that must fail, not hang
  execFileSync(vsce, ['package', '--out', out], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
} finally {
  if (!keepProduction) {
    try {
      execFileSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'pipe' });
    } catch (err) {
      process.stderr.write(err.stderr ?? '');
      throw err;
    }
  }
}
const bytes = statSync(out).size;
console.log(
  `VSIX ${relative(ROOT, out)}: ${bytes} bytes (${(bytes / 1048576).toFixed(1)} MiB), packaged in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
