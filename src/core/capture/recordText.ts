/**
 * One-line human rendering of capture records, for the CLI and logs.
 * Frames are shown as text when printable, else as hex; long ones abbreviated.
 */
import { formatTime } from '../../shared/format';
import { CaptureRecord, Direction, ProcessRecord, SocketRecord } from './records';
import { formatTopic } from '../zmq/topics';

const ARROWS: Record<Direction, string> = { in: '←', out: '→', toTarget: '→', fromTarget: '←' };

/** A frame as text when it is printable UTF-8, else hex; cut to `max` characters. */
export function formatFrame(frame: Uint8Array, max = 80): string {
  if (frame.byteLength === 0) return '(empty)';
  const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const head = buf.subarray(0, Math.min(buf.length, max * 4));
  const text = head.toString('utf8');
  const printable = !text.includes('\ufffd') && !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text);
  let shown = printable ? JSON.stringify(text).slice(1, -1) : '0x' + buf.subarray(0, Math.ceil(max / 2)).toString('hex');
  if (shown.length > max) shown = shown.slice(0, max);
  const cut = printable ? head.length < buf.length || shown.length < JSON.stringify(text).length - 2 : buf.length > Math.ceil(max / 2);
  return cut ? `${shown}… (${buf.length} B)` : shown;
}

export function formatRecord(r: CaptureRecord): string {
  const who = r.process !== undefined && r.kind !== 'process' && r.kind !== 'socket' ? ` ${r.process}[${r.pid}] socket ${r.socket ?? '?'}` : '';
  const head = `${formatTime(r.ts)} ${r.session ?? r.source}${who} ${r.endpoint}`;
  const conn = 'connection' in r && r.connection !== undefined ? ` #${r.connection}` : '';
  switch (r.kind) {
    case 'message': {
      const env = r.envelopeFrames ?? 0;
      const parts = r.frames.map((f, i) => {
        const s = formatFrame(f);
        const t = r.truncated?.[i] !== undefined ? ` (truncated, ${r.truncated[i]} B)` : '';
        return (i < env ? `[env] ${s}` : s) + t;
      });
      const who = [r.socketType, r.peerSocketType].filter(Boolean).join('→');
      const enc = r.encrypted ? ' [encrypted]' : '';
      return `${head}${conn} ${ARROWS[r.direction]} ${r.direction}${who ? ` ${who}` : ''} ${r.frames.length}f${enc} | ${parts.join(' | ')}`;
    }
    case 'event':
      return `${head} event ${r.type}${r.address ? ` ${r.address}` : ''}${r.interval !== undefined ? ` (retry in ${r.interval} ms)` : ''}${r.code ? ` ${r.code}` : ''}${r.count !== undefined && r.count > 1 ? ` ×${r.count}` : ''}${eventCounts(r)}${r.error ? `: ${r.error}` : ''}`;
    case 'greeting':
      return `${head}${conn} ${ARROWS[r.direction]} greeting ZMTP ${r.version} ${r.mechanism}${r.asServer ? ' as-server' : ''}`;
    case 'command': {
      const props = r.properties ? ' ' + Object.entries(r.properties).map(([k, v]) => `${k}=${formatFrame(v, 40)}`).join(' ') : '';
      const topic = r.topic !== undefined ? ` topic=${JSON.stringify(formatTopic(r.topic))}` : '';
      return `${head}${conn} ${ARROWS[r.direction]} ${r.name}${props}${topic}${r.detail ? ` (${r.detail})` : ''}`;
    }
    case 'connection':
      return `${head}${conn} connection ${r.state}${r.peer ? ` from ${r.peer}` : ''}${r.reason ? `: ${r.reason}` : ''}`;
    case 'process':
    case 'socket':
      return `${head} ${agentRecordText(r)}`;
  }
}

/** The coalesced-retry and falling-behind figures of an event, as " (N attempts since …)" text ('' when none). */
export function eventCounts(r: { type: string; attempts?: number; since?: number; backlog?: number }): string {
  const parts: string[] = [];
  if (r.attempts !== undefined && r.type !== 'connect:retry') parts.push(`${r.attempts} attempt${r.attempts === 1 ? '' : 's'}`);
  if (r.since !== undefined) parts.push(`since ${new Date(r.since).toISOString().slice(11, 23)}`);
  if (r.backlog !== undefined) parts.push(`backlog ≥ ${r.backlog} B`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** The text of an agent's process or socket record (after its time, session and endpoint). */
export function agentRecordText(r: ProcessRecord | SocketRecord): string {
  if (r.kind === 'process') {
    const extra = [r.argv ? r.argv.join(' ') : '', r.dropped ? `${r.dropped} report(s) dropped by the agent` : ''].filter(Boolean).join('; ');
    return `process ${r.process ?? '?'} pid ${r.pid ?? '?'} ${r.state}${extra ? `: ${extra}` : ''}`;
  }
  const what =
    r.op === 'subscribe' || r.op === 'unsubscribe'
      ? ` ${JSON.stringify(formatTopic(r.topic ?? new Uint8Array(0)))}`
      : r.op === 'option'
        ? ` ${r.option}=${r.value ?? (r.bytes ? formatFrame(r.bytes, 40) : '')}`
        : r.op === 'open'
          ? ` ${r.socketType ?? ''}${r.sndhwm !== undefined ? ` sndhwm=${r.sndhwm}` : ''}${r.rcvhwm !== undefined ? ` rcvhwm=${r.rcvhwm}` : ''}`
          : r.requested
            ? ` (asked ${r.requested})`
            : '';
  return `socket ${r.socket ?? '?'} of ${r.process ?? '?'} ${r.op}${what}${r.error ? ` failed: ${r.code ?? ''} ${r.error}` : ''}`;
}
