/**
 * Payload decoders: one interface, one module per decoder (text, json, msgpack, cbor,
 * protobuf, jupyter, auto), a registry (registry.ts) and rules that choose a
 * decoder per session, endpoint or topic prefix (rules.ts).
 *
 * Decoding is lazy (on read) and never alters the captured bytes: a decoder
 * only reads a message's frames and returns a new value, or an error string
 * that the views show beside the bytes, which stay shown as they are.
 *
 * Layer: core/decoders sits above core/capture (it reads CapturedMessage) and
 * below core/sessions and core/topology.
 */
import { isUtf8 } from 'node:buffer';
import { CapturedMessage } from '../capture/records';
import { asBuffer } from '../base/bytes';

/** What a decoder reads: a message's frames and what is known of its envelope. */
export type DecodeInput = Pick<CapturedMessage, 'frames'> & Partial<Pick<CapturedMessage, 'envelopeFrames' | 'truncated' | 'encrypted' | 'endpoint'>>;

export type DecodeResult = DecodeOk | DecodeFailed;

export interface DecodeOk {
  ok: true;
  /** The decoder that produced the value (`auto` names the one it chose, e.g. `json`). */
  decoder: string;
  /** A JSON-safe value: objects, arrays, strings, numbers, booleans, null. */
  value: unknown;
  /** A topic the payload names for itself (Jupyter's msg_type), shown as the row's topic. */
  topic?: string;
  /**
   * `auto` read the body frames one by one (they differ in kind): the decoder
   * of each (`json`, `msgpack`, `text`, `bytes`), `value` then being the array of their values.
   */
  frames?: string[];
}

export interface DecodeFailed {
  ok: false;
  decoder: string;
  /** Why, in one line, e.g. "frame 1: Unexpected token h in JSON at position 0". */
  error: string;
}

export interface Decoder {
  /** The name used in `--decode NAME`, the settings and the `decoded.decoder` field. */
  readonly name: string;
  decode(msg: DecodeInput): DecodeResult;
  /**
   * Optional, for fast filters: true when a string value at `path` of the
   * decoded value always appears in the frames as its UTF-8 bytes, or else the
   * frame holds a backslash (a JSON escape). Lets a filter skip decoding
   * messages that lack the string it looks for. Absent: never assumed.
   */
  verbatim?(path: readonly (string | number)[]): boolean;
  /**
   * Optional, with `verbatim`: false when this frame can hold no part of a
   * value that decodes (a JSON decoder's topic frame, which does not start like
   * JSON): the pre-check skips it. Absent: every frame is searched.
   */
  holdsValues?(frame: Uint8Array): boolean;
}

/** Decodes one frame's bytes, or throws an Error whose message says why. */
export type FrameDecode = (frame: Uint8Array) => unknown;

/**
 * The body of a message: its frames after the envelope (identities and the
 * empty delimiter) when the envelope is known.
 */
export function bodyFrames(msg: DecodeInput): readonly Uint8Array[] {
  const env = msg.envelopeFrames ?? 0;
  return env > 0 && env < msg.frames.length ? msg.frames.slice(env) : msg.frames;
}

/** The frame as UTF-8 text; throws on invalid UTF-8. */
export function frameText(frame: Uint8Array): string {
  // isUtf8 + toString: several times faster than a fatal TextDecoder on small frames
  if (!isUtf8(frame)) throw new Error('not valid UTF-8');
  return asBuffer(frame).toString('utf8');
}

/**
 * A decoder that reads each body frame the same way (JSON, MessagePack,
 * Protobuf, text). When a message has several body frames and the first one
 * does not decode, it is taken as a topic frame (PUB/SUB's habit) and kept
 * as `topic` when it is text. The value is the one decoded frame, or an array
 * when several frames decode. Any other frame that does not decode fails the
 * message, naming the frame (0-based, counted from the first body frame).
 */
export function decodeFrames(
  name: string,
  msg: DecodeInput,
  decodeFrame: (frame: Uint8Array, topic: string | undefined) => unknown,
  /**
   * A cheap test that tells, without throwing, why a frame cannot be decoded
   * (exceptions cost microseconds each: a topic frame on every message adds
   * up). With `why` false only whether it can matters: any string will do
   * (a topic frame is skipped without building a reason for it).
   */
  reject?: (frame: Uint8Array, why: boolean) => string | undefined,
): DecodeResult {
  if (msg.encrypted) return { ok: false, decoder: name, error: 'the message is CURVE-encrypted' };
  const frames = bodyFrames(msg);
  const env = frames.length === msg.frames.length ? 0 : msg.frames.length - frames.length;
  if (frames.length === 0) return { ok: false, decoder: name, error: 'no frames' };
  let first = 0;
  let topic: string | undefined;
  const values: unknown[] = [];
  for (let i = 0; i < frames.length; i++) {
    const cut = msg.truncated?.[env + i];
    try {
      if (cut !== undefined) throw new Error(`captured truncated (${frames[i].length} of ${cut} B)`);
      const topicFrame = i === 0 && frames.length > 1;
      const why = reject?.(frames[i], !topicFrame);
      if (why !== undefined) {
        if (topicFrame) {
          first = 1;
          const t = frames[0];
          topic = isUtf8(t) ? asBuffer(t).toString('utf8') : undefined;
          continue;
        }
        return { ok: false, decoder: name, error: `frame ${env + i}: ${why}` };
      }
      values.push(decodeFrame(frames[i], topic));
    } catch (e) {
      if (i === 0 && frames.length > 1) {
        first = 1;
        try {
          topic = frameText(frames[0]);
        } catch {
          topic = undefined;
        }
        continue;
      }
      return { ok: false, decoder: name, error: `frame ${env + i}: ${errorText(e)}` };
    }
  }
  const ok: DecodeOk = { ok: true, decoder: name, value: values.length === 1 ? values[0] : values };
  if (first === 1 && topic !== undefined) ok.topic = topic;
  return ok;
}

export function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/**
 * How deep a decoded value may nest (arrays and objects inside each other).
 * Deeper parts are replaced by depthCut(): the printers (JSON.stringify), the
 * webview's structured clone and the tree are recursive, and a 16 KB JSON text
 * nests 8,000 deep, past the stack. protobufjs stops at 100, so a schema's
 * real nesting rarely reaches this.
 */
export const MAX_DECODED_DEPTH = 64;

/** What stands in for a part of a decoded value nested deeper than MAX_DECODED_DEPTH. */
export function depthCut(): { $cut: string } {
  return { $cut: `nested deeper than ${MAX_DECODED_DEPTH} levels` };
}

/**
 * The value with every array or object nested deeper than MAX_DECODED_DEPTH
 * replaced by depthCut(). Copies only the path to a cut: a value within the
 * limit is returned as it is. Recursion stops at the limit, so any input is safe.
 */
export function capDepth(v: unknown, level = 1): unknown {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return v;
  if (level > MAX_DECODED_DEPTH) return depthCut();
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      const c = capDepth(x, level + 1);
      if (c !== x) (out ??= v.slice())[i] = c;
    }
    return out ?? v;
  }
  let out: Record<string, unknown> | undefined;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const x = o[k];
    const c = capDepth(x, level + 1);
    // defineProperty: a "__proto__" key (JSON.parse makes it an own key) stays a key
    if (c !== x) Object.defineProperty((out ??= { ...o }), k, { value: c, enumerable: true, writable: true, configurable: true });
  }
  return out ?? v;
}

/** The decoder with its values cut at MAX_DECODED_DEPTH (capDepth); all else is the decoder's own. */
export function withDepthCap(d: Decoder): Decoder {
  const capped = Object.create(d) as Decoder;
  capped.decode = (msg) => {
    const r = d.decode(msg);
    if (!r.ok) return r;
    const value = capDepth(r.value);
    return value === r.value ? r : { ...r, value };
  };
  return capped;
}

/** Makes a decoded value JSON-safe: bigint → string, bytes → {base64}, Map → object, Date → ISO string; cut at MAX_DECODED_DEPTH. */
export function jsonSafe(v: unknown, depth = 0): unknown {
  if (depth >= MAX_DECODED_DEPTH && v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date)) return depthCut();
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (v === undefined) return null;
  if (v instanceof Uint8Array) return { $bytes: asBuffer(v).toString('base64') };
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x) => jsonSafe(x, depth + 1));
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[String(k)] = jsonSafe(x, depth + 1);
    return o;
  }
  if (typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) o[k] = jsonSafe(x, depth + 1);
    return o;
  }
  return String(v);
}
