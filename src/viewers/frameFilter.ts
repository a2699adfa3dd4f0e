/**
 * The frames viewer's filter as a predicate over records: text or regex over
 * every frame, topic prefix, direction, session, socket type, kind, program and
 * socket, time range and decoded fields. The query scans with it (framesQuery.ts),
 * the CLI reads with it (`zmq-debug read --grep`).
 */
import { Buffer } from 'node:buffer';
import { asBuffer } from '../core/base/bytes';
import { CaptureRecord } from '../core/capture/records';
import { Decoder } from '../core/decoders/decoder';
import { compileFieldQuery } from '../core/decoders/fieldQuery';
import { framesMayHold } from '../core/decoders/prefilter';
import { DecoderRules } from '../core/decoders/rules';
import { parseTopic } from '../core/zmq/topics';
import { DEFAULT_FILTER, FrameFilter, RecordKind } from '../shared/protocol/frames';
import { describeRecord, envelopeOf } from './recordRows';

export class FilterError extends Error {}

export type Predicate = (r: CaptureRecord) => boolean;

function isAllFilter(f: FrameFilter): boolean {
  return !f.text && !f.topicPrefix && !f.direction && !f.session && !f.socketType && f.kinds.length === DEFAULT_FILTER.kinds.length && !f.decoded?.trim() && !f.from && !f.to && !f.process && !f.socket;
}

/** The topic-prefix test of a filter (messages: first body frame; commands: SUBSCRIBE topic). */
function topicTest(topicPrefix: string): Predicate {
  let prefix: Buffer;
  try {
    prefix = asBuffer(parseTopic(topicPrefix));
  } catch (e) {
    throw new FilterError((e as Error).message);
  }
  const starts = (b: Uint8Array | undefined) => b !== undefined && b.byteLength >= prefix.length && asBuffer(b).subarray(0, prefix.length).equals(prefix);
  return (r) => (r.kind === 'message' ? starts(r.frames[envelopeOf(r)]) : r.kind === 'command' && starts(r.topic));
}

/**
 * The filter on decoded fields. Before decoding, a cheap check where the
 * decoder allows it (Decoder.verbatim): a message can only hold `field ==
 * "text"` when one of its frames holds the bytes of "text" (or a backslash, a
 * JSON escape). The answer is the same as decoding every message; only faster.
 */
function decodedPredicate(expr: string, decoders: DecoderRules | undefined): Predicate {
  let q: ReturnType<typeof compileFieldQuery>;
  try {
    q = compileFieldQuery(expr);
  } catch (e) {
    throw new FilterError(`Decoded-field filter: ${(e as Error).message}`);
  }
  if (!decoders || decoders.size === 0) throw new FilterError('Decoded-field filter: choose a decoder first (the decoder picker, or the zmqDebugger.decoders setting)');
  const clauses = q.requiredStrings.map((c) => c.map((n) => ({ path: n.path, bytes: Buffer.from(n.value, 'utf8') })));
  // per decoder, once: the clauses whose strings it keeps verbatim
  const checkable = new Map<Decoder, Buffer[][]>();
  const holdsOf = new Map<Decoder, (f: Uint8Array) => boolean>();
  const checksFor = (d: Decoder): Buffer[][] => {
    let c = checkable.get(d);
    if (!c) checkable.set(d, (c = d.verbatim ? clauses.filter((cl) => cl.every((n) => d.verbatim!(n.path))).map((cl) => cl.map((n) => n.bytes)) : []));
    return c;
  };
  return (r) => {
    if (r.kind !== 'message') return false;
    const d = decoders.decoderFor(r);
    if (!d) return false;
    const checks = checksFor(d);
    const holds = d.holdsValues ? (holdsOf.get(d) ?? holdsOf.set(d, d.holdsValues.bind(d)).get(d)) : undefined;
    for (let c = 0; c < checks.length; c++) if (!framesMayHold(r.frames, checks[c], holds)) return false;
    const res = d.decode(r);
    return res.ok && q.test(res);
  };
}

/** Compiles a filter into a predicate; throws FilterError for a bad regex, hex topic or decoded-field expression. */
export function compileFilter(f: FrameFilter, decoders?: DecoderRules): Predicate | undefined {
  if (isAllFilter(f)) return undefined;
  const tests: Predicate[] = [];
  if (f.from || f.to) {
    const [from, to] = [f.from || -Infinity, f.to || Infinity];
    tests.push((r) => r.ts >= from && r.ts <= to);
  }
  if (f.kinds.length !== DEFAULT_FILTER.kinds.length) {
    const kinds = new Set<RecordKind>(f.kinds);
    tests.push((r) => kinds.has(r.kind));
  }
  if (f.direction) {
    const d = f.direction;
    tests.push((r) => 'direction' in r && r.direction === d);
  }
  if (f.session) {
    const s = f.session;
    tests.push((r) => (r.session ?? r.endpoint) === s);
  }
  if (f.socketType) {
    const t = f.socketType.toUpperCase();
    tests.push((r) => r.kind === 'message' && (r.peerSocketType === t || r.socketType === t));
  }
  if (f.process) {
    // a pid, or a program name (every process of that name)
    const p = f.process.trim();
    const pid = /^\d+$/.test(p) ? Number(p) : undefined;
    tests.push(pid !== undefined ? (r) => r.pid === pid : (r) => r.process === p);
  }
  if (f.socket) {
    const id = f.socket.trim();
    tests.push((r) => r.socket === id);
  }
  if (f.topicPrefix) tests.push(topicTest(f.topicPrefix));
  if (f.text) tests.push(textPredicate(f));
  // last: the most expensive
  if (f.decoded?.trim()) tests.push(decodedPredicate(f.decoded, decoders));
  return tests.length === 1 ? tests[0] : (r) => tests.every((t) => t(r));
}

/** What the timeline counts: messages of the filter's session and topic prefix (not its text, fields or time range). */
export function timelineFilter(f: FrameFilter): Predicate {
  const session = f.session;
  let topic: Predicate | undefined;
  try {
    topic = f.topicPrefix ? topicTest(f.topicPrefix) : undefined;
  } catch {
    topic = undefined;
  }
  return (r) => r.kind === 'message' && (!session || (r.session ?? r.endpoint) === session) && (!topic || topic(r));
}

function textPredicate(f: FrameFilter): Predicate {
  if (!f.regex && f.caseSensitive) {
    // plain bytes search: no decoding at all
    const needle = Buffer.from(f.text, 'utf8');
    return (r) => (r.kind === 'message' ? r.frames.some((fr) => asBuffer(fr).indexOf(needle) >= 0) : describeRecord(r).includes(f.text));
  }
  let re: RegExp;
  try {
    re = new RegExp(f.regex ? f.text : f.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), f.caseSensitive ? '' : 'i');
  } catch (e) {
    throw new FilterError(`Invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  return (r) => {
    if (r.kind !== 'message') return re.test(describeRecord(r));
    for (const fr of r.frames) if (re.test(asBuffer(fr).toString('utf8'))) return true;
    return false;
  };
}
