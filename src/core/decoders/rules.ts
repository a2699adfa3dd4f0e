/**
 * Which decoder applies to a message: rules per session, endpoint or topic
 * prefix (from the settings or the viewer's picker). The most specific
 * matching rule wins: a topic prefix (the longest first) over an endpoint over
 * a session over a rule that names none; among equals, the first given.
 */
import { CapturedMessage } from '../capture/records';
import { parseTopic } from '../zmq/topics';
import { bodyFrames, DecodeResult, Decoder } from './decoder';

export interface DecoderRule {
  /** The decoder instance (see registry.ts createDecoder). */
  decoder: Decoder;
  session?: string;
  endpoint?: string;
  /** Matches when the first body frame starts with these bytes: text (UTF-8) or `hex:0aff`, as the filter's topic prefix. */
  topicPrefix?: string;
}

type Message = Pick<CapturedMessage, 'frames' | 'endpoint'> & Partial<Pick<CapturedMessage, 'session' | 'envelopeFrames' | 'truncated' | 'encrypted'>>;

export class DecoderRules {
  private readonly rules: { rule: DecoderRule; prefix?: Buffer; score: number; order: number }[];

  constructor(rules: readonly DecoderRule[]) {
    this.rules = rules
      .map((rule, order) => {
        const prefix = rule.topicPrefix !== undefined ? Buffer.from(parseTopic(rule.topicPrefix)) : undefined;
        const score = (prefix ? 1_000_000 + prefix.length * 8 : 0) + (rule.endpoint !== undefined ? 4 : 0) + (rule.session !== undefined ? 2 : 0);
        return { rule, prefix, score, order };
      })
      .sort((a, b) => b.score - a.score || a.order - b.order);
    this.single = this.only;
  }

  private readonly single: Decoder | undefined;

  /** The one decoder when a single rule names nothing (the common case, and the hot path of a filter over a million messages). */
  private get only(): Decoder | undefined {
    const r = this.rules.length === 1 ? this.rules[0] : undefined;
    return r && !r.prefix && r.rule.session === undefined && r.rule.endpoint === undefined ? r.rule.decoder : undefined;
  }

  get size(): number {
    return this.rules.length;
  }

  decoderFor(m: Message): Decoder | undefined {
    if (this.single) return this.single;
    let first: Uint8Array | undefined;
    for (const r of this.rules) {
      if (r.rule.session !== undefined && r.rule.session !== m.session) continue;
      if (r.rule.endpoint !== undefined && r.rule.endpoint !== m.endpoint) continue;
      if (r.prefix) {
        first ??= bodyFrames(m)[0];
        if (!first || first.length < r.prefix.length || !r.prefix.equals(first.subarray(0, r.prefix.length))) continue;
      }
      return r.rule.decoder;
    }
    return undefined;
  }

  /** The decoded message, or undefined when no rule applies. */
  decode(m: Message): DecodeResult | undefined {
    return this.decoderFor(m)?.decode(m);
  }
}
