/**
 * Runs a program to its end, with or without the zmq-debug agents, and returns
 * what it printed and its exit code. Every child is killed when the test ends
 * (killAllRuns from afterEach).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Capture, CaptureLimits } from '../../../src/core/capture/capture';
import { CaptureRecord } from '../../../src/core/capture/records';
import { Collector } from '../../../src/core/sessions/collector';

export const AGENT_FIXTURES = join(__dirname, '..', 'fixtures', 'agent');

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  pid: number;
}

export interface Running {
  proc: ChildProcess;
  stdout(): string;
  done: Promise<RunResult>;
}

const running = new Set<ChildProcess>();

/**
 * SIGKILLs `pid` and every process below it. A run is `zmq-debug run -- sh -c '…'` and the
 * like: killing only the CLI left its program running (a hung program kept the runner's pipes,
 * and with them the whole test run, alive).
 */
function killTree(pid: number | undefined): void {
  if (!pid) return;
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree: number[] = [];
  for (const queue = [pid]; queue.length; ) {
    const p = queue.pop()!;
    tree.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  for (const p of tree) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Starts `cmd args` with `env` added to this process's environment (no agent env unless given). */
export function start(cmd: string, args: (string | number)[], env: Record<string, string> = {}, timeoutMs = 60000): Running {
  const clean = { ...process.env };
  // the test runner's own environment must not carry an agent into "without" runs
  delete clean.ZMQ_DEBUG_COLLECTOR;
  delete clean.ZMQ_DEBUG_TOKEN;
  const proc = spawn(cmd, args.map(String), { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: AGENT_FIXTURES });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const timer = setTimeout(() => killTree(proc.pid), timeoutMs);
  const done = new Promise<RunResult>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(proc);
      resolve({ stdout: out, stderr: err, code, signal, pid: proc.pid ?? 0 });
    });
  });
  return { proc, stdout: () => out, done };
}

export function run(cmd: string, args: (string | number)[], env: Record<string, string> = {}, timeoutMs = 60000): Promise<RunResult> {
  return start(cmd, args, env, timeoutMs).done;
}

export async function killAllRuns(): Promise<void> {
  await Promise.all(
    [...running].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('close', () => resolve());
          killTree(p.pid);
        }),
    ),
  );
}

/** The frames of an agent message record as latin1 strings. */
export function texts(r: CaptureRecord): string[] {
  return r.kind === 'message' ? r.frames.map((f) => Buffer.from(f).toString('latin1')) : [];
}

/**
 * A fresh capture and collector for each test of the describe() it is called in,
 * stopped (and every program run killed) after it: `const agents = collectorPerTest()`,
 * then `agents.capture` and `agents.collector` inside the tests.
 */
export function collectorPerTest(limits?: Partial<CaptureLimits>): { readonly capture: Capture; readonly collector: Collector } {
  const current = {} as { capture: Capture; collector: Collector };
  beforeEach(async () => {
    current.capture = new Capture(limits);
    current.collector = await Collector.start({ capture: current.capture });
  });
  afterEach(async () => {
    await killAllRuns();
    await current.collector.stop();
    current.collector.dispose();
    current.capture.dispose();
  });
  return current;
}
