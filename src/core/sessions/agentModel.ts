/**
 * The live picture a collector builds from its agents: processes → sockets →
 * endpoints, with message counts, failures, drops and state. Vscode-free; the
 * extension shows it as a Processes view and the map groups sockets by process.
 */
import { Emitter, Event } from '../base/lifecycle';

export interface AgentEndpoint {
  /** The real endpoint (`tcp://0.0.0.0:41234` for a bind to `tcp://*:0`). */
  endpoint: string;
  /** The text the program gave, when it differs. */
  requested?: string;
  role: 'bind' | 'connect';
  /** active; removed (unbind/disconnect); failed (the call raised, see `error`). */
  state: 'active' | 'removed' | 'failed';
  error?: string;
}

export interface AgentSocket {
  /** `<pid>.<n>`, as in the records' `socket` field. */
  id: string;
  type: string;
  state: 'open' | 'closed';
  endpoints: AgentEndpoint[];
  /** Current subscriptions (SUB/XSUB), as raw topic prefixes. */
  subscriptions: Uint8Array[];
  /** Options the program set (sndhwm, rcvhwm, routing_id (bytes as latin1), linger, ...) and the HWMs it started with. */
  options: Record<string, number | string>;
  messagesOut: number;
  messagesIn: number;
  bytesOut: number;
  bytesIn: number;
  /** Failed sends/receives by `send EAGAIN`, `recv EFSM`, ... (only those the program received). */
  failures: Record<string, number>;
  /** Sends that waited at the high-water mark inside a green/async layer (zmq.green, zmq.asyncio) before they went: not failures. */
  sendWaits?: number;
  /** Socket monitor events seen, by zeromq.js name (`accept`, `connect:retry` counting every attempt, ...). Python agent only. */
  events?: Record<string, number>;
  /** Remote ends of the socket's TCP connections now open (from accept/connect to disconnect), when the agent could tell. */
  peers?: string[];
  lastTs: number;
}

export interface AgentProcess {
  /** Unique per agent connection: `<pid>@<n>`. */
  key: string;
  pid: number;
  /** Program name (`pub_server.py`). */
  name: string;
  argv: string[];
  cwd: string;
  ppid?: number;
  runtime?: string;
  /** `python` or `node`. */
  agent: string;
  state: 'running' | 'exited';
  startedTs: number;
  exitedTs?: number;
  /** Reports the agent dropped (its queue was full or the collector unreachable). */
  dropped: number;
  sockets: Map<string, AgentSocket>;
}

export class AgentModel {
  private readonly byKey = new Map<string, AgentProcess>();
  private readonly changeEmitter = new Emitter<void>();
  private scheduled = false;
  /** Fired at most once per tick when anything changed. */
  readonly onDidChange: Event<void> = this.changeEmitter.event;

  processes(): AgentProcess[] {
    return [...this.byKey.values()];
  }

  process(key: string): AgentProcess | undefined {
    return this.byKey.get(key);
  }

  /** Every socket of every process, with its process. */
  *sockets(): IterableIterator<{ process: AgentProcess; socket: AgentSocket }> {
    for (const p of this.byKey.values()) for (const s of p.sockets.values()) yield { process: p, socket: s };
  }

  /** @internal collector */
  add(p: AgentProcess): void {
    this.byKey.set(p.key, p);
    this.changed();
  }

  /** Forgets exited processes (running ones stay). */
  clearExited(): void {
    for (const [k, p] of this.byKey) if (p.state === 'exited') this.byKey.delete(k);
    this.changed();
  }

  /** @internal collector */
  changed(): void {
    if (this.scheduled || this.changeEmitter.listenerCount === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.changeEmitter.fire();
    });
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }
}

/** A socket's first active endpoint, or '' (what its messages are filed under). */
export function primaryEndpoint(s: AgentSocket): string {
  for (const e of s.endpoints) if (e.state === 'active') return e.endpoint;
  return '';
}
