/**
 * Runs catalog examples as real child processes: allocates free 127.0.0.1 ports,
 * spawns every role (Node with the extension's `zeromq`, or Python with pyzmq),
 * keeps each process's state and last output lines, and makes sure none
 * outlives the runner: `stop`/`stopAll`/`dispose` send SIGTERM, then SIGKILL
 * after a grace period; the children also exit when their stdin closes (the
 * parent died), and a process `exit` hook SIGKILLs whatever is left.
 *
 * The runner neither spies nor taps: `ExampleRun.observations` says where to
 * watch, and with `useTaps` the connecting roles already point at the tap
 * listen ports, so the caller must start a tap on each (`ZmtpTap`) for them to
 * reach their peers.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import * as path from 'node:path';
import { Disposable, Emitter, Event } from '../base/lifecycle';
import { ExampleDefinition, ExampleLanguage, getExample, RoleContext } from './catalog';

/**
 * `starting`: spawned, not confirmed yet; `running`; `stopping`: SIGTERM sent;
 * `stopped`: ended because we stopped it; `exited`: ended by itself with code 0;
 * `crashed`: ended by itself with another code or a signal, or could not start.
 */
export type ExampleProcessState = 'starting' | 'running' | 'stopping' | 'stopped' | 'exited' | 'crashed';

export interface OutputLine {
  /** Epoch ms when the line was complete. */
  readonly ts: number;
  /** `system` lines are the runner's own notes (started, exited, ...). */
  readonly stream: 'stdout' | 'stderr' | 'system';
  readonly text: string;
}

/** One role instance of a run. The object stays the same across restarts (the pid changes). */
export interface ExampleProcess {
  /** Stable id, `<run id>/<role>-<instance>`, e.g. `round-robin#1/worker-2`. */
  readonly id: string;
  readonly runId: string;
  readonly role: string;
  /** 1-based. */
  readonly instance: number;
  /** `worker 2`, or just the role name when the role has one instance. */
  readonly label: string;
  /** The program and its arguments (script path first). */
  readonly command: string;
  readonly args: readonly string[];
  /** The current (or last) child's pid; undefined when it could not start. */
  readonly pid: number | undefined;
  readonly state: ExampleProcessState;
  /** Exit code of the last child once it ended (null when killed by a signal). */
  readonly exitCode: number | null | undefined;
  readonly signal: NodeJS.Signals | null | undefined;
  /** Why it could not start, when it could not. */
  readonly error: string | undefined;
  readonly restarts: number;
  /** The last output lines (bounded ring, oldest first; counts what was evicted in `droppedLines`). */
  output(): readonly OutputLine[];
  readonly droppedLines: number;
}

/** Where to watch a running example, resolved to endpoints. */
export interface Observation {
  readonly kind: 'spy' | 'monitor' | 'tap';
  readonly label: string;
  /** spy/monitor: the PUB endpoint to subscribe to; tap: the target (the bound port behind the tap). */
  readonly endpoint: string;
  /** spy: topic prefixes (none: everything). */
  readonly topics?: readonly string[];
  /** monitor: the direction prefix frames. */
  readonly inPrefix?: string;
  readonly outPrefix?: string;
  /** tap: where the tap must listen (`tcp://127.0.0.1:<port>`); only when the run uses taps. */
  readonly listen?: string;
  /** tap: true when the connecting roles were pointed at `listen` (the run uses taps). */
  readonly inPath?: boolean;
}

export interface ExampleRun {
  /** `<example id>#<n>`, e.g. `round-robin#1`. */
  readonly id: string;
  readonly example: ExampleDefinition;
  readonly language: ExampleLanguage;
  readonly startedAt: number;
  readonly useTaps: boolean;
  /** The allocated port of each named catalog port. */
  readonly ports: Readonly<Record<string, number>>;
  readonly observations: readonly Observation[];
  readonly processes: readonly ExampleProcess[];
}

export interface ExampleStartOptions {
  /** Default `node`. */
  language?: ExampleLanguage;
  /** Python command for `language: 'python'`; default: the first candidate of `findPythonWithZmq()`. */
  python?: string;
  /** Node-compatible binary; default the runner's `nodePath`. */
  nodePath?: string;
  /**
   * Point connecting roles at a tap listen port (allocated here) for every tap
   * observation; the caller starts the taps. Default false: roles connect directly.
   */
  useTaps?: boolean;
  /** Producer pacing in ms (default 500; at least 10). */
  intervalMs?: number;
  /**
   * Variables added to the processes' environment, last: e.g. a collector's
   * `environment(process.env)`, so that the example runs with the agents.
   */
  env?: Record<string, string>;
}

export interface ExampleRunnerOptions {
  /** Folder holding `node/` and `python/` example programs; default: the `examples` folder of the extension root. */
  examplesRoot?: string;
  /**
   * Binary that runs the Node examples. Default `process.execPath`; inside VS Code's
   * extension host that is the editor's Electron/Node binary, which runs as plain
   * Node because the runner sets ELECTRON_RUN_AS_NODE=1 for the children.
   */
  nodePath?: string;
  /** Lines kept per process (default 500). */
  outputLines?: number;
  /** Time between SIGTERM and SIGKILL (default 2000 ms). */
  stopGraceMs?: number;
}

export type ExampleRunnerChange =
  | { readonly kind: 'runStarted' | 'runRemoved'; readonly run: ExampleRun }
  | { readonly kind: 'process'; readonly run: ExampleRun; readonly process: ExampleProcess };

export interface ExampleOutputEvent {
  readonly run: ExampleRun;
  readonly process: ExampleProcess;
  readonly line: OutputLine;
}

const MAX_PARTIAL_LINE = 64 * 1024;

class ProcessEntry implements ExampleProcess {
  readonly id: string;
  readonly label: string;
  pid: number | undefined;
  state: ExampleProcessState = 'starting';
  exitCode: number | null | undefined;
  signal: NodeJS.Signals | null | undefined;
  error: string | undefined;
  restarts = 0;
  droppedLines = 0;
  child: ChildProcess | undefined;
  exited: Promise<void> = Promise.resolve();
  stopRequested = false;
  private readonly lines: OutputLine[] = [];

  constructor(
    readonly runId: string,
    readonly role: string,
    readonly instance: number,
    single: boolean,
    readonly command: string,
    readonly args: readonly string[],
    private readonly maxLines: number,
  ) {
    this.id = `${runId}/${role}-${instance}`;
    this.label = single ? role : `${role} ${instance}`;
  }

  output(): readonly OutputLine[] {
    return this.lines.slice();
  }

  push(line: OutputLine): void {
    this.lines.push(line);
    if (this.lines.length > this.maxLines) {
      this.lines.splice(0, this.lines.length - this.maxLines);
      this.droppedLines++;
    }
  }

  get alive(): boolean {
    return this.state === 'starting' || this.state === 'running' || this.state === 'stopping';
  }
}

interface RunEntry extends ExampleRun {
  readonly processes: ProcessEntry[];
  readonly spawnEnv: NodeJS.ProcessEnv;
}

export class ExampleRunner implements Disposable {
  private readonly runsById = new Map<string, RunEntry>();
  private readonly counters = new Map<string, number>();
  private readonly changeEmitter = new Emitter<ExampleRunnerChange>();
  private readonly outputEmitter = new Emitter<ExampleOutputEvent>();
  private readonly examplesRoot: string;
  private readonly nodePath: string;
  private readonly maxLines: number;
  private readonly graceMs: number;
  private disposing: Promise<void> | undefined;
  /** Last resort when the host exits without disposing us: kill synchronously. */
  private readonly onHostExit = () => {
    for (const p of this.allProcesses()) if (p.alive && p.child) p.child.kill('SIGKILL');
  };

  /** Fires when a run starts or is removed and whenever a process changes state or pid. */
  readonly onDidChange: Event<ExampleRunnerChange> = this.changeEmitter.event;
  /** Fires for every complete output line of every process (and the runner's own `system` lines). */
  readonly onDidOutput: Event<ExampleOutputEvent> = this.outputEmitter.event;

  constructor(options: ExampleRunnerOptions = {}) {
    this.examplesRoot = options.examplesRoot ?? defaultExamplesRoot();
    this.nodePath = options.nodePath ?? process.execPath;
    this.maxLines = Math.max(1, options.outputLines ?? 500);
    this.graceMs = Math.max(0, options.stopGraceMs ?? 2000);
    process.on('exit', this.onHostExit);
  }

  /** The runs that have not been stopped with `stop(runId)`, oldest first. */
  get runs(): readonly ExampleRun[] {
    return [...this.runsById.values()];
  }

  getRun(runId: string): ExampleRun | undefined {
    return this.runsById.get(runId);
  }

  getProcess(processId: string): ExampleProcess | undefined {
    return this.findProcess(processId)?.process;
  }

  /** Pids of every child that is still starting, running or stopping. */
  livePids(): number[] {
    return this.allProcesses()
      .filter((p) => p.alive && p.pid !== undefined)
      .map((p) => p.pid!);
  }

  /**
   * Starts an example: allocates its ports (plus tap listen ports with `useTaps`),
   * spawns every role and resolves once all have spawned. Rejects, leaving
   * nothing running, for an unknown id, a missing program, no Python with zmq,
   * or a process that cannot be spawned.
   */
  async start(exampleId: string, options: ExampleStartOptions = {}): Promise<ExampleRun> {
    if (this.disposing) throw new Error('The example runner is disposed');
    const example = getExample(exampleId);
    const language = options.language ?? 'node';
    if (language !== 'node' && language !== 'python') throw new Error(`Unknown language '${String(language)}' (node or python)`);
    const intervalMs = Math.max(10, options.intervalMs ?? 500);
    const useTaps = options.useTaps ?? false;

    const { command, prefixArgs, env } = await this.interpreter(language, options);
    Object.assign(env, options.env);
    const scripts = this.scriptsOf(example, language);
    const tapped = useTaps ? example.observe.filter((o) => o.kind === 'tap').map((o) => o.port) : [];
    const allocated = await allocatePorts(example.ports.length + tapped.length);
    const ports: Record<string, number> = {};
    example.ports.forEach((name, i) => (ports[name] = allocated[i]));
    const tapPorts: Record<string, number> = {};
    tapped.forEach((name, i) => (tapPorts[name] = allocated[example.ports.length + i]));
    const endpointOf = (port: number) => `tcp://127.0.0.1:${port}`;
    const portOf = (name: string) => {
      const port = ports[name];
      if (port === undefined) throw new Error(`Example '${example.id}' uses port '${name}' it does not declare`);
      return port;
    };

    const n = (this.counters.get(example.id) ?? 0) + 1;
    this.counters.set(example.id, n);
    const runId = `${example.id}#${n}`;
    const processes: ProcessEntry[] = [];
    for (const role of example.roles) {
      const count = Math.max(1, role.instances ?? 1);
      for (let instance = 1; instance <= count; instance++) {
        const ctx: RoleContext = {
          instance,
          intervalMs,
          bind: (name) => endpointOf(portOf(name)),
          connect: (name) => endpointOf(tapPorts[name] ?? portOf(name)),
        };
        const args = [...prefixArgs, scripts.get(role.name)!, ...role.args(ctx)];
        processes.push(new ProcessEntry(runId, role.name, instance, count === 1, command, args, this.maxLines));
      }
    }
    const observations = observationsOf(example, endpointOf, portOf, tapPorts);
    const run: RunEntry = { id: runId, example, language, startedAt: Date.now(), useTaps, ports, observations, processes, spawnEnv: env };
    this.runsById.set(runId, run);
    this.changeEmitter.fire({ kind: 'runStarted', run });
    try {
      await Promise.all(processes.map((p) => this.spawnProcess(run, p)));
    } catch (err) {
      await this.stop(runId);
      throw err;
    }
    return run;
  }

  /** The interpreter that runs an example's roles, its first arguments and its environment. */
  private async interpreter(language: 'node' | 'python', options: ExampleStartOptions): Promise<{ command: string; prefixArgs: string[]; env: NodeJS.ProcessEnv }> {
    const env: NodeJS.ProcessEnv = { ...process.env, ZMQ_EXAMPLE_WATCH_STDIN: '1' };
    if (language === 'node') {
      env.ELECTRON_RUN_AS_NODE = '1';
      return { command: options.nodePath ?? this.nodePath, prefixArgs: [], env };
    }
    const python = options.python ?? (await findPythonWithZmq())?.command;
    if (!python) throw new Error(`No Python with pyzmq found (tried ${pythonCandidates().join(', ')}); install pyzmq (Debian: python3-zmq)`);
    env.PYTHONUNBUFFERED = '1';
    // No __pycache__ inside the installed extension's folder.
    env.PYTHONDONTWRITEBYTECODE = '1';
    return { command: python, prefixArgs: ['-u'], env };
  }

  /** Each role's script in the example's language, checked to exist before anything starts. */
  private scriptsOf(example: ExampleDefinition, language: 'node' | 'python'): Map<string, string> {
    const ext = language === 'node' ? '.js' : '.py';
    const scripts = new Map<string, string>();
    for (const role of example.roles) {
      const script = path.join(this.examplesRoot, language, role.script + ext);
      if (!existsSync(script)) throw new Error(`Example program missing: ${script}`);
      scripts.set(role.name, script);
    }
    return scripts;
  }

  /** Stops one process (SIGTERM, SIGKILL after the grace period); resolves when it has exited. It stays in its run, restartable. */
  async stopProcess(processId: string): Promise<void> {
    const found = this.findProcess(processId);
    if (!found) throw new Error(`No example process '${processId}'`);
    await this.kill(found.run, found.process);
  }

  /** Stops the process if it is alive, then starts it again with the same arguments (same ports). */
  async restartProcess(processId: string): Promise<void> {
    if (this.disposing) throw new Error('The example runner is disposed');
    const found = this.findProcess(processId);
    if (!found) throw new Error(`No example process '${processId}'`);
    await this.kill(found.run, found.process);
    if (!this.runsById.has(found.run.id)) throw new Error(`Run '${found.run.id}' was stopped`);
    found.process.restarts++;
    await this.spawnProcess(found.run, found.process);
  }

  /** Stops every process of a run and removes the run. */
  async stop(runId: string): Promise<void> {
    const run = this.runsById.get(runId);
    if (!run) return;
    await Promise.all(run.processes.map((p) => this.kill(run, p)));
    if (this.runsById.delete(runId)) this.changeEmitter.fire({ kind: 'runRemoved', run });
  }

  /** Stops and removes every run. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.runsById.keys()].map((id) => this.stop(id)));
  }

  /** Stops everything; the returned promise resolves once every child has exited. */
  dispose(): Promise<void> {
    this.disposing ??= this.stopAll().finally(() => {
      process.off('exit', this.onHostExit);
      this.changeEmitter.dispose();
      this.outputEmitter.dispose();
    });
    return this.disposing;
  }

  private allProcesses(): ProcessEntry[] {
    return [...this.runsById.values()].flatMap((r) => r.processes);
  }

  private findProcess(processId: string): { run: RunEntry; process: ProcessEntry } | undefined {
    for (const run of this.runsById.values()) {
      const proc = run.processes.find((p) => p.id === processId);
      if (proc) return { run, process: proc };
    }
    return undefined;
  }

  private changed(run: RunEntry, process: ProcessEntry): void {
    this.changeEmitter.fire({ kind: 'process', run, process });
  }

  private emitLine(run: RunEntry, process: ProcessEntry, stream: OutputLine['stream'], text: string): void {
    const line: OutputLine = { ts: Date.now(), stream, text };
    process.push(line);
    this.outputEmitter.fire({ run, process, line });
  }

  /** Spawns the process's child; resolves on `spawn`, rejects when it cannot start. */
  private spawnProcess(run: RunEntry, p: ProcessEntry): Promise<void> {
    p.state = 'starting';
    p.stopRequested = false;
    p.exitCode = undefined;
    p.signal = undefined;
    p.error = undefined;
    p.pid = undefined;
    const child = spawn(p.command, p.args as string[], {
      env: run.spawnEnv,
      cwd: path.dirname(p.args.find((a) => a.endsWith('.js') || a.endsWith('.py')) ?? this.examplesRoot),
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    p.child = child;
    p.pid = child.pid;
    // A child that exits while we write is not an error worth surfacing.
    child.stdin?.on('error', () => undefined);
    this.readLines(run, p, child.stdout!, 'stdout');
    this.readLines(run, p, child.stderr!, 'stderr');
    let resolveExit!: () => void;
    p.exited = new Promise<void>((r) => (resolveExit = r));
    return new Promise<void>((resolve, reject) => {
      child.once('spawn', () => {
        if (p.child !== child) return;
        p.pid = child.pid;
        if (p.state === 'starting') p.state = 'running';
        this.emitLine(run, p, 'system', `started (pid ${child.pid}): ${[p.command, ...p.args].join(' ')}`);
        this.changed(run, p);
        resolve();
      });
      child.once('error', (err) => {
        // 'error' without 'spawn' means the program could not be started at all.
        if (child.pid === undefined || p.state === 'starting') {
          p.state = 'crashed';
          p.error = `Cannot start ${p.command}: ${err.message}`;
          this.emitLine(run, p, 'system', p.error);
          this.changed(run, p);
          resolveExit();
          reject(new Error(`${p.label}: ${p.error}`));
        }
      });
      child.once('close', (code, signal) => {
        if (p.child !== child) return;
        p.exitCode = code;
        p.signal = signal;
        if (p.state !== 'crashed' || p.error === undefined) {
          p.state = p.stopRequested ? 'stopped' : code === 0 ? 'exited' : 'crashed';
        }
        const how = signal ? `signal ${signal}` : `code ${code}`;
        this.emitLine(run, p, 'system', p.stopRequested ? `stopped (${how})` : `exited (${how})`);
        this.changed(run, p);
        resolveExit();
      });
    });
  }

  private readLines(run: RunEntry, p: ProcessEntry, stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr'): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        this.emitLine(run, p, name, partial.slice(0, nl).replace(/\r$/, ''));
        partial = partial.slice(nl + 1);
      }
      // A line without an end is cut rather than held without bound.
      if (partial.length > MAX_PARTIAL_LINE) {
        this.emitLine(run, p, name, partial);
        partial = '';
      }
    });
    stream.on('end', () => {
      if (partial) this.emitLine(run, p, name, partial);
      partial = '';
    });
  }

  private async kill(run: RunEntry, p: ProcessEntry): Promise<void> {
    const child = p.child;
    if (!child || !p.alive) {
      await p.exited;
      return;
    }
    if (!p.stopRequested) {
      p.stopRequested = true;
      p.state = 'stopping';
      this.changed(run, p);
      child.kill('SIGTERM');
    }
    const timer = setTimeout(() => {
      if (p.child === child && child.exitCode === null && child.signalCode === null) {
        this.emitLine(run, p, 'system', `no exit ${this.graceMs} ms after SIGTERM: SIGKILL`);
        child.kill('SIGKILL');
      }
    }, this.graceMs);
    try {
      await p.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The Python candidates `findPythonWithZmq` tries by default, in order. */
export function pythonCandidates(): string[] {
  const fromEnv = process.env.ZMQ_DEBUG_PYTHON;
  return [...new Set([...(fromEnv ? [fromEnv] : []), '/usr/bin/python3', 'python3', 'python'])];
}

export interface PythonWithZmq {
  command: string;
  pyzmqVersion: string;
  libzmqVersion: string;
}

/** The first candidate that is a Python ≥ 3.6 and can `import zmq` (each given `timeoutMs`), or undefined. */
export async function findPythonWithZmq(candidates: string[] = pythonCandidates(), timeoutMs = 5000): Promise<PythonWithZmq | undefined> {
  for (const command of candidates) {
    const found = await new Promise<PythonWithZmq | undefined>((resolve) => {
      execFile(
        command,
        // The examples are Python 3 programs: a Python 2 with zmq does not count.
        ['-c', 'import sys, zmq; assert sys.version_info >= (3, 6); sys.stdout.write(zmq.pyzmq_version() + " " + zmq.zmq_version())'],
        { timeout: timeoutMs, windowsHide: true },
        (err, stdout) => {
          const [pyzmqVersion, libzmqVersion] = String(stdout).trim().split(' ');
          resolve(err || !libzmqVersion ? undefined : { command, pyzmqVersion, libzmqVersion });
        },
      );
    });
    if (found) return found;
  }
  return undefined;
}

/** `count` distinct ports that were free on 127.0.0.1 (all held open together, so no duplicates). */
export async function allocatePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}

/** The `examples` folder next to the extension's `node_modules` (from src/core/examples or from dist/). */
function defaultExamplesRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'examples');
    if (existsSync(path.join(candidate, 'node', 'lib', 'exampleRuntime.js'))) return candidate;
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..', 'examples');
}

/** What the example says to observe, at the ports this run got (a tap in the path when the run uses taps). */
function observationsOf(example: ExampleDefinition, endpointOf: (port: number) => string, portOf: (name: string) => number, tapPorts: Record<string, number>): Observation[] {
  return example.observe.map((o) => {
    const endpoint = endpointOf(portOf(o.port));
    switch (o.kind) {
      case 'spy':
        return { kind: o.kind, label: o.label, endpoint, topics: o.topics };
      case 'monitor':
        return { kind: o.kind, label: o.label, endpoint, inPrefix: o.inPrefix, outPrefix: o.outPrefix };
      case 'tap': {
        const tapPort = tapPorts[o.port];
        return tapPort === undefined
          ? { kind: o.kind, label: o.label, endpoint, inPath: false }
          : { kind: o.kind, label: o.label, endpoint, listen: endpointOf(tapPort), inPath: true };
      }
    }
  });
}
