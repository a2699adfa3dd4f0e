/**
 * The frames viewer's detail pane: the selected record's fields, its decoded
 * value and the diff with the previous message on its topic, and every frame
 * as text, hex dump or JSON, with copy buttons. Text only through textContent.
 */
import { COPY_FORMATS, CopyFormat, FrameDetail, FromWebview, RecordDetail } from '../shared/protocol/frames';
import { formatCount, formatTime } from '../shared/format';
import { button, h } from './dom';
import { base64ToBytes, decodeUtf8Visible, defaultView, DIRECTION_LABELS, hexDump, prettyJson } from './frameViews';
import { decodedTree, diffView } from './decodedViews';

type FrameViewKind = 'text' | 'hex' | 'json';

export const NO_SELECTION = 'Select a row to see its frames.';

/** The pane's content for a record. */
export function detailContent(d: RecordDetail, post: (m: FromWebview) => void): HTMLElement[] {
  const fields = h('table', { class: 'fields' });
  const add = (k: string, v: string) => fields.append(h('tr', {}, h('th', {}, k), h('td', {}, v)));
  add('#', String(d.seq));
  add('time', `${formatTime(d.ts)} (${new Date(d.ts).toISOString()})`);
  add('kind', d.kind);
  add('session', d.session);
  add('endpoint', d.endpoint);
  if (d.direction) add('direction', DIRECTION_LABELS[d.direction]);
  for (const [k, v] of d.fields) add(k, v);
  const frames = d.frames.map((f) => frameBlock(f, (index, as) => post({ type: 'frame/copy', seq: d.seq, index, as })));
  const title = d.kind === 'message' ? `${d.frames.length} frame${d.frames.length === 1 ? '' : 's'}` : d.kind;
  const decoded: HTMLElement[] = [];
  if (d.decoded) {
    const topic = d.decoded.topic !== undefined ? ` · topic ${d.decoded.topic}` : '';
    decoded.push(h('div', { class: 'decoded' }, h('div', { class: 'section-title' }, `Decoded (${d.decoded.decoder}${topic})`), decodedTree(d.decoded.value)));
  } else if (d.decodeError) decoded.push(h('div', { class: 'warn decode-error' }, `Not decoded — ${d.decodeError}. The frames below are the bytes as captured.`));
  if (d.diff) decoded.push(diffView(d.diff));
  const encrypted = d.encrypted ? [h('div', { class: 'warn' }, 'CURVE-encrypted: the body cannot be shown.')] : [];
  return [h('div', { class: 'detail-title' }, `#${d.seq} · ${title}`), fields, ...encrypted, ...decoded, ...frames];
}

/** One frame: header with index, length and role, view tabs (text, hex, JSON) and copy buttons (when `copy` is given). */
export function frameBlock(f: FrameDetail, copy?: (index: number, as: CopyFormat) => void): HTMLElement {
  const bytes = base64ToBytes(f.data);
  const json = prettyJson(bytes, true);
  const label = f.role === 'envelope' ? 'envelope (identity)' : f.role === 'delimiter' ? 'empty delimiter' : f.length === 0 ? 'empty' : '';
  const size = f.originalLength !== undefined ? `${formatCount(f.length)} of ${formatCount(f.originalLength)} B (truncated by the capture)` : `${formatCount(f.length)} B`;
  const body = h('div', { class: 'frame-body' });
  const tabs = h('div', { class: 'tabs', attrs: { role: 'tablist' } });
  const show = (view: FrameViewKind) => {
    for (const t of tabs.children) t.classList.toggle('active', (t as HTMLElement).dataset.view === view);
    body.replaceChildren(frameView(bytes, view, json));
    if (f.cut) body.append(h('div', { class: 'note' }, `Showing the first ${formatCount(bytes.length)} of ${formatCount(f.length)} bytes; copy takes the whole frame.`));
  };
  for (const view of ['text', 'hex', 'json'] as const) {
    if (view === 'json' && json === undefined) continue;
    const t = button(view === 'json' ? 'JSON' : view === 'hex' ? 'Hex' : 'Text', `Show as ${view}`, () => show(view), 'tab');
    t.dataset.view = view;
    tabs.append(t);
  }
  const copies = copy ? COPY_FORMATS.map((as) => button(`Copy ${as}`, `Copy this frame as ${as}`, () => copy(f.index, as), 'copy')) : [];
  const head = h('div', { class: 'frame-head' }, h('span', { class: 'frame-index' }, `Frame ${f.index}`), h('span', { class: 'frame-size' }, size), label ? h('span', { class: 'badge' }, label) : null, tabs, ...copies);
  const block = h('div', { class: `frame role-${f.role}`, attrs: { 'data-index': String(f.index) } }, head, body);
  const first = defaultView(bytes);
  show(first === 'json' && json === undefined ? 'text' : first);
  return block;
}

function frameView(bytes: Uint8Array, view: FrameViewKind, json: string | undefined): HTMLElement {
  if (view === 'hex') return h('pre', { class: 'hex' }, bytes.length ? hexDump(bytes) : '(empty)');
  if (view === 'json') return h('pre', { class: 'json' }, json ?? '');
  const pre = h('pre', { class: 'text' });
  if (!bytes.length) pre.append(h('span', { class: 'muted' }, '(empty)'));
  for (const seg of decodeUtf8Visible(bytes)) {
    pre.append(seg.mark ? h('span', { class: `esc ${seg.mark}`, title: seg.mark === 'bad' ? 'byte that is not valid UTF-8' : 'control character' }, seg.text) : seg.text);
  }
  return pre;
}
