/**
 * What `zmq-debug run` prints when its command has ended: the doctor's errors
 * and warnings about the programs it ran, each led by the line of the program
 * it concerns in the compilers' `FILE:LINE: severity: message [rule]` form (so
 * that editors and CI logs link it), and the exit code `--check` uses.
 */
import * as path from 'node:path';
import { diagnose, Diagnostic } from '../core/topology/doctor';
import { TopologySnapshot } from '../core/topology/topologyFacts';

/**
 * `run --check`: the exit code when COMMAND succeeded but the doctor found an
 * error. ThreadSanitizer's (66): not 1 or 2 (zmq-debug's own failure and usage
 * errors), not one of pytest's 1-5, not ≥ 128 (signals).
 */
export const DOCTOR_ERROR_EXIT = 66;

export interface DoctorReport {
  /** Lines for stderr, '' when there is nothing to say. */
  text: string;
  errors: number;
  warnings: number;
}

/** The doctor's findings on what the agents reported (every program has ended: no "exited N s ago" marks). */
export function doctorReport(snapshot: TopologySnapshot, cwd: string): DoctorReport {
  const found = diagnose(snapshot, { markExited: false }).filter((d) => d.severity === 'error' || d.severity === 'warning');
  const errors = found.filter((d) => d.severity === 'error').length;
  const warnings = found.length - errors;
  if (!found.length) return { text: '', errors, warnings };
  const count = [errors ? `${errors} error${errors > 1 ? 's' : ''}` : '', warnings ? `${warnings} warning${warnings > 1 ? 's' : ''}` : ''].filter(Boolean).join(' and ');
  const lines = found.map((d) => `${where(d, cwd)}${d.severity}: ${d.message} [${d.rule}]`);
  return { text: `zmq-debug run: the doctor found ${count}:\n${lines.join('\n')}\n`, errors, warnings };
}

function where(d: Diagnostic, cwd: string): string {
  if (!d.location) return '';
  const rel = path.relative(cwd, d.location.file);
  const file = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : d.location.file;
  return `${file}:${d.location.line + 1}: `;
}
