/**
 * The frames viewer's toolbar (pause, clear, export, import, the composer and
 * timeline toggles), the counters and the banner shown while a spy falls
 * behind: then the capture is not all that was published, and it says so.
 */
import { Counters, FromWebview } from '../shared/protocol/frames';
import { formatBytes, formatCount } from '../shared/format';
import { button, h, setText } from './dom';
import type { Viewer } from './framesState';

export interface FramesToolbar {
  el: HTMLElement;
  behind: HTMLElement;
  showCounters(c: Counters): void;
}

export function createToolbar(v: Viewer, toggles: { composer(): void; timeline(): void }): FramesToolbar {
  const post = (m: FromWebview) => v.post(m);
  const pauseBtn = button('Pause', 'Freeze the view (the capture keeps counting)', () => post({ type: 'capture/setPaused', paused: !v.state.counters?.paused }));
  const countersEl = h('span', { class: 'counters', attrs: { 'aria-live': 'polite' } });
  const sourceEl = h('span', { class: 'source' });
  const behind = h('div', { class: 'behind-banner hidden', attrs: { role: 'alert' } });
  const liveBtn = button('Back to live', 'Show the live capture again', () => post({ type: 'source/live' }), 'hidden');
  const el = h(
    'div',
    { class: 'toolbar' },
    pauseBtn,
    button('Clear', 'Clear the capture', () => post({ type: 'capture/clear' })),
    button('Export all', 'Save every retained record as JSON Lines', () => post({ type: 'export/request', scope: 'all' })),
    button('Export filtered', 'Save the records that match the filter as JSON Lines', () => post({ type: 'export/request', scope: 'filtered' })),
    button('Import…', 'Open a capture (JSON Lines) in this viewer', () => post({ type: 'import/request' })),
    button('Send…', 'Compose and send a message', toggles.composer),
    button('Timeline', 'Show msg/s and bytes/s over time; drag across it to filter a time range', toggles.timeline, 'timeline-toggle'),
    sourceEl,
    liveBtn,
    countersEl,
  );

  function showCounters(c: Counters): void {
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
    showBehind(behind, c.behind);
    const live = c.source === 'live';
    setText(sourceEl, live ? '' : `Viewing import: ${c.source}`);
    liveBtn.classList.toggle('hidden', live);
  }

  return { el, behind, showCounters };
}

function showBehind(el: HTMLElement, b: Counters['behind']): void {
  el.classList.toggle('hidden', !b);
  if (!b) {
    delete el.dataset.sessions;
    return;
  }
  const who = b.sessions.length === 1 ? b.sessions[0] : `${b.sessions.length} spies (${b.sessions.join(', ')})`;
  const backlog = b.backlogBytes !== undefined ? `; at least ${formatBytes(b.backlogBytes)} waiting in the socket buffers` : '; the backlog is not known';
  const since = new Date(b.since).toLocaleTimeString();
  setText(el, `⚠ ${who}: falling behind — the publisher may be dropping messages for this subscriber at its HWM (since ${since}${backlog}). The capture is not everything that was published.`);
  el.dataset.sessions = b.sessions.join(',');
  el.dataset.backlog = b.backlogBytes !== undefined ? String(b.backlogBytes) : '';
}
