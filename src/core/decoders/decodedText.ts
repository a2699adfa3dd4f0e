/**
 * How a decode result is written out: the fields it adds to a message's JSON
 * record (`decoded` or `decodeError`, see docs/capture-format.md) and the
 * tail of a human line. Values are cut at MAX_DECODED_DEPTH here too, so that
 * a decoder built outside the registry (withDepthCap) cannot make printing throw.
 */
import { capDepth, DecodeResult } from './decoder';

/** The fields a decode result adds to a message's JSON record. */
export function decodedFields(r: DecodeResult): { decoded: { decoder: string; value: unknown; frames?: string[] } } | { decodeError: string } {
  if (!r.ok) return { decodeError: `${r.decoder}: ${r.error}` };
  const value = capDepth(r.value);
  return { decoded: r.frames ? { decoder: r.decoder, value, frames: r.frames } : { decoder: r.decoder, value } };
}

function compact(v: unknown, max: number): string {
  const s = JSON.stringify(capDepth(v)) ?? 'null';
  return s.length > max ? s.slice(0, max) + '…' : s;
}

/** One line, e.g. `json {"a":1}` or `jupyter stream (signature valid) {"name":"stdout","text":"hi\n"}` or `decode error (json): …`. */
export function formatDecoded(r: DecodeResult, max = 300): string {
  if (!r.ok) return `decode error (${r.decoder}): ${r.error}`;
  if (r.decoder === 'jupyter') {
    const v = r.value as { msg_type: string | null; signature: string; content: unknown };
    return `jupyter ${v.msg_type ?? '(no msg_type)'} (signature ${v.signature}) ${compact(v.content, max)}`;
  }
  if (r.frames) return `auto (${r.frames.join(', ')}) ${compact(r.value, max)}`;
  return `${r.decoder}${r.topic !== undefined ? ` [${r.topic}]` : ''} ${compact(r.value, max)}`;
}
