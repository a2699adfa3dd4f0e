// Fails when code in src/core or src/webview imports something it must not:
// core never sees `vscode`; the webview never sees host code or Node modules.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const importRe = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const rules = [
  { dir: 'src/core', forbid: (m) => m === 'vscode' || m.includes('/extension/') || m.includes('/webview/'), why: 'src/core must not depend on VS Code or the webview' },
  { dir: 'src/webview', forbid: (m) => m === 'vscode' || m.startsWith('node:') || m === 'zeromq' || m.includes('/core/') || m.includes('/extension/'), why: 'webview code runs in a browser and talks to the host only through src/protocol.ts' },
];

const problems = [];
for (const rule of rules) {
  let files = [];
  try { files = walk(rule.dir); } catch { continue; }
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const mod = m[1] ?? m[2] ?? m[3];
      if (rule.forbid(mod)) problems.push(`${relative('.', file)}: imports '${mod}': ${rule.why}`);
    }
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('layers ok: src/core never imports vscode; src/webview imports no host code');
