/**
 * `jupyter`: the Jupyter messaging wire protocol.
 *   [identities…, "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers…]
 * msg_type becomes the row's topic. With the kernel's key the HMAC signature is
 * checked (valid/invalid); without it, it is "unchecked". The key is never shown.
 */
import { DecodeInput, DecodeResult, Decoder, errorText, frameText } from './decoder';
import { JupyterKey } from './jupyterKey';

export const JUPYTER_DELIMITER = '<IDS|MSG>';
const DELIM = Buffer.from(JUPYTER_DELIMITER, 'latin1');

export type SignatureStatus = 'valid' | 'invalid' | 'unchecked' | 'unsigned';

export interface JupyterMessage {
  msg_type: string | null;
  /** Frames before the delimiter: routing identities, or the IOPub topic. */
  identities: string[];
  /** valid/invalid with a key; unchecked without one; unsigned when both key and signature are empty. */
  signature: SignatureStatus;
  header: unknown;
  parent_header: unknown;
  metadata: unknown;
  content: unknown;
  /** Extra binary buffers, by size. */
  buffers: { bytes: number }[];
}

export function findDelimiter(frames: readonly Uint8Array[]): number {
  for (let i = 0; i < frames.length; i++) if (frames[i].length === DELIM.length && DELIM.equals(frames[i])) return i;
  return -1;
}

function identityText(f: Uint8Array): string {
  try {
    const t = frameText(f);
    if (!/[\x00-\x1f\x7f]/.test(t)) return t;
  } catch {
    /* hex below */
  }
  return '0x' + Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('hex');
}

/** The key for a message, found by its endpoint (`--decode jupyter` without a file: see discovery/jupyterKeyFiles.ts). */
export type JupyterKeyLookup = (endpoint: string | undefined) => JupyterKey | undefined;

export class JupyterDecoder implements Decoder {
  readonly name = 'jupyter';
  constructor(
    private readonly key?: JupyterKey,
    private readonly lookup?: JupyterKeyLookup,
  ) {}

  /** Strings from the JSON frames are verbatim; the signature status, identities (may be hex) and buffer sizes are not. */
  verbatim(path: readonly (string | number)[]): boolean {
    return path[0] !== 'signature' && path[0] !== 'identities' && path[0] !== 'buffers';
  }

  decode(msg: DecodeInput): DecodeResult {
    const fail = (error: string): DecodeResult => ({ ok: false, decoder: this.name, error });
    if (msg.encrypted) return fail('the message is CURVE-encrypted');
    const frames = msg.frames;
    const d = findDelimiter(frames);
    if (d < 0) return fail(`no ${JUPYTER_DELIMITER} delimiter frame`);
    if (frames.length < d + 6) return fail(`${frames.length - d - 1} frame(s) after ${JUPYTER_DELIMITER}, expected at least 5 (signature, header, parent_header, metadata, content)`);
    for (let i = d + 1; i < d + 6; i++) if (msg.truncated?.[i] !== undefined) return fail(`frame ${i} was captured truncated`);
    const names = ['header', 'parent_header', 'metadata', 'content'] as const;
    const parsed: unknown[] = [];
    for (let k = 0; k < 4; k++) {
      try {
        parsed.push(JSON.parse(frameText(frames[d + 2 + k])));
      } catch (e) {
        return fail(`${names[k]} (frame ${d + 2 + k}): ${errorText(e)}`);
      }
    }
    const sig = frames[d + 1];
    const signed = frames.slice(d + 2, d + 6);
    let signature: SignatureStatus;
    const key = this.key ?? this.lookup?.(msg.endpoint);
    if (!key) signature = sig.length === 0 ? 'unsigned' : 'unchecked';
    else if (key.empty) signature = sig.length === 0 ? 'unsigned' : 'invalid';
    else signature = key.verify(sig, signed) ? 'valid' : 'invalid';
    const header = parsed[0] as { msg_type?: unknown } | null;
    const msgType = header && typeof header === 'object' && typeof header.msg_type === 'string' ? header.msg_type : null;
    const value: JupyterMessage = {
      msg_type: msgType,
      identities: frames.slice(0, d).map(identityText),
      signature,
      header: parsed[0],
      parent_header: parsed[1],
      metadata: parsed[2],
      content: parsed[3],
      buffers: frames.slice(d + 6).map((b) => ({ bytes: b.length })),
    };
    return msgType !== null ? { ok: true, decoder: this.name, value, topic: msgType } : { ok: true, decoder: this.name, value };
  }
}
