// Builds three bundles: the extension host (Node, CommonJS), the zmq-debug CLI
// (Node) and the webview pages (browser). `vscode` and `zeromq` stay external:
// `vscode` is provided by the host and `zeromq` loads its native addon by a path
// relative to its own package, so it must ship as a package, not inside a bundle.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
};

const nodeTargets = [
  { entryPoints: { extension: 'src/extension/extension.ts' }, external: ['vscode', 'zeromq'] },
  { entryPoints: { cli: 'src/cli/main.ts' }, external: ['zeromq'], banner: { js: '#!/usr/bin/env node' } },
].map((t) => ({ ...common, ...t, platform: 'node', format: 'cjs', target: 'node20', outdir: 'dist' }));

const webviewEntries = Object.fromEntries(
  ['framesViewer', 'topologyMap']
    .filter((name) => existsSync(`src/webview/${name}.ts`))
    .map((name) => [name, `src/webview/${name}.ts`]),
);
const browserTargets = Object.keys(webviewEntries).length
  ? [{ ...common, entryPoints: webviewEntries, platform: 'browser', format: 'iife', target: 'es2022', outdir: 'dist/webview' }]
  : [];

// The agents are plain files loaded into programs (PYTHONPATH, NODE_OPTIONS), shipped beside the bundles.
cpSync('src/core/agents', 'dist/agents', { recursive: true, filter: (src) => !src.endsWith('__pycache__') }); // Python's caches stay out
// The native agent (LD_PRELOAD) compiled for linux-x64 and linux-arm64 into dist/native (a missing compiler is skipped)
if (process.platform === 'linux') execFileSync('bash', ['scripts/build-native.sh'], { stdio: 'inherit' });

const all = [...nodeTargets, ...browserTargets];
if (watch) {
  const contexts = await Promise.all(all.map((o) => esbuild.context(o)));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(all.map((o) => esbuild.build(o)));
}
