/** Runs the bundled zmq-debug CLI (dist/cli.js; `node esbuild.mjs` first) as a child process and collects its output. */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(__dirname, '..', '..', '..', 'dist', 'cli.js');

export interface CliRun {
  proc: ChildProcess;
  out(): string;
  err(): string;
  code: Promise<number | null>;
  /** Ctrl-C (SIGINT) unless it already ended; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export function runCli(args: string[]): CliRun {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  return {
    proc,
    out: () => out,
    err: () => err,
    code,
    stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
      return code;
    },
  };
}
