/**
 * What the collector does with an agent's checked reports and messages
 * (agentProtocol.ts validates them): capture records (source `agent`), which
 * the store of agent facts learns from too. The collector keeps the connections
 * and their socket-number table; it hands each report here with a view of them.
 */
import { Capture } from '../capture/capture';
import { CapturedEvent, CapturedMessage, CaptureRecord, SocketRecord } from '../capture/records';
import { AgentMessage, AgentReport, DropsReport, ErrorReport, EventReport, ProcessReport, SocketReport, WaitReport } from './agentProtocol';
import { AgentEndpointFacts, AgentProcessFacts, AgentStore, primaryEndpoint } from './agentStore';

/** What the collector keeps of an agent's process to write its records (the facts are the store's). */
export type ProcessEntry = Pick<AgentProcessFacts, 'pid' | 'name' | 'argv' | 'cwd' | 'ppid' | 'runtime' | 'state' | 'dropped'>;

/** What the collector keeps of a socket to write its records. */
export interface SocketEntry {
  id: string;
  type: string;
  endpoints: Pick<AgentEndpointFacts, 'endpoint' | 'requested' | 'role' | 'state'>[];
}

/** One agent connection as the handlers see it: its process and its socket-number table (kept by the collector). */
export interface AgentConnectionView {
  readonly process: ProcessEntry;
  /** The socket of number `n` (a new one of type `?` for a number never opened). */
  socketOf(n: number): SocketEntry;
  /** Socket `n` closed. */
  socketClosed(n: number): void;
}

/** The collector's counters the handlers add to. */
export interface HandledCounts {
  agentDropped: number;
  messages: number;
}

type RecordBase = Pick<CaptureRecord, 'seq' | 'ts' | 'session' | 'source' | 'process' | 'pid'>;

/**
 * Turns checked reports into capture records (source `agent`); the one store of
 * agent facts (agentStore.ts) learns from the same records, so the Processes
 * view, the map and the doctor read what the capture holds.
 */
export class AgentReportHandler {
  constructor(
    private readonly session: string,
    private readonly capture: Capture,
    private readonly store: AgentStore,
    private readonly counts: HandledCounts,
  ) {}

  /** Applies one checked report; false when it contradicts what came before (counted as malformed). */
  report(c: AgentConnectionView, r: AgentReport): boolean {
    const p = c.process;
    if (r.type === 'drops') return this.drops(p, r);
    if (r.type === 'ring') return true; // the connection's (collector.ts): no record
    const ts = r.ts ?? Date.now();
    if (r.type === 'exit') {
      this.exited(p, ts);
      return true;
    }
    const base: RecordBase = { seq: 0, ts, session: this.session, source: 'agent', process: p.name, pid: p.pid };
    if (r.type === 'process') this.process(p, r, base);
    else if (r.type === 'socket') this.socket(c, r, base);
    else if (r.type === 'event') this.event(c, r, base);
    else this.failure(c, r, base);
    return true;
  }

  /** The process ended (its `exit`, or its connection closed). */
  exited(p: ProcessEntry, ts: number): void {
    if (p.state === 'exited') return;
    p.state = 'exited';
    const r: CaptureRecord = { kind: 'process', seq: 0, ts, session: this.session, source: 'agent', endpoint: '', process: p.name, pid: p.pid, state: 'exited' };
    if (p.dropped) r.dropped = p.dropped;
    this.record(r);
  }

  /**
   * One message the process's socket sent or received. Its frames are views of
   * what the collector read (a shared ring's read buffer is written over at the
   * next read): the capture copies a whole message's frames into its chunks,
   * and a cut one, which it keeps as an object, gets copies here.
   */
  message(c: AgentConnectionView, m: AgentMessage): void {
    const p = c.process;
    const s = c.socketOf(m.socket);
    const r: CapturedMessage = {
      kind: 'message',
      seq: 0,
      ts: m.ts ?? Date.now(),
      session: this.session,
      source: 'agent',
      endpoint: primaryEndpoint(s),
      process: p.name,
      pid: p.pid,
      socket: s.id,
      direction: m.direction,
      frames: m.frames,
      socketType: s.type,
    };
    if (m.truncated) {
      // kept as an object by the capture: own copies, not views of the whole batch
      r.frames = m.frames.map((f) => Buffer.from(f));
      r.truncated = m.truncated;
    }
    splitEnvelope(r, s.type);
    this.record(r);
    this.counts.messages++;
  }

  /** A record to the store of facts, and to the capture. */
  private record(r: CaptureRecord): void {
    this.store.ingest(r);
    this.capture.append(r);
  }

  private process(p: ProcessEntry, j: ProcessReport, base: RecordBase): void {
    if (j.pid !== undefined && j.pid !== p.pid) {
      // listed at its hello under the pid it gave there
      this.store.forget(this.session, p.pid);
      p.pid = j.pid;
    }
    if (j.argv) p.argv = j.argv;
    if (j.cwd !== undefined) p.cwd = j.cwd;
    if (j.name) p.name = j.name;
    if (j.ppid !== undefined) p.ppid = j.ppid;
    if (j.runtime !== undefined) p.runtime = j.runtime;
    const r: CaptureRecord = { ...base, process: p.name, pid: p.pid, kind: 'process', endpoint: '', state: 'started', argv: p.argv, cwd: p.cwd };
    if (p.ppid !== undefined) r.ppid = p.ppid;
    if (p.runtime !== undefined) r.runtime = p.runtime;
    this.record(r);
  }

  private socket(c: AgentConnectionView, j: SocketReport, base: RecordBase): void {
    const s = c.socketOf(j.socket);
    const r: SocketRecord = { ...base, kind: 'socket', op: j.op, endpoint: '', socket: s.id };
    switch (j.op) {
      case 'open':
        if (j.socketType !== undefined) s.type = j.socketType;
        for (const k of ['sndhwm', 'rcvhwm'] as const) {
          const v = j[k];
          if (v !== undefined) r[k] = v;
        }
        break;
      case 'bind':
      case 'connect':
      case 'unbind':
      case 'disconnect':
        endpointChanged(s, j, r);
        break;
      case 'subscribe':
      case 'unsubscribe':
        r.topic = j.topic;
        r.endpoint = primaryEndpoint(s);
        break;
      case 'option':
        r.option = j.option;
        if (j.value !== undefined) r.value = j.value;
        else if (j.bytes) r.bytes = j.bytes;
        r.endpoint = primaryEndpoint(s);
        break;
      case 'close':
        r.endpoint = primaryEndpoint(s);
        c.socketClosed(j.socket);
        break;
    }
    r.socketType = s.type;
    if (j.site) r.site = j.site;
    this.record(r);
  }

  /**
   * Failed sends or receives by errno; or (`wait`) sends a green/async layer (zmq.green, zmq.asyncio)
   * held back at the high-water mark until they could go: the program waited, nothing was refused
   * (a plain NOBLOCK send fails instead).
   */
  private failure(c: AgentConnectionView, j: ErrorReport | WaitReport, base: RecordBase): void {
    const s = c.socketOf(j.socket);
    const at = { ...base, kind: 'event' as const, endpoint: primaryEndpoint(s), socket: s.id };
    if (j.type === 'wait') {
      this.record({ ...at, type: 'send:wait', count: j.count });
      return;
    }
    const r: CapturedEvent = { ...at, type: `${j.op}:error`, code: j.code, count: j.count };
    if (j.site) r.site = j.site;
    this.record(r);
  }

  /** A socket monitor event, zeromq.js names (`accept`, `connect:retry`, `disconnect`, ...). */
  private event(c: AgentConnectionView, j: EventReport, base: RecordBase): void {
    const s = c.socketOf(j.socket);
    const { type: _report, socket: _n, ts: _ts, event: type, ...fields } = j;
    this.record({ ...base, kind: 'event', endpoint: primaryEndpoint(s), socket: s.id, type, ...fields });
  }

  /** The agent's running total of dropped reports: a smaller one than before is malformed. */
  private drops(p: ProcessEntry, j: DropsReport): boolean {
    if (j.dropped < p.dropped) return false;
    const n = j.dropped - p.dropped;
    p.dropped = j.dropped;
    this.store.noteDropped(this.session, p.pid, p.dropped);
    this.counts.agentDropped += n;
    this.capture.reportDropped(this.session, n);
    return true;
  }
}

/** bind/connect add an endpoint to the socket; unbind/disconnect remove the one given (as written or as resolved). */
function endpointChanged(s: SocketEntry, j: Extract<SocketReport, { endpoint: string }>, r: SocketRecord): void {
  const requested = j.endpoint;
  const real = j.resolved ?? requested;
  r.endpoint = real;
  if (real !== requested) r.requested = requested;
  if (j.error !== undefined) {
    r.error = j.error;
    if (j.code !== undefined) r.code = j.code;
  }
  if (j.op === 'bind' || j.op === 'connect') {
    s.endpoints.push({ endpoint: real, ...(real !== requested ? { requested } : {}), role: j.op, state: r.error ? 'failed' : 'active' });
  } else if (!r.error) {
    const e = s.endpoints.find((x) => x.state === 'active' && (x.endpoint === requested || x.requested === requested));
    if (e) {
      e.state = 'removed';
      r.endpoint = e.endpoint;
    }
  }
}

/**
 * The envelope of a message as the program's socket sent or received it, split
 * out as the tap and the monitor spy do (`envelopeFrames`, `identity`):
 * - ROUTER: the first frame is always the peer's routing id (`identity`); with
 *   REQ-style peers more hops and the empty delimiter follow: the envelope runs
 *   up to that delimiter when every frame before it can be a routing id
 *   (1 to 255 bytes), else it is the routing id alone;
 * - DEALER: only a REQ-style envelope (routing ids, then the delimiter), as it
 *   talks to a REP or to a ROUTER server; none otherwise;
 * - REQ/REP (and the rest): libzmq hides the envelope from the program.
 */
export function splitEnvelope(r: CapturedMessage, socketType: string): void {
  const router = socketType === 'ROUTER';
  if (!router && socketType !== 'DEALER') return;
  const frames = r.frames;
  let n = router ? 1 : 0;
  const limit = Math.min(frames.length - 1, 16);
  for (let i = 0; i < limit; i++) {
    const len = frames[i].byteLength;
    if (len === 0 && r.truncated?.[i] === undefined) {
      if (i > 0 || !router) n = i + 1;
      break;
    }
    if (len > 255 || r.truncated?.[i] !== undefined) break;
  }
  if (router && frames.length < 2) n = 0;
  if (n === 0) return;
  r.envelopeFrames = n;
  if (router) r.identity = frames[0];
}
