/**
 * The frames viewer's virtualised table: only the visible rows exist in the
 * DOM (a pool reused as the view scrolls), the host sends the window of rows
 * shown, and a view pinned to the newest follows appends. Past ~33M px
 * (Chromium's cap on element heights) the scrollbar maps proportionally.
 */
import { RowSummary } from '../shared/protocol/frames';
import { formatBytes, formatCount, formatTime } from '../shared/format';
import { button, h, setText } from './dom';
import { DIRECTION_LABELS } from './frameViews';
import type { Viewer } from './framesState';

const ROW_H = 22;
/** Browsers cap element heights (~33M px in Chromium): beyond this the scrollbar maps proportionally. */
const MAX_SCROLL_H = 8_000_000;
const OVERSCAN = 10;
/** Rows kept in the page's cache, around the view, beyond the window shown. */
const CACHE_MAX = 4000;
const CACHE_AROUND = 1000;
const COLUMNS = ['time', 'session', 'endpoint', 'dir', 'type', 'topic', 'frames', 'size', 'preview'];

export interface FramesTable {
  el: HTMLElement;
  scheduleRender(): void;
  /** Rows the host sent, from absolute row `start`. */
  storeRows(start: number, rows: RowSummary[]): void;
}

/** `onSelect`: a row was selected (click or arrow keys). */
export function createTable(v: Viewer, onSelect: (seq: number) => void): FramesTable {
  const s = v.state;
  const head = h('div', { class: 'thead row' }, ...COLUMNS.map((c) => h('span', { class: `c-${c}` }, c)));
  const rowsEl = h('div', { class: 'rows' });
  const spacer = h('div', { class: 'spacer' }, rowsEl);
  const viewport = h('div', { class: 'viewport', attrs: { tabindex: '0', role: 'grid', 'aria-label': 'Captured messages' } }, spacer);
  const newPill = button('', 'Jump to the newest', () => {
    s.follow = true;
    s.newCount = 0;
    scheduleRender();
  }, 'new-pill hidden');
  const pool: HTMLDivElement[] = [];

  function scrollGeometry() {
    const vh = viewport.clientHeight || 400;
    const fullH = s.shown * ROW_H;
    const height = Math.min(fullH, MAX_SCROLL_H);
    const scaled = fullH > MAX_SCROLL_H;
    const maxScroll = Math.max(1, height - vh);
    const maxTop = Math.max(0, s.shown - Math.floor(vh / ROW_H));
    return {
      vh,
      height,
      visible: Math.ceil(vh / ROW_H) + 1,
      /** Row (relative to base, fractional) at a scroll position. */
      rowAt: (st: number) => (scaled ? (st / maxScroll) * maxTop : st / ROW_H),
      scrollFor: (row: number) => (scaled ? (row / Math.max(1, maxTop)) * maxScroll : row * ROW_H),
    };
  }

  function selectRow(seq: number, row: number): void {
    s.selectedSeq = seq;
    s.selectedRow = row;
    onSelect(seq);
    for (const el of pool) el.classList.toggle('selected', el.dataset.seq === String(seq));
  }

  function makeRow(): HTMLDivElement {
    const el = h('div', { class: 'row', attrs: { role: 'row' } }, ...COLUMNS.map((c) => h('span', { class: `c-${c}`, attrs: { role: 'gridcell' } })));
    el.addEventListener('click', () => {
      const seq = Number(el.dataset.seq);
      if (!seq) return;
      if (s.follow) {
        // inspecting a row: keep it in view instead of following the newest
        s.follow = false;
        s.topRow = s.base + Math.floor(scrollGeometry().rowAt(viewport.scrollTop));
      }
      selectRow(seq, Number(el.dataset.row));
    });
    rowsEl.append(el);
    return el;
  }

  function scheduleRender(): void {
    if (s.renderScheduled) return;
    s.renderScheduled = true;
    requestAnimationFrame(() => {
      s.renderScheduled = false;
      render();
    });
  }

  /** Scrolls to where the view is (the bottom when following); returns the scrollTop. */
  function place(g: ReturnType<typeof scrollGeometry>): number {
    const hpx = `${g.height}px`;
    if (spacer.style.height !== hpx) spacer.style.height = hpx;
    if (s.follow) {
      const bottom = Math.max(0, g.height - g.vh);
      if (Math.abs(viewport.scrollTop - bottom) >= 1) viewport.scrollTop = bottom;
    } else {
      if (s.topRow < s.base) s.topRow = s.base;
      const want = g.scrollFor(s.topRow - s.base);
      if (Math.abs(viewport.scrollTop - want) >= ROW_H) viewport.scrollTop = want;
    }
    return (s.ownScrollTop = viewport.scrollTop);
  }

  function render(): void {
    const g = scrollGeometry();
    const st = place(g);
    const rel = g.rowAt(st);
    const firstRel = Math.floor(rel);
    const first = s.base + firstRel;
    rowsEl.style.transform = `translateY(${st - (rel - firstRel) * ROW_H}px)`;
    while (pool.length < g.visible) pool.push(makeRow());
    let missing = false;
    for (let i = 0; i < pool.length; i++) {
      const el = pool[i];
      const abs = first + i;
      if (i >= g.visible || abs >= s.base + s.shown) {
        if (!el.classList.contains('hidden')) el.classList.add('hidden');
        continue;
      }
      el.classList.remove('hidden');
      const r = s.cache.get(abs);
      if (!r) missing = true;
      fillRow(el, abs, r, s.selectedSeq);
    }
    newPill.classList.toggle('hidden', s.follow || s.newCount === 0);
    if (!s.follow && s.newCount) setText(newPill, `${formatCount(s.newCount)} new ↓`);
    requestWindow(first, g.visible, missing);
  }

  function requestWindow(first: number, visible: number, missing: boolean): void {
    const start = Math.max(s.base, first - OVERSCAN);
    const count = visible + 2 * OVERSCAN;
    const key = s.follow ? `follow ${count}` : `${start} ${count}`;
    const now = performance.now();
    if (key !== s.lastWindowKey || (missing && now - s.lastWindowAt > 250)) {
      s.lastWindowKey = key;
      s.lastWindowAt = now;
      v.post({ type: 'view/window', start, count, follow: s.follow });
    }
  }

  viewport.addEventListener('scroll', () => {
    // the scroll render() made (rows added or evicted): not the user's. Judging it
    // would stop following whenever the layout shifted in between (the viewport a
    // few pixels shorter when a counter appears, say) and leave the newest rows.
    if (Math.abs(viewport.scrollTop - s.ownScrollTop) < 1) return;
    const g = scrollGeometry();
    // measured on the DOM as rendered: a batch that arrived since (more rows, not yet
    // laid out) must not make the view think the user scrolled away from the bottom
    const atBottom = viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - 2;
    if (atBottom !== s.follow) {
      s.follow = atBottom;
      if (s.follow) s.newCount = 0;
    }
    s.topRow = s.base + Math.floor(g.rowAt(viewport.scrollTop));
    scheduleRender();
  });
  new ResizeObserver(() => scheduleRender()).observe(viewport);

  viewport.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const next = (s.selectedRow ?? s.base + s.shown - 1) + (e.key === 'ArrowDown' ? 1 : -1);
    if (next < s.base || next >= s.base + s.shown) return;
    const r = s.cache.get(next);
    if (!r) return;
    s.follow = false;
    const visibleRows = Math.floor(scrollGeometry().vh / ROW_H);
    if (next < s.topRow) s.topRow = next;
    else if (next >= s.topRow + visibleRows) s.topRow = next - visibleRows + 1;
    selectRow(r.seq, next);
    scheduleRender();
  });

  function storeRows(start: number, rows: RowSummary[]): void {
    if (s.cache.size > CACHE_MAX) {
      // keep what is near the view
      const at = s.follow ? s.base + s.shown : s.topRow;
      const next = new Map<number, RowSummary>();
      for (const [k, r] of s.cache) if (k >= at - CACHE_AROUND && k <= at + CACHE_AROUND) next.set(k, r);
      s.cache = next;
    }
    rows.forEach((r, i) => s.cache.set(start + i, r));
  }

  return { el: h('div', { class: 'table' }, head, viewport, newPill), scheduleRender, storeRows };
}

/** Draws one row (its cells' text), unless it shows that record already. */
function fillRow(el: HTMLDivElement, abs: number, r: RowSummary | undefined, selectedSeq: number | undefined): void {
  el.dataset.row = String(abs);
  const key = r ? String(r.seq) : '';
  // a row is redrawn when its record changes, or when a decoder now reads it (or no longer does)
  const look = r ? `${r.decoder ?? ''}${r.decodeError ? '!' : ''}` : '';
  if (el.dataset.seq !== key || el.dataset.look !== look) {
    el.dataset.seq = key;
    el.dataset.look = look;
    const cells = el.children;
    if (!r) {
      for (let i = 0; i < cells.length; i++) cells[i].textContent = '';
      el.className = 'row loading';
    } else {
      const values = cellTexts(r);
      for (let i = 0; i < cells.length; i++) cells[i].textContent = values[i];
      el.className = `row k-${r.kind}${r.decodeError ? ' decode-error' : ''}`;
      el.title = `#${r.seq} ${r.preview}`;
    }
  }
  el.classList.toggle('selected', r !== undefined && r.seq === selectedSeq);
}

/** A row's cells, in COLUMNS order. */
function cellTexts(r: RowSummary): string[] {
  return [
    formatTime(r.ts),
    // agent records: the program and the socket inside it say more than the session
    r.process !== undefined ? `${r.process}${r.socket ? ` ${r.socket}` : ''}` : r.session,
    r.endpoint,
    r.direction ? DIRECTION_LABELS[r.direction] : '',
    r.kind === 'message' ? (r.socketType ?? '') : r.kind,
    r.topic,
    r.kind === 'message' ? String(r.frames) : '',
    r.kind === 'message' ? formatBytes(r.size) : '',
    r.preview,
  ];
}
