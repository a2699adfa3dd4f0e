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
import type { Viewer, ViewerState } from './framesState';

const ROW_H = 22;
/** Browsers cap element heights (~33M px in Chromium): beyond this the scrollbar maps proportionally. */
const MAX_SCROLL_H = 8_000_000;
const OVERSCAN = 10;
/** Rows kept in the page's cache, around the view, beyond the window shown. */
const CACHE_MAX = 4000;
const CACHE_AROUND = 1000;
const COLUMNS = ['time', 'session', 'endpoint', 'dir', 'type', 'topic', 'frames', 'size', 'preview'];

/** `onSelect`: a row was selected (click or arrow keys). */
export class FramesTable {
  readonly el: HTMLElement;
  private readonly s: ViewerState;
  private readonly rowsEl = h('div', { class: 'rows' });
  private readonly spacer = h('div', { class: 'spacer' }, this.rowsEl);
  private readonly viewport = h('div', { class: 'viewport', attrs: { tabindex: '0', role: 'grid', 'aria-label': 'Captured messages' } }, this.spacer);
  private readonly newPill: HTMLButtonElement;
  private readonly pool: HTMLDivElement[] = [];
  /** The viewport's height, as its ResizeObserver last saw it: read in render() without forcing a layout. */
  private viewportH = 0;

  /** `afterRender`: the page's own writes for this frame (the counters), after the table's reads. */
  constructor(
    private readonly v: Viewer,
    private readonly onSelect: (seq: number) => void,
    private readonly afterRender: () => void = () => undefined,
  ) {
    this.s = v.state;
    const head = h('div', { class: 'thead row' }, ...COLUMNS.map((c) => h('span', { class: `c-${c}` }, c)));
    this.newPill = button('', 'Jump to the newest', () => {
      this.s.follow = true;
      this.s.newCount = 0;
      this.scheduleRender();
    }, 'new-pill hidden');
    this.el = h('div', { class: 'table' }, head, this.viewport, this.newPill);
    this.viewport.addEventListener('scroll', () => this.onScroll());
    this.viewport.addEventListener('keydown', (e) => this.onKey(e));
    new ResizeObserver((entries) => {
      this.viewportH = entries[entries.length - 1].contentRect.height;
      this.scheduleRender();
    }).observe(this.viewport);
  }

  private scrollGeometry() {
    const vh = this.viewportH || 400;
    const fullH = this.s.shown * ROW_H;
    const height = Math.min(fullH, MAX_SCROLL_H);
    const scaled = fullH > MAX_SCROLL_H;
    const maxScroll = Math.max(1, height - vh);
    const maxTop = Math.max(0, this.s.shown - Math.floor(vh / ROW_H));
    return {
      vh,
      height,
      visible: Math.ceil(vh / ROW_H) + 1,
      /** Row (relative to base, fractional) at a scroll position. */
      rowAt: (st: number) => (scaled ? (st / maxScroll) * maxTop : st / ROW_H),
      scrollFor: (row: number) => (scaled ? (row / Math.max(1, maxTop)) * maxScroll : row * ROW_H),
    };
  }

  private selectRow(seq: number, row: number): void {
    this.s.selectedSeq = seq;
    this.s.selectedRow = row;
    this.onSelect(seq);
    for (const el of this.pool) el.classList.toggle('selected', el.dataset.seq === String(seq));
  }

  private makeRow(): HTMLDivElement {
    const el = h('div', { class: 'row', attrs: { role: 'row' } }, ...COLUMNS.map((c) => h('span', { class: `c-${c}`, attrs: { role: 'gridcell' } })));
    el.addEventListener('click', () => {
      const seq = Number(el.dataset.seq);
      if (!seq) return;
      if (this.s.follow) {
        // inspecting a row: keep it in view instead of following the newest
        this.s.follow = false;
        this.s.topRow = this.s.base + Math.floor(this.scrollGeometry().rowAt(this.viewport.scrollTop));
      }
      this.selectRow(seq, Number(el.dataset.row));
    });
    this.rowsEl.append(el);
    return el;
  }

  scheduleRender(): void {
    if (this.s.renderScheduled) return;
    this.s.renderScheduled = true;
    requestAnimationFrame(() => {
      this.s.renderScheduled = false;
      this.render();
    });
  }

  /** Scrolls to where the view is (the bottom when following); returns the scrollTop. */
  private place(g: ReturnType<FramesTable['scrollGeometry']>): number {
    const s = this.s;
    const hpx = `${g.height}px`;
    if (this.spacer.style.height !== hpx) this.spacer.style.height = hpx;
    if (s.follow) {
      const bottom = Math.max(0, g.height - g.vh);
      if (Math.abs(this.viewport.scrollTop - bottom) >= 1) this.viewport.scrollTop = bottom;
    } else {
      if (s.topRow < s.base) s.topRow = s.base;
      const want = g.scrollFor(s.topRow - s.base);
      if (Math.abs(this.viewport.scrollTop - want) >= ROW_H) this.viewport.scrollTop = want;
    }
    return (s.ownScrollTop = this.viewport.scrollTop);
  }

  /**
   * One frame's work, reads before writes: the scroll position is read while the
   * layout is clean (the counters are written after it, in afterRender), so a
   * batch costs the page one layout, not a forced one and then another.
   */
  private render(): void {
    const s = this.s;
    const g = this.scrollGeometry();
    const st = this.place(g);
    const rel = g.rowAt(st);
    const firstRel = Math.floor(rel);
    const first = s.base + firstRel;
    this.rowsEl.style.transform = `translateY(${st - (rel - firstRel) * ROW_H}px)`;
    while (this.pool.length < g.visible) this.pool.push(this.makeRow());
    let missing = false;
    for (let i = 0; i < this.pool.length; i++) {
      const el = this.pool[i];
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
    this.newPill.classList.toggle('hidden', s.follow || s.newCount === 0);
    if (!s.follow && s.newCount) setText(this.newPill, `${formatCount(s.newCount)} new ↓`);
    this.requestWindow(first, g.visible, missing);
    this.afterRender();
  }

  private requestWindow(first: number, visible: number, missing: boolean): void {
    const s = this.s;
    const start = Math.max(s.base, first - OVERSCAN);
    const count = visible + 2 * OVERSCAN;
    const key = s.follow ? `follow ${count}` : `${start} ${count}`;
    const now = performance.now();
    if (key !== s.lastWindowKey || (missing && now - s.lastWindowAt > 250)) {
      s.lastWindowKey = key;
      s.lastWindowAt = now;
      this.v.post({ type: 'view/window', start, count, follow: s.follow });
    }
  }

  private onScroll(): void {
    const s = this.s;
    const vp = this.viewport;
    // the scroll render() made (rows added or evicted): not the user's. Judging it
    // would stop following whenever the layout shifted in between (the viewport a
    // few pixels shorter when a counter appears, say) and leave the newest rows.
    if (Math.abs(vp.scrollTop - s.ownScrollTop) < 1) return;
    const g = this.scrollGeometry();
    // measured on the DOM as rendered: a batch that arrived since (more rows, not yet
    // laid out) must not make the view think the user scrolled away from the bottom
    const atBottom = vp.scrollTop + vp.clientHeight >= vp.scrollHeight - 2;
    if (atBottom !== s.follow) {
      s.follow = atBottom;
      if (s.follow) s.newCount = 0;
    }
    s.topRow = s.base + Math.floor(g.rowAt(vp.scrollTop));
    this.scheduleRender();
  }

  private onKey(e: KeyboardEvent): void {
    const s = this.s;
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const next = (s.selectedRow ?? s.base + s.shown - 1) + (e.key === 'ArrowDown' ? 1 : -1);
    if (next < s.base || next >= s.base + s.shown) return;
    const r = s.cache.get(next);
    if (!r) return;
    s.follow = false;
    const visibleRows = Math.floor(this.scrollGeometry().vh / ROW_H);
    if (next < s.topRow) s.topRow = next;
    else if (next >= s.topRow + visibleRows) s.topRow = next - visibleRows + 1;
    this.selectRow(r.seq, next);
    this.scheduleRender();
  }

  /** Rows the host sent, from absolute row `start`. */
  storeRows(start: number, rows: RowSummary[]): void {
    const s = this.s;
    if (s.cache.size > CACHE_MAX) {
      // keep what is near the view
      const at = s.follow ? s.base + s.shown : s.topRow;
      const next = new Map<number, RowSummary>();
      for (const [k, r] of s.cache) if (k >= at - CACHE_AROUND && k <= at + CACHE_AROUND) next.set(k, r);
      s.cache = next;
    }
    rows.forEach((r, i) => s.cache.set(start + i, r));
  }
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
      for (let i = 0; i < cells.length; i++) setText(cells[i], '');
      el.className = 'row loading';
    } else {
      const values = cellTexts(r);
      // only the cells that differ: in a flood most columns repeat (session, endpoint, type, topic, size),
      // and an unchanged text keeps its layout (no reshaping of the row's text)
      for (let i = 0; i < cells.length; i++) setText(cells[i], values[i]);
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
