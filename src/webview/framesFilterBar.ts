/**
 * The frames viewer's filter bar: text or regex over every frame, topic
 * prefix, direction, session, socket type, program and socket (agent records),
 * decoded fields, kinds and a time range (brushed on the timeline); and how
 * many rows the filter shows. Typing is debounced; the host scans.
 */
import { Counters, FrameFilter, RECORD_KINDS, RecordKind } from '../shared/protocol/frames';
import { formatCount, formatTime } from '../shared/format';
import { button, h, select, setOptions, setText } from './dom';
import type { Viewer } from './framesState';

const KIND_LABELS: Record<RecordKind, string> = { message: 'messages', event: 'events', command: 'commands', greeting: 'greetings', connection: 'connections', process: 'processes', socket: 'sockets' };

export interface FramesFilterBar {
  el: HTMLElement;
  /** Shows a filter in the inputs (the one typed is left alone while focused). */
  show(f: FrameFilter): void;
  change(patch: Partial<FrameFilter>, debounce?: number): void;
  setError(text: string): void;
  /** The drop-downs' choices and the count of rows shown. */
  showCounters(c: Counters): void;
}

export function createFilterBar(v: Viewer): FramesFilterBar {
  const persisted = v.state.persisted;
  const change = (patch: Partial<FrameFilter>, debounce = 0) => {
    persisted.filter = { ...persisted.filter, ...patch };
    v.persist();
    if ('from' in patch || 'to' in patch) show(persisted.filter);
    clearTimeout(v.state.filterTimer);
    v.state.filterTimer = setTimeout(() => v.post({ type: 'filter/changed', filter: persisted.filter }), debounce);
  };
  const e = filterElements(persisted.filter, change);

  function show(f: FrameFilter): void {
    if (document.activeElement !== e.text) e.text.value = f.text;
    e.regex.checked = f.regex;
    e.caseSensitive.checked = f.caseSensitive;
    if (document.activeElement !== e.topic) e.topic.value = f.topicPrefix;
    e.direction.value = f.direction;
    e.session.value = f.session;
    e.type.value = f.socketType;
    e.process.value = f.process ?? '';
    e.socket.value = f.socket ?? '';
    for (const b of e.kinds) b.checked = f.kinds.includes(b.dataset.kind as RecordKind);
    if (document.activeElement !== e.decoded) e.decoded.value = f.decoded;
    const ranged = !!(f.from || f.to);
    e.time.classList.toggle('hidden', !ranged);
    if (!ranged) return;
    e.time.replaceChildren(
      `time ${f.from ? formatTime(f.from) : '…'} – ${f.to ? formatTime(f.to) : '…'} `,
      button('✕', 'Show every time again', () => {
        change({ from: 0, to: 0 });
        show(persisted.filter);
      }, 'chip-clear'),
    );
    e.time.dataset.from = String(f.from);
    e.time.dataset.to = String(f.to);
  }

  e.text.addEventListener('input', () => change({ text: e.text.value }, 150));
  e.topic.addEventListener('input', () => change({ topicPrefix: e.topic.value }, 150));
  e.decoded.addEventListener('input', () => change({ decoded: e.decoded.value }, 300));
  e.regex.addEventListener('change', () => change({ regex: e.regex.checked }));
  e.caseSensitive.addEventListener('change', () => change({ caseSensitive: e.caseSensitive.checked }));
  show(persisted.filter);

  function showCounters(c: Counters): void {
    setText(e.shown, `${formatCount(c.shown)} / ${formatCount(c.retained)}${c.scanning ? ` · filtering, ${formatCount(c.scanning)} to go` : ''}`);
    e.shown.dataset.scanning = String(c.scanning);
    e.shown.dataset.shown = String(c.shown);
    e.shown.dataset.total = String(c.retained);
    const f = persisted.filter;
    listChoices(e.session, 'any session', c.sessions, f.session);
    listChoices(e.type, 'any socket type', c.socketTypes, f.socketType);
    showAgentChoices(e, c, f);
  }

  const bar = h(
    'div',
    { class: 'filterbar' },
    e.text,
    h('label', { title: 'Regular expression' }, e.regex, '.*'),
    h('label', { title: 'Match case' }, e.caseSensitive, 'Aa'),
    e.topic,
    e.direction,
    e.session,
    e.type,
    e.process,
    e.socket,
    e.decoded,
    e.time,
    ...RECORD_KINDS.map((k, i) => h('label', { class: 'kind' }, e.kinds[i], KIND_LABELS[k])),
    e.shown,
    e.error,
  );
  return { el: bar, show, change, setError: (text) => setText(e.error, text), showCounters };
}

type FilterElements = ReturnType<typeof filterElements>;

function filterElements(f: FrameFilter, change: (patch: Partial<FrameFilter>) => void) {
  const input = (cls: string, title: string, placeholder: string, label: string) => h('input', { class: cls, title, attrs: { type: 'text', placeholder, 'aria-label': label } });
  const box = (label: string) => h('input', { attrs: { type: 'checkbox', 'aria-label': label } });
  const kinds: HTMLInputElement[] = RECORD_KINDS.map((k) => {
    const b = h('input', { attrs: { type: 'checkbox', 'data-kind': k } });
    b.addEventListener('change', () => change({ kinds: kinds.filter((x) => x.checked).map((x) => x.dataset.kind as RecordKind) }));
    return b;
  });
  const e = {
    text: input('filter-text', 'Text (or regular expression) searched in every frame', 'Filter frames…', 'Filter frames'),
    regex: box('Regular expression'),
    caseSensitive: box('Match case'),
    topic: input('filter-topic', 'Topic prefix: text, or hex:0aff', 'Topic prefix', 'Topic prefix'),
    direction: select<FrameFilter['direction']>(
      [['', 'any direction'], ['in', 'in'], ['out', 'out'], ['toTarget', '→target'], ['fromTarget', '←target']],
      f.direction,
      (x) => change({ direction: x }),
      'Direction',
    ),
    session: select<string>([['', 'any session']], '', (x) => change({ session: x }), 'Session'),
    type: select<string>([['', 'any socket type']], '', (x) => change({ socketType: x }), 'Socket type'),
    // agent records: one program (by pid, or every process of a name) and one of its sockets; shown once agents reported
    process: select<string>([['', 'any process']], '', (x) => change({ process: x, socket: '' }), 'Process (agent records)'),
    socket: select<string>([['', 'any socket']], '', (x) => change({ socket: x }), 'Socket inside a program (agent records)'),
    kinds,
    decoded: h('input', {
      class: 'filter-decoded',
      title: 'Filter on decoded fields, e.g. msg_type == "execute_request" && content.code ~ /print/ (needs a decoder; see docs/decoders.md)',
      attrs: { type: 'text', placeholder: 'Decoded: field == "value"', 'aria-label': 'Filter on decoded fields', spellcheck: 'false' },
    }),
    time: h('span', { class: 'filter-time hidden' }),
    error: h('span', { class: 'filter-error', attrs: { role: 'alert' } }),
    shown: h('span', { class: 'shown' }),
  };
  e.process.classList.add('filter-process', 'hidden');
  e.socket.classList.add('filter-socket', 'hidden');
  return e;
}

/** A drop-down's choices (the current one kept even when no longer seen), redrawn only when they change. */
function listChoices(sel: HTMLSelectElement, any: string, list: string[], current: string): void {
  const key = list.join('\n');
  if (sel.dataset.list === key && sel.dataset.list) return;
  sel.dataset.list = key;
  const withCurrent = current && !list.includes(current) ? [...list, current] : list;
  setOptions(sel, [['', any], ...withCurrent.map((s): [string, string] => [s, s])]);
  sel.value = current;
}

/** The process and socket drop-downs, from the programs and sockets the agents reported. */
function showAgentChoices(e: FilterElements, c: Counters, f: FrameFilter): void {
  const procs = c.processes ?? [];
  const names = new Map<string, number>();
  for (const p of procs) names.set(p.name, (names.get(p.name) ?? 0) + 1);
  const procOptions: [string, string][] = [];
  for (const [name, n] of names) if (n > 1) procOptions.push([name, `${name} (${n} processes)`]);
  for (const p of procs) procOptions.push([String(p.pid), `${p.name} · pid ${p.pid}`]);
  if (f.process && !procOptions.some(([x]) => x === f.process)) procOptions.push([f.process, f.process]);
  // the sockets of the chosen process (all when none is chosen)
  const chosen = f.process ? new Set(procs.filter((p) => String(p.pid) === f.process || p.name === f.process).map((p) => p.pid)) : undefined;
  const socks = (c.sockets ?? []).filter((s) => !chosen || chosen.has(s.pid));
  const sockOptions: [string, string][] = socks.map((s) => [s.id, `${s.id}${s.type ? ` ${s.type}` : ''}`]);
  if (f.socket && !sockOptions.some(([x]) => x === f.socket)) sockOptions.push([f.socket, f.socket]);
  const list = JSON.stringify([procOptions, sockOptions]);
  if (e.process.dataset.list === list) return;
  e.process.dataset.list = list;
  setOptions(e.process, [['', 'any process'], ...procOptions]);
  setOptions(e.socket, [['', 'any socket'], ...sockOptions]);
  e.process.value = f.process ?? '';
  e.socket.value = f.socket ?? '';
  const any = procOptions.length > 0 || sockOptions.length > 0;
  e.process.classList.toggle('hidden', !any);
  e.socket.classList.toggle('hidden', !any);
}
