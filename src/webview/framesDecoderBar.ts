/**
 * The frames viewer's decoder picker: which decoder reads every message, the
 * selected row's session, or its topic; and the rules in force.
 */
import { DecoderRuleSpec } from '../shared/protocol/frames';
import { button, h, select, setText } from './dom';
import { base64ToBytes, bytesToHex } from './frameViews';
import type { Viewer } from './framesState';

type DecoderScope = 'all' | 'session' | 'topic';

export interface FramesDecoderBar {
  el: HTMLElement;
  /** The rules in force and the decoder forms the host offers. */
  showRules(rules: DecoderRuleSpec[], available: string[]): void;
}

export function createDecoderBar(v: Viewer, showError: (text: string) => void): FramesDecoderBar {
  const scopeSel = select<DecoderScope>(
    [['all', 'all messages'], ['session', "the selected row's session"], ['topic', "the selected row's topic"]],
    'all',
    () => undefined,
    'Which messages the decoder reads',
  );
  const forms = h('datalist', { id: 'decoder-forms' });
  const spec = h('input', {
    class: 'decoder-spec',
    title: 'json, msgpack, cbor, text, auto, jupyter[:CONNECTION_FILE], protobuf:FILE.proto:Type; empty removes the rule',
    attrs: { type: 'text', list: 'decoder-forms', placeholder: 'decoder, e.g. json', 'aria-label': 'Decoder', spellcheck: 'false' },
  });
  const rulesEl = h('span', { class: 'decoder-rules muted' });
  const apply = () => {
    const scope = scopeSel.value as DecoderScope;
    const s = v.state;
    const match = scope === 'session' ? (s.selectedRecord?.session ?? s.persisted.filter.session) : scope === 'topic' ? s.persisted.filter.topicPrefix || topicOfSelected(v) : '';
    if (scope !== 'all' && !match) {
      showError(`Select a row first: the decoder is for its ${scope}.`);
      return;
    }
    v.post({ type: 'decoder/set', spec: spec.value.trim(), scope, match });
  };
  spec.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') apply();
  });
  const el = h(
    'div',
    { class: 'decoderbar' },
    h('span', { class: 'muted' }, 'Decode'),
    scopeSel,
    h('span', { class: 'muted' }, 'as'),
    spec,
    forms,
    button('Apply', 'Decode these messages with this decoder (an empty decoder removes the rule)', apply),
    rulesEl,
  );
  return {
    el,
    showRules(rules, available) {
      forms.replaceChildren(...available.map((a) => h('option', { attrs: { value: a.replace(/\[.*\]$/, '') } })));
      const scope = (r: DecoderRuleSpec) => (r.topicPrefix !== undefined ? `topic "${r.topicPrefix}"` : r.session !== undefined ? `session ${r.session}` : r.endpoint !== undefined ? r.endpoint : 'all');
      setText(rulesEl, rules.length ? rules.map((r) => `${r.spec} (${scope(r)})`).join(' · ') : 'no decoder');
      rulesEl.dataset.rules = JSON.stringify(rules);
    },
  };
}

/**
 * The selected message's topic as a prefix (text, or hex: for binary): its first
 * body frame when it has several, else that frame's first word (`10001 23 45`).
 */
function topicOfSelected(v: Viewer): string {
  const body = v.state.selectedRecord?.frames.filter((f) => f.role === 'body') ?? [];
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
