/**
 * Keeps the topology's socket types known: probes each tapped endpoint whose
 * bound socket's type the wire has not shown (see zmtp/socketTypeProbe.ts).
 */
import { probeSocketType } from '../zmtp/socketTypeProbe';

/** What the prober needs from the model. */
export interface ProbeTarget {
  snapshot(): { endpoints: { key: string; endpoint: string; socketTypeSource?: string; mechanism?: string }[]; connections: { endpointKey: string }[] };
  setProbedSocketType(endpoint: string, socketType: string | undefined, mechanism?: string): void;
  onDidChange(listener: () => void): { dispose(): void };
}

/**
 * Probes every tapped endpoint whose socket type (or security mechanism) the wire has not told us yet
 * (at most once per `intervalMs` per endpoint, one probe at a time each).
 */
export class TopologyProber {
  private readonly last = new Map<string, number>();
  private readonly running = new Set<string>();
  private readonly sub: { dispose(): void };
  private disposed = false;

  constructor(
    private readonly model: ProbeTarget,
    private readonly intervalMs = 10_000,
  ) {
    this.sub = model.onDidChange(() => this.check());
    this.check();
  }

  private check(): void {
    if (this.disposed) return;
    const s = this.model.snapshot();
    const tapped = new Set(s.connections.map((c) => c.endpointKey));
    for (const e of s.endpoints) {
      if (!tapped.has(e.key) || e.socketTypeSource === 'tap' || e.socketTypeSource === 'probe') continue;
      if (this.running.has(e.key) || Date.now() - (this.last.get(e.key) ?? 0) < this.intervalMs) continue;
      if (!/^tcp:\/\//.test(e.endpoint)) continue;
      this.running.add(e.key);
      this.last.set(e.key, Date.now());
      void probeSocketType(e.endpoint).then((r) => {
        this.running.delete(e.key);
        if (!this.disposed && (r.socketType || (r.mechanism && !e.mechanism))) this.model.setProbedSocketType(e.endpoint, r.socketType, r.mechanism);
      });
    }
  }

  dispose(): void {
    this.disposed = true;
    this.sub.dispose();
  }
}
