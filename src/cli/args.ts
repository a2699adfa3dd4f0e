/**
 * A small, strict argument parser for zmq-debug subcommands: known flags only,
 * values checked, every mistake a UsageError (exit code 2) with a clear message.
 */
import { UsageError } from './errors';

export interface FlagSpec {
  /** 'string' takes a value; 'list' may repeat; 'boolean' takes none. */
  type: 'string' | 'list' | 'boolean';
}

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string[]>;
}

/** The flags of every subcommand that prints records: stop after N messages, print JSON Lines. */
export const PRINT_FLAGS = { count: { type: 'string' }, json: { type: 'boolean' } } as const;

export function parseArgs(args: string[], specs: Record<string, FlagSpec>): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags.set(name, ['true']);
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (spec.type === 'string' && flags.has(name)) throw new UsageError(`--${name} given twice`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positional, flags };
}

export function flag(p: ParsedArgs, name: string): string | undefined {
  return p.flags.get(name)?.[0];
}

export function flagList(p: ParsedArgs, name: string): string[] {
  return p.flags.get(name) ?? [];
}

export function has(p: ParsedArgs, name: string): boolean {
  return p.flags.has(name);
}

/**
 * The longest delay a Node timer keeps: beyond 2^31-1 ms setTimeout fires at
 * once (with a TimeoutOverflowWarning), so `--timeout 3000000` would end the
 * command at once. Every option that becomes a timer is bounded by it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The value as shown in an error: long ones abbreviated with their length (a 400-digit number). */
function shown(v: string): string {
  return v.length > 24 ? `${v.slice(0, 20)}… (${v.length} characters)` : v;
}

/**
 * A whole number from min to max from a flag, or undefined when absent. The
 * one check of every integer option: digits only (no sign, fraction, exponent
 * or Infinity), and within the range, which is at most Number.MAX_SAFE_INTEGER.
 */
export function intFlag(p: ParsedArgs, name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = flag(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !(n >= min && n <= max)) throw new UsageError(`--${name} must be a whole number in [${min}, ${max}] (got '${shown(v)}')`);
  return n;
}

/**
 * Seconds (fractions allowed, > 0 — or ≥ 0 with `zeroAllowed` — and at most what a
 * timer keeps: 2147483.647) from a flag, or undefined when absent.
 */
export function secondsFlag(p: ParsedArgs, name: string, zeroAllowed = false): number | undefined {
  const v = flag(p, name);
  if (v === undefined) return undefined;
  const max = MAX_TIMER_MS / 1000;
  const n = Number(v);
  // the upper bound: 24.8 days, the longest a timer waits
  if (!/^\d+(\.\d+)?$/.test(v) || !((zeroAllowed ? n >= 0 : n > 0) && n <= max)) {
    throw new UsageError(`--${name} must be a number of seconds in ${zeroAllowed ? '[0' : '(0'}, ${max}] (got '${shown(v)}')`);
  }
  return n;
}
