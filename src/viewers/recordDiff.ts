/**
 * The diff of a message with the previous one on its topic: field by field on
 * decoded values (paths like `content.execution_count`), frame by frame on
 * bytes otherwise. Bounded: at most MAX_CHANGES listed, values cut short.
 */
import { DiffChange, RecordDiff } from '../shared/protocol/frames';

const MAX_CHANGES = 200;
const VALUE_MAX = 120;

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > VALUE_MAX ? s.slice(0, VALUE_MAX) + '…' : s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? (base ? `${base}.${key}` : key) : `${base}[${JSON.stringify(key)}]`;
}

/** Differences between two decoded values. */
export function diffValues(before: unknown, after: unknown): Pick<RecordDiff, 'changes' | 'more'> {
  const changes: DiffChange[] = [];
  let more = 0;
  const push = (c: DiffChange) => {
    if (changes.length < MAX_CHANGES) changes.push(c);
    else more++;
  };
  const walk = (a: unknown, b: unknown, path: string, depth: number) => {
    if (a === b) return;
    if (depth < 50 && isObject(a) && isObject(b)) {
      for (const k of Object.keys(a)) {
        if (!(k in b)) push({ path: joinPath(path, k), change: 'removed', before: short(a[k]) });
        else walk(a[k], b[k], joinPath(path, k), depth + 1);
      }
      for (const k of Object.keys(b)) if (!(k in a)) push({ path: joinPath(path, k), change: 'added', after: short(b[k]) });
      return;
    }
    if (depth < 50 && Array.isArray(a) && Array.isArray(b)) {
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if (i >= b.length) push({ path: joinPath(path, i), change: 'removed', before: short(a[i]) });
        else if (i >= a.length) push({ path: joinPath(path, i), change: 'added', after: short(b[i]) });
        else walk(a[i], b[i], joinPath(path, i), depth + 1);
      }
      return;
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    push({ path: path || '(value)', change: 'changed', before: short(a), after: short(b) });
  };
  walk(before, after, '', 0);
  return more ? { changes, more } : { changes };
}

function hex(b: Uint8Array, from: number, max = 24): string {
  let s = '';
  for (let i = from; i < b.length && i < from + max; i++) s += b[i].toString(16).padStart(2, '0');
  return s + (b.length > from + max ? '…' : '');
}

/** Frame-by-frame byte differences: which frames differ, from which offset. */
export function diffFrames(before: readonly Uint8Array[], after: readonly Uint8Array[]): Pick<RecordDiff, 'changes' | 'more'> {
  const changes: DiffChange[] = [];
  for (let i = 0; i < Math.max(before.length, after.length); i++) {
    const [a, b] = [before[i], after[i]];
    const path = `frame ${i}`;
    if (!b) changes.push({ path, change: 'removed', before: `${a.length} B` });
    else if (!a) changes.push({ path, change: 'added', after: `${b.length} B` });
    else {
      let at = 0;
      const n = Math.min(a.length, b.length);
      while (at < n && a[at] === b[at]) at++;
      if (at === n && a.length === b.length) continue;
      changes.push({ path: `${path} @${at}`, change: 'changed', before: `${a.length} B: …${hex(a, at)}`, after: `${b.length} B: …${hex(b, at)}` });
    }
    if (changes.length >= MAX_CHANGES) break;
  }
  return { changes };
}
