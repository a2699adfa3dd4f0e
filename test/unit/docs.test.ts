/**
 * The user documentation holds together: every relative link in README.md,
 * CONTRIBUTING.md, CHANGELOG.md and docs/*.md points at a file that exists
 * and, with a #fragment, at a heading of that file (GitHub's anchors); the
 * README stays a front page (short, with its two set-up commands); the
 * CHANGELOG keeps the Keep a Changelog shape.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(__dirname, '..', '..');

function pages(): string[] {
  const docs = join(ROOT, 'docs');
  const inDocs = existsSync(docs) ? readdirSync(docs).filter((f) => f.endsWith('.md')).map((f) => join(docs, f)) : [];
  return [...['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md'].map((f) => join(ROOT, f)), ...inDocs];
}

/** The text outside fenced code blocks and inline code spans, where links and headings live. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, (m) => (m.includes('](') ? '' : m));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, -1, -2… for repeats. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

function links(markdown: string): string[] {
  const text = prose(markdown);
  return [...text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
}

describe('documentation', () => {
  it('resolves every relative link and #anchor of the README, CONTRIBUTING, CHANGELOG and docs/', () => {
    const broken: string[] = [];
    for (const page of pages()) {
      const text = readFileSync(page, 'utf8');
      for (const link of links(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
        const [path, fragment] = link.split('#');
        const target = path ? resolve(dirname(page), decodeURIComponent(path)) : page;
        const where = `${relative(ROOT, page)}: ${link}`;
        if (!existsSync(target)) {
          broken.push(`${where} (no such file)`);
          continue;
        }
        if (fragment !== undefined && target.endsWith('.md') && statSync(target).isFile() && !anchors(readFileSync(target, 'utf8')).has(fragment)) {
          broken.push(`${where} (no heading with that anchor)`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it('computes GitHub anchors as GitHub does', () => {
    const a = anchors('# Rules from the inside (agents)\n### `run [--json] -- COMMAND ARGS...`\n## Limits\n## Limits\n```\n# not a heading\n```\n');
    assert.deepEqual([...a], ['rules-from-the-inside-agents', 'run---json----command-args', 'limits', 'limits-1']);
  });

  it('keeps the README a front page: at most 250 lines, a quick start, and the two set-up commands', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const lines = readme.split('\n').length;
    assert.ok(lines <= 250, `README.md has ${lines} lines`);
    assert.match(readme, /^## Quick start$/m);
    assert.match(readme, /^## Install$/m);
    const setUp = [...readme.matchAll(/^npm (start|test)\b/gm)].map((m) => m[1]);
    assert.deepEqual([...new Set(setUp)], ['start', 'test'], 'the set-up commands are npm start and npm test');
    assert.ok(!/^npm (ci|install)\b/m.test(readme), 'no other set-up command: npm start and npm test install what they need');
  });

  it('keeps the CHANGELOG in Keep a Changelog form, Unreleased first, versions newest first', () => {
    const log = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8');
    const versions = [...log.matchAll(/^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$/gm)].map((m) => [m[1], m[2]]);
    assert.equal(versions[0]?.[0], 'Unreleased');
    const released = versions.slice(1);
    assert.ok(released.length > 0, 'at least one release');
    for (const [v, date] of released) {
      assert.match(v, /^\d+\.\d+\.\d+$/, `version ${v}`);
      assert.ok(date, `release ${v} has a date`);
    }
    const order = released.map(([v]) => v.split('.').map(Number));
    for (let i = 1; i < order.length; i++) {
      const [a, b] = [order[i - 1], order[i]];
      assert.ok(a[0] > b[0] || (a[0] === b[0] && (a[1] > b[1] || (a[1] === b[1] && a[2] > b[2]))), 'newest release first');
    }
    // every section heading inside a version is one of Keep a Changelog's
    for (const m of log.matchAll(/^### (.+)$/gm)) assert.ok(['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security'].includes(m[1]), `section '${m[1]}'`);
  });
});
