/**
 * The `zmqDebugger.decoders` setting, checked: an array of
 * `{ "decoder": "protobuf:schemas/demo.proto:demo.Reading", "session"?, "endpoint"?, "topicPrefix"? }`.
 * Relative file paths in a decoder (`jupyter:FILE`, `protobuf:FILE:Type`) are
 * resolved against `baseDir` (the workspace folder). What is wrong is reported,
 * item by item; the good items apply.
 */
import { isAbsolute, join } from 'node:path';
import { DecoderRuleSpec } from '../shared/protocol/frames';

/** `jupyter:FILE` and `protobuf:FILE:Type` with FILE made absolute against `baseDir`; other specs as they are. */
export function resolveDecoderPaths(spec: string, baseDir: string | undefined): string {
  const abs = (f: string) => (baseDir && f && !isAbsolute(f) ? join(baseDir, f) : f);
  if (spec.startsWith('jupyter:')) return `jupyter:${abs(spec.slice(8))}`;
  if (spec.startsWith('protobuf:')) {
    const rest = spec.slice(9);
    const i = rest.lastIndexOf(':');
    return i > 0 ? `protobuf:${abs(rest.slice(0, i))}${rest.slice(i)}` : spec;
  }
  return spec;
}

export function parseDecoderSetting(value: unknown, baseDir?: string): { rules: DecoderRuleSpec[]; problems: string[] } {
  const rules: DecoderRuleSpec[] = [];
  const problems: string[] = [];
  if (value === undefined || value === null) return { rules, problems };
  if (!Array.isArray(value)) return { rules, problems: ['zmqDebugger.decoders must be an array of { "decoder": …, "session"?, "endpoint"?, "topicPrefix"? }'] };
  value.forEach((item, i) => {
    const where = `zmqDebugger.decoders[${i}]`;
    if (!item || typeof item !== 'object' || Array.isArray(item)) return problems.push(`${where} must be an object`);
    const o = item as Record<string, unknown>;
    if (typeof o.decoder !== 'string' || !o.decoder.trim()) return problems.push(`${where}.decoder must be a decoder such as "json" or "protobuf:FILE.proto:Type"`);
    const rule: DecoderRuleSpec = { spec: resolveDecoderPaths(o.decoder.trim(), baseDir) };
    for (const k of ['session', 'endpoint', 'topicPrefix'] as const) {
      if (o[k] === undefined) continue;
      if (typeof o[k] !== 'string') return problems.push(`${where}.${k} must be a string`);
      rule[k] = o[k] as string;
    }
    const unknown = Object.keys(o).filter((k) => !['decoder', 'session', 'endpoint', 'topicPrefix'].includes(k));
    if (unknown.length) problems.push(`${where}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (ignored)`);
    rules.push(rule);
  });
  return { rules, problems };
}
