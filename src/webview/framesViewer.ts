/**
 * The frames viewer webview: a virtualised table of the capture's records
 * (framesTable.ts), a detail pane with every frame as text, hex dump or JSON
 * (framesDetail.ts), a filter bar (framesFilterBar.ts), counters and
 * pause/clear/export/import (framesToolbar.ts), a decoder picker
 * (framesDecoderBar.ts) and a composer that sends from a socket the extension
 * opens (framesComposer.ts), around one state object (framesState.ts). Here:
 * the page put together, and the host's messages dispatched. Plain DOM; data
 * is only ever written with textContent.
 */
import { assertNever, Counters, FromHost, parseFromHost } from '../shared/protocol/frames';
import { h, setText } from './dom';
import { createComposer } from './framesComposer';
import { createDecoderBar } from './framesDecoderBar';
import { detailContent, NO_SELECTION } from './framesDetail';
import { createFilterBar } from './framesFilterBar';
import { createViewer } from './framesState';
import { FramesTable } from './framesTable';
import { createToolbar } from './framesToolbar';
import { TimelineChart } from './timelineChart';

const v = createViewer();
const s = v.state;
const app = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
const noticeEl = h('div', { class: 'notice', attrs: { role: 'status' } });
const showNotice = (level: 'info' | 'error', text: string) => {
  noticeEl.className = `notice ${level}`;
  setText(noticeEl, text);
};
const composer = createComposer(v);
const filterBar = createFilterBar(v);
const decoderBar = createDecoderBar(v, (text) => showNotice('error', text));
/** A batch's counters, not shown yet: written in the frame that draws its rows, after the table's reads. */
let pendingCounters: Counters | undefined;
const table = new FramesTable(
  v,
  (seq) => {
    v.post({ type: 'row/select', seq });
    composer.setReplayable(true);
  },
  () => pendingCounters && showCounters(pendingCounters),
);
const detail = h('div', { class: 'detail' }, h('div', { class: 'placeholder' }, NO_SELECTION));
// the timeline chart, shown on demand (the host sends its series only while shown)
const timelineEl = h('div', { class: 'timeline hidden', attrs: { 'aria-label': 'Messages and bytes per second' } });
const setTimelineOpen = (open: boolean) => {
  s.persisted.timelineOpen = open;
  v.persist();
  timelineEl.classList.toggle('hidden', !open);
  if (open) s.chart ??= new TimelineChart(timelineEl, (from, to) => filterBar.change({ from, to }));
  v.post({ type: 'timeline/visible', visible: open });
};
const toolbar = createToolbar(v, { composer: composer.toggle, timeline: () => setTimelineOpen(!s.persisted.timelineOpen) });
app.append(toolbar.el, toolbar.behind, filterBar.el, decoderBar.el, timelineEl, composer.el, h('div', { class: 'main' }, table.el, detail), noticeEl);

function showCounters(c: Counters): void {
  pendingCounters = undefined;
  s.counters = c;
  toolbar.showCounters(c);
  filterBar.showCounters(c);
}

function showPlaceholder(text: string): void {
  s.selectedRecord = undefined;
  detail.replaceChildren(h('div', { class: 'placeholder' }, text));
}

/** A new set of rows (a filter, a clear, an import, back to live). */
function reset(m: Extract<FromHost, { type: 'frames/reset' }>): void {
  if (s.counters && s.counters.source !== m.counters.source) {
    // another capture (an import, or back to live): seq numbers mean other records
    s.selectedSeq = s.selectedRow = undefined;
    composer.setReplayable(false);
    showPlaceholder(NO_SELECTION);
  }
  s.cache = new Map();
  s.base = m.base;
  s.shown = m.counters.shown;
  table.storeRows(m.start, m.rows);
  if (m.filterFromHost) {
    // the host set it (restored panel, "open for session"); otherwise the inputs are the truth
    s.persisted.filter = m.filter;
    v.persist();
    filterBar.show(m.filter);
  }
  filterBar.setError(m.filterError ?? '');
  showCounters(m.counters);
  s.lastWindowKey = '';
  if (!s.follow) s.topRow = Math.max(s.base, Math.min(s.topRow, s.base + s.shown - 1));
  table.scheduleRender();
}

function handle(m: FromHost): void {
  switch (m.type) {
    case 'frames/reset':
      return reset(m);
    case 'frames/appended':
      s.base = m.base;
      s.shown = m.counters.shown;
      table.storeRows(m.start, m.rows);
      if (!s.follow) s.newCount += m.added;
      // written with the rows, after the table read the layout (the state has them now)
      s.counters = pendingCounters = m.counters;
      table.scheduleRender();
      return;
    case 'counters':
      return showCounters(m.counters);
    case 'frame/detail':
      if (m.seq !== s.selectedSeq) return;
      if (!m.detail) return showPlaceholder(m.missing ?? 'Not available.');
      s.selectedRecord = m.detail;
      detail.replaceChildren(...detailContent(m.detail, v.post));
      return;
    case 'send/result':
      if (m.id === s.sendId) composer.showResult(m.ok, m.message, m.reply);
      return;
    case 'notice':
      return showNotice(m.level, m.text);
    case 'timeline':
      if (s.persisted.timelineOpen) s.chart?.update(m.series);
      return;
    case 'decoders':
      return decoderBar.showRules(m.rules, m.available);
    default:
      assertNever(m);
  }
}

window.addEventListener('message', (event: MessageEvent) => {
  let m: FromHost;
  try {
    m = parseFromHost(event.data);
  } catch (e) {
    showNotice('error', `Ignored a malformed message from the extension: ${(e as Error).message}`);
    return;
  }
  handle(m);
});

// a fresh panel has no saved filter: the host's (e.g. one session's) applies
v.post(s.restored ? { type: 'ready', filter: s.persisted.filter } : { type: 'ready' });
if (s.persisted.timelineOpen) setTimelineOpen(true);
