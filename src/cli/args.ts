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

/** A whole number ≥ min from a flag, or undefined when absent. */
export function intFlag(p: ParsedArgs, name: string, min = 1): number | undefined {
  const v = flag(p, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be a whole number ≥ ${min} (got '${v}')`);
  return Number(v);
}

/** Seconds (fractions allowed, > 0) from a flag, or undefined when absent. */
export function secondsFlag(p: ParsedArgs, name: string): number | undefined {
  const v = flag(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0)) throw new UsageError(`--${name} must be a number of seconds > 0 (got '${v}')`);
  return n;
}
