/**
 * The live topology as a service, for the extension and the CLI alike: owns the
 * model fed by the capture, feeds it what else is known (code found by
 * discovery, the examples' processes, tap peers named by pid), probes the
 * socket types the wire has not told, and runs the doctor on every change and
 * once a second while something is live (time-based rules need a clock).
 * Whoever shows the result listens to `onDidEvaluate`.
 *
 * An imported capture's topology, frozen at its last record, can take the live
 * one's place (`showImported`) until the `stillShown` check says otherwise.
 */
import { Disposable, DisposableStore, Emitter, Event } from '../base/lifecycle';
import type { Capture } from '../capture/capture';
import type { CaptureRecord } from '../capture/records';
import type { DiscoveredEndpoint } from '../discovery/discovery';
import type { ExampleRunner } from '../examples/exampleRunner';
import { TopologyProber } from './prober';
import { Diagnostic, diagnose, DoctorOptions } from './doctor';
import { processFromExample } from './exampleTopology';
import { findPidOfTcpPeer } from './peerProcess';
import { TopologyModel } from './topology';
import type { CodeEndpoint, SessionsLike, TopologySnapshot } from './topologyFacts';

export interface TopologyServiceDeps {
  capture: Capture;
  sessions: SessionsLike;
  /** Endpoints found in the workspace's code, by file (a path or URI string). */
  code?: { results(): { file: string; hits: DiscoveredEndpoint[] }[]; onDidChange: Event<void> };
  /** The examples we run: their processes and the errors they print. */
  examples?: ExampleRunner;
  /** The doctor's options, read at each evaluation (settings may change). */
  doctorOptions?: () => DoctorOptions;
  /** Whether the imported capture named `name` is still shown (else the live topology comes back). */
  stillShown?: (name: string) => boolean;
}

export interface TopologyEvaluation {
  snapshot: TopologySnapshot;
  findings: Diagnostic[];
}

/** Tries to name a tap peer after a process we started (see namePeers). */
const NAMING_TRIES = 10;

export class TopologyService implements Disposable {
  readonly model: TopologyModel;
  private readonly disposables = new DisposableStore();
  private readonly evaluated = new Emitter<TopologyEvaluation>();
  /** After every evaluation of the doctor: the snapshot it judged and its findings. */
  readonly onDidEvaluate: Event<TopologyEvaluation> = this.evaluated.event;
  private current: Diagnostic[] = [];
  private last: TopologySnapshot | undefined;
  /** Tap connections whose peer we tried to name by pid, and how often (a few tries each). */
  private readonly namingTries = new Map<string, { tries: number; at: number; candidates: number }>();
  /** An imported capture's topology shown instead of the live one, frozen at its last record. */
  private frozen: { name: string; model: TopologyModel; now: number } | undefined;

  constructor(private readonly deps: TopologyServiceDeps) {
    this.model = new TopologyModel(deps.capture, deps.sessions);
    const prober = new TopologyProber(this.model);
    this.disposables.add(this.model);
    this.disposables.add(prober);
    this.disposables.add(this.evaluated);
    this.feedCode();
    this.feedExamples();
    this.disposables.add(
      this.model.onDidChange(() => {
        this.evaluate();
        this.namePeers();
      }),
    );
    // (only while something is live or a live finding still has to age out: an idle workspace costs nothing)
    const tick = setInterval(() => this.tick(), 1000);
    this.disposables.add({ dispose: () => clearInterval(tick) });
    this.disposables.add({ dispose: () => this.frozen?.model.dispose() });
  }

  /** The doctor's current findings. */
  findings(): Diagnostic[] {
    return this.current;
  }

  /** The snapshot the doctor last judged (the imported one while it is shown). */
  get snapshot(): TopologySnapshot | undefined {
    return this.last;
  }

  /** Shows an imported capture's topology, frozen at its last record, instead of the live one. */
  showImported(name: string, records: readonly CaptureRecord[]): void {
    this.frozen?.model.dispose();
    const model = new TopologyModel();
    let now = 0;
    for (const r of records) {
      model.ingest(r);
      if (r.ts > now) now = r.ts;
    }
    this.frozen = { name, model, now };
    this.evaluate();
  }

  /** Takes a snapshot, runs the doctor on it and tells the listeners. */
  evaluate(): Diagnostic[] {
    this.last = this.frozen ? this.frozen.model.snapshot(this.frozen.now) : this.model.snapshot();
    this.current = diagnose(this.last, this.deps.doctorOptions?.());
    this.evaluated.fire({ snapshot: this.last, findings: this.current });
    return this.current;
  }

  private tick(): void {
    if (this.frozen) {
      // the viewer went back to live (or closed): so does the map
      if (this.deps.stillShown?.(this.frozen.name)) return;
      this.frozen.model.dispose();
      this.frozen = undefined;
      this.evaluate();
      return;
    }
    const s = this.last;
    if (!s) return;
    const live =
      this.deps.sessions.list().length > 0 ||
      s.processes.some((p) => p.state === 'running' || p.state === 'starting') ||
      s.connections.some((c) => c.state === 'open');
    if (live || this.current.some((d) => !d.rule.startsWith('code-'))) this.evaluate();
  }

  /** Endpoints found in the workspace's code. */
  private feedCode(): void {
    const code = this.deps.code;
    if (!code) return;
    const feed = () => this.model.setCodeEndpoints(code.results().flatMap((f) => f.hits.map((h): CodeEndpoint => ({ ...h, file: f.file }))));
    feed();
    this.disposables.add(code.onDidChange(feed));
  }

  /** The processes of the examples we run. */
  private feedExamples(): void {
    const runner = this.deps.examples;
    if (!runner) return;
    const known = new Set<string>();
    const feed = () => {
      const seen = new Set<string>();
      for (const run of runner.runs) {
        for (const p of run.processes) {
          seen.add(p.id);
          this.model.setProcess(processFromExample(run, p));
        }
      }
      for (const id of known) if (!seen.has(id)) this.model.removeProcess(id);
      known.clear();
      for (const id of seen) known.add(id);
    };
    feed();
    this.disposables.add(runner.onDidChange(feed));
    // a ZeroMQ error on stderr ("Address already in use") changes what the doctor says
    this.disposables.add(
      runner.onDidOutput((e) => {
        if (e.line.stream === 'stderr') feed();
      }),
    );
  }

  /** Names the tap peers that are processes we started (Linux /proc; a few tries per connection). */
  private namePeers(): void {
    const s = this.last;
    if (!s) return;
    const pids = new Map<number, string>();
    for (const p of s.processes) if (p.pid !== undefined && (p.state === 'running' || p.state === 'starting')) pids.set(p.pid, p.id);
    // programs under the agent too: the peer is then drawn inside the program, named by it
    for (const p of s.agents.processes) if (p.state === 'running' && !pids.has(p.pid)) pids.set(p.pid, p.nodeId);
    if (pids.size === 0) return;
    for (const c of s.connections) {
      if (c.state !== 'open' || c.processId || !c.peer) continue;
      // up to NAMING_TRIES per connection, at most one a second (a loaded machine may
      // show the connection before /proc does), and again when a process appears
      const tried = this.namingTries.get(c.id);
      const again = tried && tried.candidates >= pids.size ? tried : undefined;
      const now = Date.now();
      if (again && (again.tries >= NAMING_TRIES || now - again.at < 1000)) continue;
      this.namingTries.set(c.id, { tries: (again?.tries ?? 0) + 1, at: now, candidates: pids.size });
      // /proc is read asynchronously: the host never waits on the file system here
      void findPidOfTcpPeer(c.peer, [...pids.keys()]).then((pid) => {
        if (pid !== undefined) this.model.setConnectionProcess(c.id, pids.get(pid)!);
      });
    }
    if (this.namingTries.size > 1000) this.namingTries.clear();
  }

  dispose(): void {
    this.disposables.dispose();
  }
}
