/**
 * The detail pane's decoded value as a collapsible tree (native <details>, so
 * keyboard and screen readers work with no script), and the diff with the
 * previous message on the same topic. Text only through textContent.
 */
import type { RecordDiff } from '../shared/protocol/frames';
import { h } from './dom';

/** Nodes drawn at most; the rest is summarised (a huge array stays responsive). */
const MAX_NODES = 5000;

function leaf(v: unknown): HTMLElement {
  const type = v === null ? 'null' : typeof v;
  return h('span', { class: `v v-${type}` }, typeof v === 'string' ? JSON.stringify(v) : String(v));
}

/** The tree of a decoded value; objects and arrays open to `openDepth` levels. */
export function decodedTree(value: unknown, openDepth = 2): HTMLElement {
  let budget = MAX_NODES;
  const node = (key: string | undefined, v: unknown, depth: number): HTMLElement => {
    budget--;
    const label = key === undefined ? null : h('span', { class: 'k' }, key);
    if (v === null || typeof v !== 'object') return h('div', { class: 'tree-leaf', attrs: { 'data-path': key ?? '' } }, label, label ? ': ' : null, leaf(v));
    const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v as Record<string, unknown>);
    const summary = h('summary', {}, label, label ? ' ' : null, h('span', { class: 'muted' }, Array.isArray(v) ? `[${entries.length}]` : `{${entries.length}}`));
    const d = h('details', { class: 'tree-node', attrs: { 'data-path': key ?? '' } }, summary);
    if (depth < openDepth) d.open = true;
    for (const [k, x] of entries) {
      if (budget <= 0) {
        d.append(h('div', { class: 'muted' }, '… (more not drawn)'));
        break;
      }
      d.append(node(k, x, depth + 1));
    }
    return d;
  };
  return h('div', { class: 'tree', attrs: { role: 'tree' } }, node(undefined, value, 0));
}

/** The diff section: one line per change, or the note saying why there is nothing to compare. */
export function diffView(diff: RecordDiff): HTMLElement {
  const title = diff.previousSeq !== undefined ? `Changes since #${diff.previousSeq} (same topic${diff.on === 'bytes' ? ', bytes' : ''})` : 'Changes';
  const box = h('div', { class: 'diff' }, h('div', { class: 'section-title' }, title));
  if (diff.note) box.append(h('div', { class: 'muted' }, diff.note));
  else if (!diff.changes.length) box.append(h('div', { class: 'muted' }, 'No change.'));
  for (const c of diff.changes) {
    box.append(
      h(
        'div',
        { class: `diff-line diff-${c.change}` },
        h('span', { class: 'diff-mark' }, c.change === 'added' ? '+' : c.change === 'removed' ? '−' : '~'),
        h('span', { class: 'k' }, c.path),
        c.before !== undefined ? h('span', { class: 'diff-before' }, c.before) : null,
        c.before !== undefined && c.after !== undefined ? ' → ' : null,
        c.after !== undefined ? h('span', { class: 'diff-after' }, c.after) : null,
      ),
    );
  }
  if (diff.more) box.append(h('div', { class: 'muted' }, `… and ${diff.more} more`));
  return box;
}
