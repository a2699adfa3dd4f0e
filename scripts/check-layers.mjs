// The layer check (part of `npm test`): fails on an import that points up a
// layer, on core importing the protocols or the viewers, on viewers or core
// importing `vscode`, on webview code importing host code, and on any import
// cycle between files of src/. Layers, lowest first:
//
//   src/shared (browser-safe)  <  src/core  <  src/viewers  <  src/extension, src/cli
//   src/webview imports src/shared only
//
// and inside src/core, by folder, lowest first (a folder may import its own
// files and any lower folder):
//
//   base < zmq < zmtp < capture < decoders, pcap < sessions, examples, discovery, agents < topology
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');

const CORE_RANK = { base: 0, zmq: 1, zmtp: 2, capture: 3, decoders: 4, pcap: 4, sessions: 5, examples: 5, discovery: 5, agents: 5, topology: 6 };
const LAYER_RANK = { shared: 0, core: 1, viewers: 2, extension: 3, cli: 3, webview: 3 };

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : /\.(ts|mts)$/.test(name) ? [p] : [];
  });
}

const importRe = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function resolveImport(from, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  for (const c of [base + '.ts', join(base, 'index.ts'), base]) if (existsSync(c) && statSync(c).isFile()) return c;
  return undefined;
}

/** Where a file sits: its top layer under src/, and for core its folder. */
function place(file) {
  const parts = relative(src, file).split('/');
  const layer = parts[0].replace(/\.ts$/, '');
  return { layer, coreFolder: layer === 'core' ? parts[1] : undefined, protocol: layer === 'shared' && parts[1] === 'protocol' };
}

const problems = [];
const graph = new Map();
const files = walk(src);
for (const file of files) {
  const me = place(file);
  const edges = [];
  graph.set(file, edges);
  // strip comments so an import shown in a doc comment does not count
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2] ?? m[3];
    const where = relative(root, file);
    const bad = (why) => problems.push(`${where}: imports '${spec}': ${why}`);
    if (spec === 'vscode' && !['extension'].includes(me.layer)) bad(`only src/extension may import vscode (this is src/${me.layer})`);
    if (me.layer === 'webview' || me.layer === 'shared') {
      if (spec.startsWith('node:') || spec === 'zeromq') bad(`src/${me.layer} runs in a browser: no Node modules`);
    }
    const target = resolveImport(file, spec);
    if (!target) continue;
    edges.push(target);
    const them = place(target);
    if (!(them.layer in LAYER_RANK)) continue;
    if (me.layer === 'webview' && them.layer !== 'shared' && them.layer !== 'webview') bad('webview code talks to the host only through src/shared (the protocols)');
    else if (me.layer !== 'webview' && LAYER_RANK[them.layer] > LAYER_RANK[me.layer]) bad(`src/${me.layer} must not import the higher layer src/${them.layer}`);
    else if (me.layer !== them.layer && LAYER_RANK[them.layer] === LAYER_RANK[me.layer] && them.layer !== 'shared') bad(`src/${me.layer} and src/${them.layer} are siblings: neither imports the other`);
    if (me.layer === 'core' && them.protocol) bad('src/core must not import the webview protocols (src/shared/protocol)');
    if (me.layer === 'core' && them.layer === 'core' && me.coreFolder !== them.coreFolder) {
      const a = CORE_RANK[me.coreFolder];
      const b = CORE_RANK[them.coreFolder];
      if (a === undefined || b === undefined) bad(`core/${a === undefined ? me.coreFolder : them.coreFolder} has no place in the core's layer order (scripts/check-layers.mjs)`);
      else if (b >= a) bad(`core/${me.coreFolder} must not import core/${them.coreFolder} (${b > a ? 'a higher layer' : 'a sibling layer'})`);
    }
  }
}

// import cycles (Tarjan's strongly connected components)
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
function strongconnect(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    if (!idx.has(w)) {
      strongconnect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const scc = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1) problems.push(`import cycle: ${scc.map((f) => relative(root, f)).sort().join(' ⇄ ')}`);
  }
}
for (const v of graph.keys()) if (!idx.has(v)) strongconnect(v);

if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`layers: ${problems.length} problem${problems.length === 1 ? '' : 's'} (see the layer order at the top of scripts/check-layers.mjs)`);
  process.exit(1);
}
console.log(`layers ok: ${files.length} files, imports point down, no cycles`);
