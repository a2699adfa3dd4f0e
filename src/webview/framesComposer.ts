/**
 * The frames viewer's composer: frames typed as text, hex or JSON, sent as one
 * multipart message from a socket the extension opens (bind or connect), or
 * the selected message replayed; the reply, if any, shown as frames.
 */
import { ComposerFrame, FrameDetail, FromWebview, SEND_MODES, SEND_SOCKET_TYPES, SendMode, SendSocketType } from '../shared/protocol/frames';
import { button, h, select } from './dom';
import { frameBlock } from './framesDetail';
import type { Viewer } from './framesState';

export interface FramesComposer {
  el: HTMLElement;
  toggle(): void;
  /** Replay needs a selected message. */
  setReplayable(on: boolean): void;
  showResult(ok: boolean, message: string, reply?: FrameDetail[]): void;
}

export function createComposer(v: Viewer): FramesComposer {
  const c = v.state.persisted.composer;
  const result = h('div', { class: 'send-result' });
  const framesEl = h('div', { class: 'composer-frames' });
  const endpointInput = h('input', { class: 'endpoint', attrs: { type: 'text', 'aria-label': 'Endpoint', placeholder: 'tcp://127.0.0.1:5557' } });
  const replayBtn = button('Replay selected', 'Send the selected message again through this socket', () => send(true));
  const head = h(
    'div',
    { class: 'composer-head' },
    select<SendSocketType>(SEND_SOCKET_TYPES.map((t) => [t, t]), c.socketType, (x) => {
      c.socketType = x;
      v.persist();
    }, 'Socket type'),
    select<SendMode>(SEND_MODES.map((m) => [m, m]), c.mode, (x) => {
      c.mode = x;
      v.persist();
    }, 'Bind or connect'),
    endpointInput,
    button('+ Frame', 'Add a frame', () => {
      c.frames.push({ format: 'text', value: '' });
      v.persist();
      renderFrames();
    }),
    button('Send', 'Send these frames as one multipart message', () => send(false), 'primary send'),
    replayBtn,
  );
  const el = h('div', { class: 'composer hidden' }, head, framesEl, result);

  function renderFrames(): void {
    framesEl.replaceChildren(
      ...c.frames.map((f, i) =>
        frameEditor(v, f, i, () => {
          c.frames.splice(i, 1);
          v.persist();
          renderFrames();
        }),
      ),
    );
  }

  function send(replay: boolean): void {
    const s = v.state;
    if (replay && (s.selectedSeq === undefined || s.selectedRecord?.kind !== 'message')) {
      showResult(false, 'Select a captured message to replay it.');
      return;
    }
    const m: FromWebview = { type: 'send/request', id: ++s.sendId, socketType: c.socketType, mode: c.mode, endpoint: c.endpoint.trim(), frames: c.frames };
    if (replay) m.replaySeq = s.selectedSeq;
    result.replaceChildren(h('span', { class: 'muted' }, 'Sending…'));
    v.post(m);
  }

  function showResult(ok: boolean, message: string, reply?: FrameDetail[]): void {
    result.replaceChildren(h('div', { class: ok ? 'ok' : 'error' }, message), ...(reply ? [h('div', { class: 'reply-title' }, 'Reply'), ...reply.map((f) => frameBlock(f))] : []));
  }

  endpointInput.value = c.endpoint;
  endpointInput.addEventListener('input', () => {
    c.endpoint = endpointInput.value;
    v.persist();
  });
  renderFrames();
  el.classList.toggle('hidden', !c.open);
  replayBtn.disabled = true;
  return {
    el,
    toggle() {
      c.open = !c.open;
      v.persist();
      el.classList.toggle('hidden', !c.open);
    },
    setReplayable: (on) => (replayBtn.disabled = !on),
    showResult,
  };
}

/** One frame of the composer: its format and its text, and a button that removes it. */
function frameEditor(v: Viewer, f: ComposerFrame, i: number, remove: () => void): HTMLElement {
  const ta = h('textarea', { attrs: { rows: '1', 'aria-label': `Frame ${i + 1}`, spellcheck: 'false' } });
  ta.value = f.value;
  ta.addEventListener('input', () => {
    f.value = ta.value;
    v.persist();
  });
  const fmt = select([['text', 'text'], ['hex', 'hex'], ['json', 'JSON']], f.format, (x) => {
    f.format = x as ComposerFrame['format'];
    v.persist();
  }, 'Frame format');
  return h('div', { class: 'composer-frame' }, h('span', { class: 'frame-index' }, String(i + 1)), fmt, ta, button('✕', 'Remove this frame', remove));
}
