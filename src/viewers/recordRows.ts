/**
 * What the frames viewer shows of a record: its table row (a short summary,
 * decoded when a decoder reads it), its detail (fields and frames, base64, cut
 * to DETAIL_BYTES_MAX) and a decoded value cut to what the detail pane draws.
 */
import { topicKey } from '../core/capture/capture';
import { agentRecordText, formatFrame } from '../core/capture/recordText';
import { CaptureRecord, CapturedMessage, payloadBytes } from '../core/capture/records';
import { asBuffer } from '../core/base/bytes';
import { DecoderRules } from '../core/decoders/rules';
import { DETAIL_BYTES_MAX, FrameDetail, RecordDetail, RowSummary } from '../shared/protocol/frames';

const PREVIEW_MAX = 200;

/** Number of leading envelope frames of a message (0 when unknown). */
export function envelopeOf(m: CapturedMessage): number {
  const n = m.envelopeFrames ?? 0;
  return n > 0 && n <= m.frames.length ? n : 0;
}

/** Human text of a non-message record, searched by the text filter and shown as its preview. */
export function describeRecord(r: CaptureRecord): string {
  switch (r.kind) {
    case 'message':
      return r.frames.map((f) => formatFrame(f, 60)).join(' | ');
    case 'event':
      return `${r.type}${r.address ? ` ${r.address}` : ''}${r.interval !== undefined ? ` (retry in ${r.interval} ms)` : ''}${r.error ? `: ${r.error}` : ''}`;
    case 'greeting':
      return `greeting ZMTP ${r.version} ${r.mechanism}${r.asServer ? ' as-server' : ''} #${r.connection}`;
    case 'command': {
      const props = r.properties ? ' ' + Object.entries(r.properties).map(([k, v]) => `${k}=${formatFrame(v, 40)}`).join(' ') : '';
      const topic = r.topic !== undefined ? ` topic=${formatFrame(r.topic, 40)}` : '';
      return `${r.name}${props}${topic}${r.detail ? ` (${r.detail})` : ''} #${r.connection}`;
    }
    case 'connection':
      return `connection #${r.connection} ${r.state}${r.peer ? ` from ${r.peer}` : ''}${r.reason ? `: ${r.reason}` : ''}`;
    case 'process':
    case 'socket':
      return agentRecordText(r);
  }
}

/** A decoded value as the detail pane gets it: long strings and arrays cut (the tree shows what was cut). */
export function viewValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return v.length > 10_000 ? v.slice(0, 10_000) + `… (${v.length} characters)` : v;
  if (depth > 40) return '…';
  if (Array.isArray(v)) {
    const out = v.slice(0, 1000).map((x) => viewValue(x, depth + 1));
    if (v.length > 1000) out.push(`… ${v.length - 1000} more items`);
    return out;
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (n++ === 1000) {
        out['…'] = `${Object.keys(v as object).length - 1000} more fields`;
        break;
      }
      out[k] = viewValue(x, depth + 1);
    }
    return out;
  }
  return v;
}

export function evictedRow(seq: number): RowSummary {
  return { seq, ts: 0, kind: 'message', session: '', endpoint: '', topic: '', frames: 0, size: 0, preview: '(evicted from the capture)' };
}

/** The table row of a record; with decoders, a decoded message shows its decoded topic and value. */
export function summarize(r: CaptureRecord, decoders?: DecoderRules): RowSummary {
  const row: RowSummary = {
    seq: r.seq,
    ts: r.ts,
    kind: r.kind,
    session: r.session ?? r.source,
    endpoint: r.endpoint,
    topic: '',
    frames: 0,
    size: payloadBytes(r),
    preview: '',
  };
  if ('direction' in r) row.direction = r.direction;
  if (r.process !== undefined) row.process = r.pid !== undefined ? `${r.process} · ${r.pid}` : r.process;
  if (r.socket !== undefined) row.socket = r.socket;
  if (r.kind === 'message') {
    const env = envelopeOf(r);
    const type = [r.socketType, r.peerSocketType].filter(Boolean).join('→');
    if (type) row.socketType = type;
    row.topic = topicKey(r.frames[env]);
    row.frames = r.frames.length;
    let preview = r.encrypted ? '[encrypted] ' : '';
    if (env) preview += `[${env - 1} id${env > 2 ? 's' : ''}] `;
    for (let i = env; i < r.frames.length && preview.length < PREVIEW_MAX; i++) {
      preview += (i > env ? ' | ' : '') + formatFrame(r.frames[i], 60);
    }
    row.preview = preview.length > PREVIEW_MAX ? preview.slice(0, PREVIEW_MAX) + '…' : preview;
    const res = decoders?.decode(r);
    if (res?.ok) {
      row.decoder = res.decoder;
      if (res.topic !== undefined) row.topic = res.topic;
      const text = JSON.stringify(res.value) ?? '';
      row.preview = text.length > PREVIEW_MAX ? text.slice(0, PREVIEW_MAX) + '…' : text;
    } else if (res) {
      row.decoder = res.decoder;
      row.decodeError = true;
    }
  } else {
    if (r.kind === 'command' && r.topic) row.topic = topicKey(r.topic);
    const text = describeRecord(r);
    row.preview = text.length > PREVIEW_MAX ? text.slice(0, PREVIEW_MAX) + '…' : text;
  }
  return row;
}

/** Frames as the detail pane shows them (bytes base64, cut to DETAIL_BYTES_MAX). */
export function frameDetails(frames: Uint8Array[], envelopeFrames = 0, truncated?: Record<number, number>): FrameDetail[] {
  const env = envelopeFrames > 0 && envelopeFrames <= frames.length ? envelopeFrames : 0;
  return frames.map((f, index) => {
    const b = asBuffer(f);
    const d: FrameDetail = {
      index,
      length: b.length,
      role: index < env ? (index === env - 1 && b.length === 0 ? 'delimiter' : 'envelope') : 'body',
      data: b.subarray(0, DETAIL_BYTES_MAX).toString('base64'),
      cut: b.length > DETAIL_BYTES_MAX,
    };
    if (truncated?.[index] !== undefined) d.originalLength = truncated[index];
    return d;
  });
}

export function detailOf(r: CaptureRecord): RecordDetail {
  const fields: [string, string][] = [['source', r.source]];
  const d: RecordDetail = { seq: r.seq, ts: r.ts, kind: r.kind, session: r.session ?? r.source, endpoint: r.endpoint, fields, frames: [] };
  if ('direction' in r) d.direction = r.direction;
  if ('connection' in r && r.connection !== undefined) fields.push(['connection', `#${r.connection}`]);
  if (r.process !== undefined) fields.push(['process', r.pid !== undefined ? `${r.process} (pid ${r.pid})` : r.process]);
  if (r.socket !== undefined) fields.push(['socket', r.socket]);
  switch (r.kind) {
    case 'message':
      if (r.socketType) fields.push(['socket', r.socketType]);
      if (r.peerSocketType) fields.push(['peer socket', r.peerSocketType]);
      if (r.identity) fields.push(['identity', formatFrame(r.identity, 80)]);
      if (r.envelopeFrames) fields.push(['envelope frames', String(r.envelopeFrames)]);
      if (r.encrypted) d.encrypted = true;
      d.frames = frameDetails(r.frames, r.envelopeFrames, r.truncated);
      break;
    case 'event':
      fields.push(['event', r.type]);
      if (r.address) fields.push(['address', r.address]);
      if (r.error) fields.push(['error', r.error]);
      if (r.code) fields.push(['code', r.code]);
      if (r.interval !== undefined) fields.push(['retry interval', `${r.interval} ms`]);
      if (r.peer) fields.push(['peer', r.peer]);
      if (r.attempts !== undefined) fields.push(['attempts', String(r.attempts)]);
      break;
    case 'greeting':
      fields.push(['ZMTP', r.version], ['mechanism', r.mechanism], ['as-server', String(r.asServer)]);
      break;
    case 'command':
      fields.push(['command', r.name]);
      if (r.properties) for (const [k, v] of Object.entries(r.properties)) fields.push([k, formatFrame(v, 200)]);
      if (r.topic !== undefined) fields.push(['topic', formatFrame(r.topic, 200)]);
      if (r.detail) fields.push(['detail', r.detail]);
      break;
    case 'connection':
      fields.push(['state', r.state]);
      if (r.peer) fields.push(['peer', r.peer]);
      if (r.reason) fields.push(['reason', r.reason]);
      break;
    case 'process':
      fields.push(['state', r.state]);
      if (r.argv) fields.push(['command line', r.argv.join(' ')]);
      if (r.cwd) fields.push(['cwd', r.cwd]);
      if (r.runtime) fields.push(['runtime', r.runtime]);
      if (r.dropped) fields.push(['dropped by the agent', String(r.dropped)]);
      break;
    case 'socket':
      fields.push(['operation', r.op]);
      if (r.socketType) fields.push(['socket type', r.socketType]);
      if (r.requested) fields.push(['requested', r.requested]);
      if (r.topic !== undefined) fields.push(['topic', formatFrame(r.topic, 200)]);
      if (r.option) fields.push(['option', r.option]);
      if (r.value !== undefined) fields.push(['value', String(r.value)]);
      if (r.bytes !== undefined) fields.push(['value', formatFrame(r.bytes, 200)]);
      if (r.error) fields.push(['error', r.error]);
      if (r.code) fields.push(['code', r.code]);
      break;
  }
  return d;
}
