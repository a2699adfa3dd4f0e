/**
 * The frames viewer webview: a virtualised table of the capture's records (only
 * the visible rows exist in the DOM; the host sends the window of rows shown), a
 * detail pane with every frame as text, hex dump or JSON, a filter bar, counters,
 * pause/clear/export/import, and a composer that sends from a socket the
 * extension opens. Plain DOM; data is only ever written with textContent.
 */
import {
  assertNever,
  COPY_FORMATS,
  ComposerFrame,
  Counters,
  DecoderRuleSpec,
  DEFAULT_FILTER,
  FrameDetail,
  FrameFilter,
  FromHost,
  FromWebview,
  parseFromHost,
  RECORD_KINDS,
  RecordDetail,
  RecordKind,
  RowSummary,
  SEND_MODES,
  SEND_SOCKET_TYPES,
  SendMode,
  SendSocketType,
} from '../shared/protocol/frames';
import { button, h, select, setOptions, setText } from './dom';
import { formatBytes, formatCount, formatTime } from '../shared/format';
import { base64ToBytes, bytesToHex, decodeUtf8Visible, DIRECTION_LABELS, hexDump, defaultView, prettyJson } from './frameViews';
import { decodedTree, diffView } from './decodedViews';
import { TimelineChart } from './timelineChart';

interface VsCodeApi<S> {
  postMessage(message: FromWebview): void;
  getState(): S | undefined;
  setState(state: S): void;
}
declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

interface ComposerState {
  socketType: SendSocketType;
  mode: SendMode;
  endpoint: string;
  frames: ComposerFrame[];
  open: boolean;
}

interface PersistedState {
  filter: FrameFilter;
  composer: ComposerState;
  timelineOpen: boolean;
}

const ROW_H = 22;
/** Browsers cap element heights (~33M px in Chromium): beyond this the scrollbar maps proportionally. */
const MAX_SCROLL_H = 8_000_000;
const OVERSCAN = 10;
const KIND_LABELS: Record<RecordKind, string> = { message: 'messages', event: 'events', command: 'commands', greeting: 'greetings', connection: 'connections', process: 'processes', socket: 'sockets' };

const vscode = acquireVsCodeApi<PersistedState>();
const saved = vscode.getState();
// saved by an older version, a state may lack fields: defaults fill them in
const state: PersistedState = {
  filter: { ...DEFAULT_FILTER, kinds: [...DEFAULT_FILTER.kinds], ...saved?.filter },
  composer: { socketType: 'PUSH', mode: 'connect', endpoint: 'tcp://127.0.0.1:5557', frames: [{ format: 'text', value: 'hello' }], open: false, ...saved?.composer },
  timelineOpen: saved?.timelineOpen ?? false,
};
const persist = () => vscode.setState(state);
const post = (m: FromWebview) => vscode.postMessage(m);

// ---- view state ----
let counters: Counters | undefined;
let base = 0;
let shown = 0;
let cache = new Map<number, RowSummary>();
let follow = true;
/** Absolute row at the top of the viewport while not following. */
let topRow = 0;
let newCount = 0;
let selectedSeq: number | undefined;
let selectedRow: number | undefined;
let selectedRecord: RecordDetail | undefined;
let lastWindowKey = '';
let lastWindowAt = 0;
let renderScheduled = false;
let sendId = 0;

// ---- layout ----
const app = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));

const pauseBtn = button('Pause', 'Freeze the view (the capture keeps counting)', () => post({ type: 'capture/setPaused', paused: !counters?.paused }));
const countersEl = h('span', { class: 'counters', attrs: { 'aria-live': 'polite' } });
const sourceEl = h('span', { class: 'source' });
/** Shown while a spy cannot keep up: the capture is then not all that was published. */
const behindEl = h('div', { class: 'behind-banner hidden', attrs: { role: 'alert' } });
const liveBtn = button('Back to live', 'Show the live capture again', () => post({ type: 'source/live' }), 'hidden');
const composerBtn = button('Send…', 'Compose and send a message', () => {
  state.composer.open = !state.composer.open;
  persist();
  composer.classList.toggle('hidden', !state.composer.open);
});
const toolbar = h(
  'div',
  { class: 'toolbar' },
  pauseBtn,
  button('Clear', 'Clear the capture', () => post({ type: 'capture/clear' })),
  button('Export all', 'Save every retained record as JSON Lines', () => post({ type: 'export/request', scope: 'all' })),
  button('Export filtered', 'Save the records that match the filter as JSON Lines', () => post({ type: 'export/request', scope: 'filtered' })),
  button('Import…', 'Open a capture (JSON Lines) in this viewer', () => post({ type: 'import/request' })),
  composerBtn,
  button('Timeline', 'Show msg/s and bytes/s over time; drag across it to filter a time range', () => setTimelineOpen(!state.timelineOpen), 'timeline-toggle'),
  sourceEl,
  liveBtn,
  countersEl,
);

// filter bar
const textInput = h('input', { class: 'filter-text', title: 'Text (or regular expression) searched in every frame', attrs: { type: 'text', placeholder: 'Filter frames…', 'aria-label': 'Filter frames' } });
const regexBox = h('input', { attrs: { type: 'checkbox', 'aria-label': 'Regular expression' } });
const caseBox = h('input', { attrs: { type: 'checkbox', 'aria-label': 'Match case' } });
const topicInput = h('input', { class: 'filter-topic', title: 'Topic prefix: text, or hex:0aff', attrs: { type: 'text', placeholder: 'Topic prefix', 'aria-label': 'Topic prefix' } });
const directionSel = select<FrameFilter['direction']>(
  [['', 'any direction'], ['in', 'in'], ['out', 'out'], ['toTarget', '→target'], ['fromTarget', '←target']],
  state.filter.direction,
  (v) => changeFilter({ direction: v }),
  'Direction',
);
const sessionSel = select<string>([['', 'any session']], '', (v) => changeFilter({ session: v }), 'Session');
const typeSel = select<string>([['', 'any socket type']], '', (v) => changeFilter({ socketType: v }), 'Socket type');
// agent records: one program (by pid, or every process of a name) and one of its sockets; shown once agents reported
const processSel = select<string>([['', 'any process']], '', (v) => changeFilter({ process: v, socket: '' }), 'Process (agent records)');
const socketSel = select<string>([['', 'any socket']], '', (v) => changeFilter({ socket: v }), 'Socket inside a program (agent records)');
processSel.classList.add('filter-process', 'hidden');
socketSel.classList.add('filter-socket', 'hidden');
const kindBoxes = RECORD_KINDS.map((k) => {
  const box = h('input', { attrs: { type: 'checkbox', 'data-kind': k } });
  box.addEventListener('change', () => changeFilter({ kinds: kindBoxes.filter((b) => b.checked).map((b) => b.dataset.kind as RecordKind) }));
  return box;
});
const decodedInput = h('input', {
  class: 'filter-decoded',
  title: 'Filter on decoded fields, e.g. msg_type == "execute_request" && content.code ~ /print/ (needs a decoder; see docs/decoders.md)',
  attrs: { type: 'text', placeholder: 'Decoded: field == "value"', 'aria-label': 'Filter on decoded fields', spellcheck: 'false' },
});
const timeChip = h('span', { class: 'filter-time hidden' });
const filterError = h('span', { class: 'filter-error', attrs: { role: 'alert' } });
const shownEl = h('span', { class: 'shown' });
const filterBar = h(
  'div',
  { class: 'filterbar' },
  textInput,
  h('label', { title: 'Regular expression' }, regexBox, '.*'),
  h('label', { title: 'Match case' }, caseBox, 'Aa'),
  topicInput,
  directionSel,
  sessionSel,
  typeSel,
  processSel,
  socketSel,
  decodedInput,
  timeChip,
  ...RECORD_KINDS.map((k, i) => h('label', { class: 'kind' }, kindBoxes[i], KIND_LABELS[k])),
  shownEl,
  filterError,
);

// table
const COLUMNS = ['time', 'session', 'endpoint', 'dir', 'type', 'topic', 'frames', 'size', 'preview'];
const head = h('div', { class: 'thead row' }, ...COLUMNS.map((c) => h('span', { class: `c-${c}` }, c)));
const rowsEl = h('div', { class: 'rows' });
const spacer = h('div', { class: 'spacer' }, rowsEl);
const viewport = h('div', { class: 'viewport', attrs: { tabindex: '0', role: 'grid', 'aria-label': 'Captured messages' } }, spacer);
const newPill = button('', 'Jump to the newest', () => {
  follow = true;
  newCount = 0;
  scheduleRender();
}, 'new-pill hidden');
const table = h('div', { class: 'table' }, head, viewport, newPill);
const detail = h('div', { class: 'detail' }, h('div', { class: 'placeholder' }, 'Select a row to see its frames.'));
const main = h('div', { class: 'main' }, table, detail);
const noticeEl = h('div', { class: 'notice', attrs: { role: 'status' } });

// composer
const composerResult = h('div', { class: 'send-result' });
const composerFrames = h('div', { class: 'composer-frames' });
const endpointInput = h('input', { class: 'endpoint', attrs: { type: 'text', 'aria-label': 'Endpoint', placeholder: 'tcp://127.0.0.1:5557' } });
const replayBtn = button('Replay selected', 'Send the selected message again through this socket', () => doSend(true));
const composer = h(
  'div',
  { class: 'composer hidden' },
  h(
    'div',
    { class: 'composer-head' },
    select<SendSocketType>(SEND_SOCKET_TYPES.map((t) => [t, t]), state.composer.socketType, (v) => {
      state.composer.socketType = v;
      persist();
    }, 'Socket type'),
    select<SendMode>(SEND_MODES.map((m) => [m, m]), state.composer.mode, (v) => {
      state.composer.mode = v;
      persist();
    }, 'Bind or connect'),
    endpointInput,
    button('+ Frame', 'Add a frame', () => {
      state.composer.frames.push({ format: 'text', value: '' });
      persist();
      renderComposerFrames();
    }),
    button('Send', 'Send these frames as one multipart message', () => doSend(false), 'primary send'),
    replayBtn,
  ),
  composerFrames,
  composerResult,
);

// decoder picker: which decoder reads everything, the selected row's session, or its topic
const decoderScope = select<'all' | 'session' | 'topic'>(
  [['all', 'all messages'], ['session', "the selected row's session"], ['topic', "the selected row's topic"]],
  'all',
  () => undefined,
  'Which messages the decoder reads',
);
const decoderList = h('datalist', { id: 'decoder-forms' });
const decoderSpec = h('input', {
  class: 'decoder-spec',
  title: 'json, msgpack, cbor, text, auto, jupyter[:CONNECTION_FILE], protobuf:FILE.proto:Type; empty removes the rule',
  attrs: { type: 'text', list: 'decoder-forms', placeholder: 'decoder, e.g. json', 'aria-label': 'Decoder', spellcheck: 'false' },
});
const decoderRulesEl = h('span', { class: 'decoder-rules muted' });
const applyDecoder = () => {
  const scope = decoderScope.value as 'all' | 'session' | 'topic';
  const row = selectedRecord;
  const match = scope === 'session' ? (row?.session ?? state.filter.session) : scope === 'topic' ? state.filter.topicPrefix || topicOfSelected() : '';
  if (scope !== 'all' && !match) {
    showNotice('error', `Select a row first: the decoder is for its ${scope}.`);
    return;
  }
  post({ type: 'decoder/set', spec: decoderSpec.value.trim(), scope, match });
};
decoderSpec.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') applyDecoder();
});
/**
 * The selected message's topic as a prefix (text, or hex: for binary): its first
 * body frame when it has several, else that frame's first word (`10001 23 45`).
 */
function topicOfSelected(): string {
  const body = selectedRecord?.frames.filter((f) => f.role === 'body') ?? [];
  if (!body.length) return '';
  let bytes = base64ToBytes(body[0].data).subarray(0, 256);
  if (body.length === 1) {
    const space = bytes.indexOf(0x20);
    if (space > 0) bytes = bytes.subarray(0, space);
  }
  const printable = bytes.length > 0 && bytes.every((b) => b >= 0x20 && b < 0x7f);
  const text = printable ? String.fromCharCode(...bytes) : '';
  return printable && !text.startsWith('hex:') ? text : `hex:${bytesToHex(bytes)}`;
}

const decoderBar = h(
  'div',
  { class: 'decoderbar' },
  h('span', { class: 'muted' }, 'Decode'),
  decoderScope,
  h('span', { class: 'muted' }, 'as'),
  decoderSpec,
  decoderList,
  button('Apply', 'Decode these messages with this decoder (an empty decoder removes the rule)', applyDecoder),
  decoderRulesEl,
);

// timeline chart (shown on demand; the host sends its series only while shown)
const timelineEl = h('div', { class: 'timeline hidden', attrs: { 'aria-label': 'Messages and bytes per second' } });
let chart: TimelineChart | undefined;
function setTimelineOpen(open: boolean): void {
  state.timelineOpen = open;
  persist();
  timelineEl.classList.toggle('hidden', !open);
  if (open) chart ??= new TimelineChart(timelineEl, (from, to) => changeFilter({ from, to }));
  post({ type: 'timeline/visible', visible: open });
}

function showDecoderRules(rules: DecoderRuleSpec[], available: string[]): void {
  decoderList.replaceChildren(...available.map((a) => h('option', { attrs: { value: a.replace(/\[.*\]$/, '') } })));
  const scope = (r: DecoderRuleSpec) => (r.topicPrefix !== undefined ? `topic "${r.topicPrefix}"` : r.session !== undefined ? `session ${r.session}` : r.endpoint !== undefined ? r.endpoint : 'all');
  setText(decoderRulesEl, rules.length ? rules.map((r) => `${r.spec} (${scope(r)})`).join(' · ') : 'no decoder');
  decoderRulesEl.dataset.rules = JSON.stringify(rules);
}

app.append(toolbar, behindEl, filterBar, decoderBar, timelineEl, composer, main, noticeEl);

// ---- filter ----
function showFilter(f: FrameFilter): void {
  if (document.activeElement !== textInput) textInput.value = f.text;
  regexBox.checked = f.regex;
  caseBox.checked = f.caseSensitive;
  if (document.activeElement !== topicInput) topicInput.value = f.topicPrefix;
  directionSel.value = f.direction;
  sessionSel.value = f.session;
  typeSel.value = f.socketType;
  processSel.value = f.process ?? '';
  socketSel.value = f.socket ?? '';
  for (const b of kindBoxes) b.checked = f.kinds.includes(b.dataset.kind as RecordKind);
  if (document.activeElement !== decodedInput) decodedInput.value = f.decoded;
  const ranged = !!(f.from || f.to);
  timeChip.classList.toggle('hidden', !ranged);
  if (ranged) {
    timeChip.replaceChildren(
      `time ${f.from ? formatTime(f.from) : '…'} – ${f.to ? formatTime(f.to) : '…'} `,
      button('✕', 'Show every time again', () => {
        changeFilter({ from: 0, to: 0 });
        showFilter(state.filter);
      }, 'chip-clear'),
    );
    timeChip.dataset.from = String(f.from);
    timeChip.dataset.to = String(f.to);
  }
}

let filterTimer: ReturnType<typeof setTimeout> | undefined;
function changeFilter(patch: Partial<FrameFilter>, debounce = 0): void {
  state.filter = { ...state.filter, ...patch };
  persist();
  if ('from' in patch || 'to' in patch) showFilter(state.filter);
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => post({ type: 'filter/changed', filter: state.filter }), debounce);
}
textInput.addEventListener('input', () => changeFilter({ text: textInput.value }, 150));
topicInput.addEventListener('input', () => changeFilter({ topicPrefix: topicInput.value }, 150));
decodedInput.addEventListener('input', () => changeFilter({ decoded: decodedInput.value }, 300));
regexBox.addEventListener('change', () => changeFilter({ regex: regexBox.checked }));
caseBox.addEventListener('change', () => changeFilter({ caseSensitive: caseBox.checked }));
showFilter(state.filter);

// ---- counters ----
function showBehind(b: Counters['behind']): void {
  behindEl.classList.toggle('hidden', !b);
  if (!b) {
    delete behindEl.dataset.sessions;
    return;
  }
  const who = b.sessions.length === 1 ? b.sessions[0] : `${b.sessions.length} spies (${b.sessions.join(', ')})`;
  const backlog = b.backlogBytes !== undefined ? `; at least ${formatBytes(b.backlogBytes)} waiting in the socket buffers` : '; the backlog is not known';
  const since = new Date(b.since).toLocaleTimeString();
  setText(behindEl, `⚠ ${who}: falling behind — the publisher may be dropping messages for this subscriber at its HWM (since ${since}${backlog}). The capture is not everything that was published.`);
  behindEl.dataset.sessions = b.sessions.join(',');
  behindEl.dataset.backlog = b.backlogBytes !== undefined ? String(b.backlogBytes) : '';
}

function showCounters(c: Counters): void {
  counters = c;
  setText(pauseBtn, c.paused ? 'Resume' : 'Pause');
  pauseBtn.classList.toggle('active', c.paused);
  const rate = c.rate ? ` · ${formatCount(c.rate)} msg/s` : '';
  // while a spy is behind, what its publisher dropped is not known: never "dropped 0" as if all were well
  const dropped = c.behind ? `dropped ${c.dropped ? `≥ ${formatCount(c.dropped)}` : 'unknown'} (falling behind)` : `dropped ${formatCount(c.dropped)}`;
  setText(countersEl, `${c.paused ? 'PAUSED · ' : ''}received ${formatCount(c.received)} · evicted ${formatCount(c.evicted)} · ${dropped}${rate}`);
  countersEl.dataset.received = String(c.received);
  countersEl.dataset.evicted = String(c.evicted);
  countersEl.dataset.dropped = String(c.dropped);
  countersEl.dataset.behind = c.behind ? 'true' : 'false';
  showBehind(c.behind);
  setText(shownEl, `${formatCount(c.shown)} / ${formatCount(c.retained)}${c.scanning ? ` · filtering, ${formatCount(c.scanning)} to go` : ''}`);
  shownEl.dataset.scanning = String(c.scanning);
  shownEl.dataset.shown = String(c.shown);
  shownEl.dataset.total = String(c.retained);
  const live = c.source === 'live';
  setText(sourceEl, live ? '' : `Viewing import: ${c.source}`);
  liveBtn.classList.toggle('hidden', live);
  const sessions = c.sessions.join('\n');
  if (sessionSel.dataset.list !== sessions || !sessionSel.dataset.list) {
    sessionSel.dataset.list = sessions;
    setOptions(sessionSel, [['', 'any session'], ...withCurrent(c.sessions, state.filter.session).map((s): [string, string] => [s, s])]);
    sessionSel.value = state.filter.session;
  }
  const types = c.socketTypes.join('\n');
  if (typeSel.dataset.list !== types || !typeSel.dataset.list) {
    typeSel.dataset.list = types;
    setOptions(typeSel, [['', 'any socket type'], ...withCurrent(c.socketTypes, state.filter.socketType).map((s): [string, string] => [s, s])]);
    typeSel.value = state.filter.socketType;
  }
  showAgentChoices(c);
}

/** The process and socket drop-downs, from the programs and sockets the agents reported. */
function showAgentChoices(c: Counters): void {
  const procs = c.processes ?? [];
  const f = state.filter;
  const names = new Map<string, number>();
  for (const p of procs) names.set(p.name, (names.get(p.name) ?? 0) + 1);
  const procOptions: [string, string][] = [];
  for (const [name, n] of names) if (n > 1) procOptions.push([name, `${name} (${n} processes)`]);
  for (const p of procs) procOptions.push([String(p.pid), `${p.name} · pid ${p.pid}`]);
  if (f.process && !procOptions.some(([v]) => v === f.process)) procOptions.push([f.process, f.process]);
  // the sockets of the chosen process (all when none is chosen)
  const chosen = f.process ? new Set(procs.filter((p) => String(p.pid) === f.process || p.name === f.process).map((p) => p.pid)) : undefined;
  const socks = (c.sockets ?? []).filter((s) => !chosen || chosen.has(s.pid));
  const sockOptions: [string, string][] = socks.map((s) => [s.id, `${s.id}${s.type ? ` ${s.type}` : ''}`]);
  if (f.socket && !sockOptions.some(([v]) => v === f.socket)) sockOptions.push([f.socket, f.socket]);
  const list = JSON.stringify([procOptions, sockOptions]);
  if (processSel.dataset.list === list) return;
  processSel.dataset.list = list;
  setOptions(processSel, [['', 'any process'], ...procOptions]);
  setOptions(socketSel, [['', 'any socket'], ...sockOptions]);
  processSel.value = f.process ?? '';
  socketSel.value = f.socket ?? '';
  const any = procOptions.length > 0 || sockOptions.length > 0;
  processSel.classList.toggle('hidden', !any);
  socketSel.classList.toggle('hidden', !any);
}

function withCurrent(list: string[], current: string): string[] {
  return current && !list.includes(current) ? [...list, current] : list;
}

// ---- the virtualised table ----
const pool: HTMLDivElement[] = [];

function makeRow(): HTMLDivElement {
  const el = h('div', { class: 'row', attrs: { role: 'row' } }, ...COLUMNS.map((c) => h('span', { class: `c-${c}`, attrs: { role: 'gridcell' } })));
  el.addEventListener('click', () => {
    const seq = Number(el.dataset.seq);
    if (!seq) return;
    if (follow) {
      // inspecting a row: keep it in view instead of following the newest
      follow = false;
      topRow = base + Math.floor(scrollGeometry().rowAt(viewport.scrollTop));
    }
    selectRow(seq, Number(el.dataset.row));
  });
  rowsEl.append(el);
  return el;
}

function fillRow(el: HTMLDivElement, abs: number, r: RowSummary | undefined): void {
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
      const values = [
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
      for (let i = 0; i < cells.length; i++) cells[i].textContent = values[i];
      el.className = `row k-${r.kind}${r.decodeError ? ' decode-error' : ''}`;
      el.title = `#${r.seq} ${r.preview}`;
    }
  }
  el.classList.toggle('selected', r !== undefined && r.seq === selectedSeq);
}

function scrollGeometry() {
  const vh = viewport.clientHeight || 400;
  const fullH = shown * ROW_H;
  const height = Math.min(fullH, MAX_SCROLL_H);
  const scaled = fullH > MAX_SCROLL_H;
  const visible = Math.ceil(vh / ROW_H) + 1;
  const maxScroll = Math.max(1, height - vh);
  const maxTop = Math.max(0, shown - Math.floor(vh / ROW_H));
  return {
    vh,
    height,
    visible,
    /** Row (relative to base, fractional) at a scroll position. */
    rowAt: (st: number) => (scaled ? (st / maxScroll) * maxTop : st / ROW_H),
    scrollFor: (row: number) => (scaled ? (row / Math.max(1, maxTop)) * maxScroll : row * ROW_H),
  };
}

/** Where render() left the viewport's scrollTop; a scroll event there is ours. */
let ownScrollTop = -1;

function scheduleRender(): void {
  if (renderScheduled) return;
  renderScheduled = true;
  requestAnimationFrame(() => {
    renderScheduled = false;
    render();
  });
}

function render(): void {
  const g = scrollGeometry();
  const hpx = `${g.height}px`;
  if (spacer.style.height !== hpx) spacer.style.height = hpx;
  if (follow) {
    const bottom = Math.max(0, g.height - g.vh);
    if (Math.abs(viewport.scrollTop - bottom) >= 1) viewport.scrollTop = bottom;
  } else {
    if (topRow < base) topRow = base;
    const want = g.scrollFor(topRow - base);
    if (Math.abs(viewport.scrollTop - want) >= ROW_H) viewport.scrollTop = want;
  }
  const st = viewport.scrollTop;
  ownScrollTop = st;
  const rel = g.rowAt(st);
  const firstRel = Math.floor(rel);
  const first = base + firstRel;
  rowsEl.style.transform = `translateY(${st - (rel - firstRel) * ROW_H}px)`;
  while (pool.length < g.visible) pool.push(makeRow());
  let missing = false;
  for (let i = 0; i < pool.length; i++) {
    const el = pool[i];
    const abs = first + i;
    if (i >= g.visible || abs >= base + shown) {
      if (!el.classList.contains('hidden')) el.classList.add('hidden');
      continue;
    }
    el.classList.remove('hidden');
    const r = cache.get(abs);
    if (!r) missing = true;
    fillRow(el, abs, r);
  }
  newPill.classList.toggle('hidden', follow || newCount === 0);
  if (!follow && newCount) setText(newPill, `${formatCount(newCount)} new ↓`);
  requestWindow(first, g.visible, missing);
}

function requestWindow(first: number, visible: number, missing: boolean): void {
  const start = Math.max(base, first - OVERSCAN);
  const count = visible + 2 * OVERSCAN;
  const key = follow ? `follow ${count}` : `${start} ${count}`;
  const now = performance.now();
  if (key !== lastWindowKey || (missing && now - lastWindowAt > 250)) {
    lastWindowKey = key;
    lastWindowAt = now;
    post({ type: 'view/window', start, count, follow });
  }
}

viewport.addEventListener('scroll', () => {
  // the scroll render() made (rows added or evicted): not the user's. Judging it
  // would stop following whenever the layout shifted in between (the viewport a
  // few pixels shorter when a counter appears, say) and leave the newest rows.
  if (Math.abs(viewport.scrollTop - ownScrollTop) < 1) return;
  const g = scrollGeometry();
  // measured on the DOM as rendered: a batch that arrived since (more rows, not yet
  // laid out) must not make the view think the user scrolled away from the bottom
  const atBottom = viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - 2;
  if (atBottom !== follow) {
    follow = atBottom;
    if (follow) newCount = 0;
  }
  topRow = base + Math.floor(g.rowAt(viewport.scrollTop));
  scheduleRender();
});
new ResizeObserver(() => scheduleRender()).observe(viewport);

function storeRows(start: number, rows: RowSummary[]): void {
  if (cache.size > 4000) {
    // keep what is near the view
    const keepFrom = (follow ? base + shown : topRow) - 1000;
    const keepTo = (follow ? base + shown : topRow) + 1000;
    const next = new Map<number, RowSummary>();
    for (const [k, v] of cache) if (k >= keepFrom && k <= keepTo) next.set(k, v);
    cache = next;
  }
  rows.forEach((r, i) => cache.set(start + i, r));
}

// ---- selection and detail ----
function selectRow(seq: number, row: number): void {
  selectedSeq = seq;
  selectedRow = row;
  post({ type: 'row/select', seq });
  replayBtn.disabled = false;
  for (const el of pool) el.classList.toggle('selected', el.dataset.seq === String(seq));
}

viewport.addEventListener('keydown', (e) => {
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
  e.preventDefault();
  const next = (selectedRow ?? base + shown - 1) + (e.key === 'ArrowDown' ? 1 : -1);
  if (next < base || next >= base + shown) return;
  const r = cache.get(next);
  if (!r) return;
  follow = false;
  const g = scrollGeometry();
  const visibleRows = Math.floor(g.vh / ROW_H);
  if (next < topRow) topRow = next;
  else if (next >= topRow + visibleRows) topRow = next - visibleRows + 1;
  selectRow(r.seq, next);
  scheduleRender();
});

function renderDetail(d: RecordDetail): void {
  selectedRecord = d;
  const fields = h('table', { class: 'fields' });
  const add = (k: string, v: string) => fields.append(h('tr', {}, h('th', {}, k), h('td', {}, v)));
  add('#', String(d.seq));
  add('time', `${formatTime(d.ts)} (${new Date(d.ts).toISOString()})`);
  add('kind', d.kind);
  add('session', d.session);
  add('endpoint', d.endpoint);
  if (d.direction) add('direction', DIRECTION_LABELS[d.direction]);
  for (const [k, v] of d.fields) add(k, v);
  const frames = d.frames.map((f) => frameBlock(f, d.seq));
  const title = d.kind === 'message' ? `${d.frames.length} frame${d.frames.length === 1 ? '' : 's'}` : d.kind;
  const decoded: HTMLElement[] = [];
  if (d.decoded) {
    decoded.push(h('div', { class: 'decoded' }, h('div', { class: 'section-title' }, `Decoded (${d.decoded.decoder}${d.decoded.topic !== undefined ? ` · topic ${d.decoded.topic}` : ''})`), decodedTree(d.decoded.value)));
  } else if (d.decodeError) decoded.push(h('div', { class: 'warn decode-error' }, `Not decoded — ${d.decodeError}. The frames below are the bytes as captured.`));
  if (d.diff) decoded.push(diffView(d.diff));
  detail.replaceChildren(h('div', { class: 'detail-title' }, `#${d.seq} · ${title}`), fields, ...decoded, ...frames);
  if (d.encrypted) fields.after(h('div', { class: 'warn' }, 'CURVE-encrypted: the body cannot be shown.'));
}

/** One frame: header with index, length and role, view tabs (text, hex, JSON) and copy buttons (when `seq` is known). */
function frameBlock(f: FrameDetail, seq?: number): HTMLElement {
  const bytes = base64ToBytes(f.data);
  const json = prettyJson(bytes, true);
  const label = f.role === 'envelope' ? 'envelope (identity)' : f.role === 'delimiter' ? 'empty delimiter' : f.length === 0 ? 'empty' : '';
  const size = f.originalLength !== undefined ? `${formatCount(f.length)} of ${formatCount(f.originalLength)} B (truncated by the capture)` : `${formatCount(f.length)} B`;
  const body = h('div', { class: 'frame-body' });
  const tabs = h('div', { class: 'tabs', attrs: { role: 'tablist' } });
  let current: 'text' | 'hex' | 'json' = defaultView(bytes);
  if (current === 'json' && json === undefined) current = 'text';
  const show = (view: 'text' | 'hex' | 'json') => {
    current = view;
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
  const copies =
    seq === undefined
      ? []
      : COPY_FORMATS.map((as) => button(`Copy ${as}`, `Copy this frame as ${as}`, () => post({ type: 'frame/copy', seq, index: f.index, as }), 'copy'));
  const block = h(
    'div',
    { class: `frame role-${f.role}`, attrs: { 'data-index': String(f.index) } },
    h('div', { class: 'frame-head' }, h('span', { class: 'frame-index' }, `Frame ${f.index}`), h('span', { class: 'frame-size' }, size), label ? h('span', { class: 'badge' }, label) : null, tabs, ...copies),
    body,
  );
  show(current);
  return block;
}

function frameView(bytes: Uint8Array, view: 'text' | 'hex' | 'json', json: string | undefined): HTMLElement {
  if (view === 'hex') return h('pre', { class: 'hex' }, bytes.length ? hexDump(bytes) : '(empty)');
  if (view === 'json') return h('pre', { class: 'json' }, json ?? '');
  const pre = h('pre', { class: 'text' });
  if (!bytes.length) pre.append(h('span', { class: 'muted' }, '(empty)'));
  for (const seg of decodeUtf8Visible(bytes)) {
    pre.append(seg.mark ? h('span', { class: `esc ${seg.mark}`, title: seg.mark === 'bad' ? 'byte that is not valid UTF-8' : 'control character' }, seg.text) : seg.text);
  }
  return pre;
}

// ---- composer ----
function renderComposerFrames(): void {
  composerFrames.replaceChildren(
    ...state.composer.frames.map((f, i) => {
      const ta = h('textarea', { attrs: { rows: '1', 'aria-label': `Frame ${i + 1}`, spellcheck: 'false' } });
      ta.value = f.value;
      ta.addEventListener('input', () => {
        f.value = ta.value;
        persist();
      });
      const fmt = select(
        [['text', 'text'], ['hex', 'hex'], ['json', 'JSON']],
        f.format,
        (v) => {
          f.format = v as ComposerFrame['format'];
          persist();
        },
        'Frame format',
      );
      return h(
        'div',
        { class: 'composer-frame' },
        h('span', { class: 'frame-index' }, String(i + 1)),
        fmt,
        ta,
        button('✕', 'Remove this frame', () => {
          state.composer.frames.splice(i, 1);
          persist();
          renderComposerFrames();
        }),
      );
    }),
  );
}
endpointInput.value = state.composer.endpoint;
endpointInput.addEventListener('input', () => {
  state.composer.endpoint = endpointInput.value;
  persist();
});
renderComposerFrames();
composer.classList.toggle('hidden', !state.composer.open);
replayBtn.disabled = true;

function doSend(replay: boolean): void {
  if (replay && (selectedSeq === undefined || selectedRecord?.kind !== 'message')) {
    showSendResult(false, 'Select a captured message to replay it.');
    return;
  }
  const c = state.composer;
  const m: FromWebview = { type: 'send/request', id: ++sendId, socketType: c.socketType, mode: c.mode, endpoint: c.endpoint.trim(), frames: c.frames };
  if (replay) m.replaySeq = selectedSeq;
  composerResult.replaceChildren(h('span', { class: 'muted' }, 'Sending…'));
  post(m);
}

function showSendResult(ok: boolean, message: string, reply?: FrameDetail[]): void {
  composerResult.replaceChildren(h('div', { class: ok ? 'ok' : 'error' }, message), ...(reply ? [h('div', { class: 'reply-title' }, 'Reply'), ...reply.map((f) => frameBlock(f))] : []));
}

// ---- messages from the host ----
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

function handle(m: FromHost): void {
  switch (m.type) {
    case 'frames/reset':
      if (counters && counters.source !== m.counters.source) {
        // another capture (an import, or back to live): seq numbers mean other records
        selectedSeq = selectedRow = selectedRecord = undefined;
        replayBtn.disabled = true;
        detail.replaceChildren(h('div', { class: 'placeholder' }, 'Select a row to see its frames.'));
      }
      cache = new Map();
      base = m.base;
      shown = m.counters.shown;
      storeRows(m.start, m.rows);
      if (m.filterFromHost) {
        // the host set it (restored panel, "open for session"); otherwise the inputs are the truth
        state.filter = m.filter;
        persist();
        showFilter(m.filter);
      }
      setText(filterError, m.filterError ?? '');
      showCounters(m.counters);
      lastWindowKey = '';
      if (!follow) topRow = Math.max(base, Math.min(topRow, base + shown - 1));
      scheduleRender();
      return;
    case 'frames/appended':
      base = m.base;
      shown = m.counters.shown;
      storeRows(m.start, m.rows);
      if (!follow) newCount += m.added;
      showCounters(m.counters);
      scheduleRender();
      return;
    case 'counters':
      showCounters(m.counters);
      return;
    case 'frame/detail':
      if (m.seq !== selectedSeq) return;
      if (m.detail) renderDetail(m.detail);
      else {
        selectedRecord = undefined;
        detail.replaceChildren(h('div', { class: 'placeholder' }, m.missing ?? 'Not available.'));
      }
      return;
    case 'send/result':
      if (m.id === sendId) showSendResult(m.ok, m.message, m.reply);
      return;
    case 'notice':
      showNotice(m.level, m.text);
      return;
    case 'timeline':
      if (state.timelineOpen) chart?.update(m.series);
      return;
    case 'decoders':
      showDecoderRules(m.rules, m.available);
      return;
    default:
      assertNever(m);
  }
}

function showNotice(level: 'info' | 'error', text: string): void {
  noticeEl.className = `notice ${level}`;
  setText(noticeEl, text);
}

// a fresh panel has no saved filter: the host's (e.g. one session's) applies
post(saved ? { type: 'ready', filter: state.filter } : { type: 'ready' });
if (state.timelineOpen) setTimelineOpen(true);
