/**
 * The one store of what the zmq-debug agents report (capture records with
 * `source: 'agent'`): processes → sockets → endpoints, with counts, failures,
 * monitor events, drops and state, plus the few samples the doctor's inside
 * rules read (topics a PUB sent, a ROUTER's envelopes, a PUB's last sends and a
 * SUB's first receives). Everything is bounded.
 *
 * The Processes view reads the collector's store (fed every record the
 * collector writes, so it sees what the capture later evicts); the map and the
 * doctor read the topology model's (fed from the capture, or from a file),
 * through agentTopology.ts, which adds the links between sockets.
 *
 * Plain Node: no vscode.
 */
import { copyBytes, equalBytes, latin1 } from '../base/bytes';
import { Emitter, Event } from '../base/lifecycle';
import { topicKey } from '../capture/capture';
import { RateFacts, WindowMeter } from '../capture/meter';
import { CallSite, CapturedEvent, CapturedMessage, CaptureRecord, ProcessRecord, SocketRecord } from '../capture/records';
import { isPublisher, isSubscriber, normalizeSocketType } from '../zmq/socketTypes';

export interface AgentProcessFacts {
  /** The map node: `aproc:<session>:<pid>`, or `proc:<id>` when it is an example we started (same pid). */
  nodeId: string;
  session: string;
  pid: number;
  /** Program name (`pub_server.py`). */
  name: string;
  argv: string[];
  cwd: string;
  ppid?: number;
  runtime?: string;
  /** The agent inside it (`python`, `node`, `native`), when its collector said. */
  agent?: string;
  state: 'running' | 'exited';
  startedTs: number;
  exitedTs?: number;
  /** Reports its agent dropped (the capture of it is incomplete). */
  dropped: number;
  /** The example process (TopologyProcess id) it is, when the extension started it. */
  exampleId?: string;
}

export interface AgentEndpointFacts {
  /** The real endpoint (`tcp://0.0.0.0:41234` for a bind to `tcp://*:0`). */
  endpoint: string;
  requested?: string;
  role: 'bind' | 'connect';
  state: 'active' | 'removed' | 'failed';
  error?: string;
  ts: number;
  /** Where the program called bind/connect. */
  site?: CallSite;
}

export interface AgentFailureFacts {
  op: 'send' | 'recv';
  /** errno name: EAGAIN, EFSM, ... */
  code: string;
  count: number;
  firstTs: number;
  lastTs: number;
  /** Where the program made the first of these calls (Python: each failed call; Node: the socket's first send or receive). */
  site?: CallSite;
}

export interface AgentTopicFacts {
  /** The first frame, up to LIMITS.topicBytes bytes. */
  topic: Uint8Array;
  text: string;
  count: number;
  lastTs: number;
  /** Sent as the first frame of a multipart message (the topic is a frame of its own). */
  multipart: boolean;
}

export interface AgentSocketFacts {
  /** `asock:<session>:<pid>.<n>`. */
  nodeId: string;
  processNodeId: string;
  session: string;
  pid: number;
  process: string;
  /** `<pid>.<n>` as in the records. */
  id: string;
  type: string;
  state: 'open' | 'closed';
  openedTs: number;
  closedTs?: number;
  endpoints: AgentEndpointFacts[];
  subscriptions: { topic: Uint8Array; ts: number; site?: CallSite }[];
  /** Where the program created the socket. */
  site?: CallSite;
  /** Options the program set and the HWMs the socket started with. */
  options: Record<string, number | string>;
  sent: RateFacts;
  received: RateFacts;
  failures: AgentFailureFacts[];
  /** PUB/XPUB: distinct first frames sent (bounded). */
  topicsSent: AgentTopicFacts[];
  topicsOverflow: boolean;
  /** ROUTER: messages sent with and without the empty delimiter after the identity frame. */
  routerEnvelope?: { withDelimiter: number; withoutDelimiter: number; last?: { ts: number; identity: string; next: string } };
  /** SUB/XSUB: when it received its first message. */
  firstReceivedTs?: number;
  /**
   * The socket's messages are moved by a device loop inside libzmq that the agent
   * cannot see (`zmq.proxy_steerable`, or devices left native): its counts miss them.
   * The device function's name.
   */
  unseenBy?: string;
  /** Sends a green/async layer held at the high-water mark before they went (`send:wait`): waits, not failures. */
  sendWaits?: number;
  /** Socket monitor events seen, by zeromq.js name (`accept`, `connect:retry` counting every attempt, ...; at most 64 names). */
  events: Record<string, number>;
  /** Remote ends of the socket's TCP connections now open (from accept/connect to disconnect), when the agent could tell. */
  peers: string[];
}

/** A process with its sockets by id (`<pid>.<n>`), as the Processes view lists them. */
export interface AgentProcessWithSockets extends AgentProcessFacts {
  sockets: Map<string, AgentSocketFacts>;
}

/** What a PUB sent and a SUB first received: the slow-joiner measure (agentTopology.ts) reads them. */
export interface SocketSamples {
  /** PUB: ring of the last sends; `logged` counts every send put in it. */
  sendLog?: readonly SendEntry[];
  logged: number;
  /** SUB: the first messages received. */
  firstReceived?: readonly { ts: number; hash: number }[];
  /** When the socket sent its first message (0: never). */
  sent: { readonly firstTs: number };
}

export interface SendEntry {
  ts: number;
  hash: number;
  /** The first frame, up to LIMITS.topicBytes bytes. */
  first: Uint8Array;
}

/** What the store keeps at most. */
export const LIMITS = {
  processes: 200,
  /** Sockets of one process (open ones: closed ones beyond `closedSockets` are forgotten first). */
  socketsPerProcess: 1024,
  /** Closed sockets kept per process (the most recent): a program may open and close sockets without end. */
  closedSockets: 256,
  endpoints: 64,
  subscriptions: 256,
  topics: 128,
  topicBytes: 128,
  failureKinds: 32,
  eventNames: 64,
  peers: 256,
  /** Sends of a PUB kept for the slow-joiner measure. */
  sendLog: 1024,
  /** First messages of a SUB kept for it. */
  firstReceived: 8,
} as const;

interface ProcState {
  facts: AgentProcessFacts;
  sockets: Map<string, SockState>;
  /** Closed sockets still kept, oldest first. */
  closed: Set<string>;
  /** The highest socket number forgotten: agents number sockets upwards, so a report about one up to it is late, not new. */
  forgottenUpTo: number;
}

interface SockState extends SocketSamples {
  facts: Omit<AgentSocketFacts, 'sent' | 'received' | 'failures' | 'topicsSent' | 'nodeId' | 'processNodeId'>;
  sent: WindowMeter;
  received: WindowMeter;
  failures: Map<string, AgentFailureFacts>;
  topics: Map<string, AgentTopicFacts>;
  sendLog?: SendEntry[];
  firstReceived?: { ts: number; hash: number }[];
}

/** The processes and sockets of a snapshot, and each socket's samples by node id. */
export interface AgentStoreFacts {
  processes: AgentProcessFacts[];
  sockets: AgentSocketFacts[];
  samples: Map<string, SocketSamples>;
}

export class AgentStore {
  private readonly procs = new Map<string, ProcState>();
  private readonly changeEmitter = new Emitter<void>();
  private scheduled = false;
  /** The socket of the last record looked up (a capture's records come in runs of one socket's); dropped whenever a process or socket is forgotten. */
  private lastSocket?: { session: string; pid: number; id: string; proc: ProcState; sock: SockState };
  /** Fired at most once per tick when anything changed (only while someone listens). */
  readonly onDidChange: Event<void> = this.changeEmitter.event;

  /** `window`: the sliding window of the rates, in seconds. */
  constructor(private readonly window = 5) {}

  clear(): void {
    this.procs.clear();
    this.lastSocket = undefined;
    this.changed();
  }

  get size(): number {
    return this.procs.size;
  }

  ingest(r: CaptureRecord): void {
    if (r.source !== 'agent' || r.pid === undefined) return;
    if (r.kind === 'process') this.onProcess(r);
    else if (r.kind === 'socket') this.onSocket(r);
    else if (r.kind === 'message') this.onMessage(r);
    else if (r.kind === 'event') this.onEvent(r);
    this.changed();
  }

  /** An agent said hello: its process is listed before it reports anything. */
  hello(session: string, pid: number, agent: string, ts: number): void {
    this.proc({ session, pid, ts }).facts.agent = agent;
    this.changed();
  }

  /** The reports a process's agent dropped so far (the collector hears it live; the capture only counts it). */
  noteDropped(session: string, pid: number, dropped: number): void {
    const p = this.procs.get(`${session}:${pid}`);
    if (p && dropped > p.facts.dropped) p.facts.dropped = dropped;
    this.changed();
  }

  /** Forgets a process that reported nothing under this pid (its agent said another one first). */
  forget(session: string, pid: number): void {
    const key = `${session}:${pid}`;
    if (this.procs.get(key)?.sockets.size === 0 && this.dropProc(key)) this.changed();
  }

  /** The processes with their sockets (the Processes view). */
  processes(now = Date.now()): AgentProcessWithSockets[] {
    return [...this.procs.values()].map((p) => {
      const sockets = new Map<string, AgentSocketFacts>();
      for (const s of p.sockets.values()) sockets.set(s.facts.id, socketFacts(s, p.facts.nodeId, now));
      return { ...p.facts, argv: [...p.facts.argv], sockets };
    });
  }

  /** Every socket of every process, with its process. */
  *sockets(now = Date.now()): IterableIterator<{ process: AgentProcessWithSockets; socket: AgentSocketFacts }> {
    for (const p of this.processes(now)) for (const s of p.sockets.values()) yield { process: p, socket: s };
  }

  /**
   * The facts for a snapshot. `exampleOf(pid)` names the example process with
   * that pid, if any: the agent's process is then drawn as that example's node.
   */
  facts(now: number, exampleOf: (pid: number) => string | undefined = () => undefined): AgentStoreFacts {
    const processes: AgentProcessFacts[] = [];
    const sockets: AgentSocketFacts[] = [];
    const samples = new Map<string, SocketSamples>();
    for (const p of this.procs.values()) {
      const example = exampleOf(p.facts.pid);
      const nodeId = example ? `proc:${example}` : p.facts.nodeId;
      processes.push({ ...p.facts, argv: [...p.facts.argv], nodeId, ...(example ? { exampleId: example } : {}) });
      for (const s of p.sockets.values()) {
        const f = socketFacts(s, nodeId, now);
        samples.set(f.nodeId, s);
        sockets.push(f);
      }
    }
    return { processes, sockets, samples };
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }

  private changed(): void {
    if (this.scheduled || this.changeEmitter.listenerCount === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.changeEmitter.fire();
    });
  }

  /** Forgets a process (and the socket looked up last, which may be one of its). */
  private dropProc(key: string): boolean {
    this.lastSocket = undefined;
    return this.procs.delete(key);
  }

  private proc(r: { session?: string; pid?: number; process?: string; ts: number }): ProcState {
    const session = r.session ?? 'agent';
    const key = `${session}:${r.pid}`;
    let p = this.procs.get(key);
    if (!p) {
      if (this.procs.size >= LIMITS.processes) {
        // forget the oldest exited program (or the oldest one)
        let victim: string | undefined;
        for (const [k, x] of this.procs) if (x.facts.state === 'exited') { victim = k; break; }
        this.dropProc(victim ?? this.procs.keys().next().value!);
      }
      p = {
        facts: { nodeId: `aproc:${key}`, session, pid: r.pid!, name: r.process ?? `pid ${r.pid}`, argv: [], cwd: '', state: 'running', startedTs: r.ts, dropped: 0 },
        sockets: new Map(),
        closed: new Set(),
        forgottenUpTo: 0,
      };
      this.procs.set(key, p);
    }
    return p;
  }

  private onProcess(r: ProcessRecord): void {
    let p = this.proc(r);
    if (r.state === 'started') {
      if (p.facts.state === 'exited') {
        // the pid was used again: a new program
        this.dropProc(`${p.facts.session}:${p.facts.pid}`);
        p = this.proc(r);
      }
      // the same program run again: what its earlier run did (kept, with its findings, after it exited) is history now;
      // a forked child has its parent's command line and is not a new run of it
      if (r.argv) {
        const again = JSON.stringify([r.cwd ?? '', r.argv]);
        for (const [k, x] of this.procs)
          if (x !== p && x.facts.state === 'exited' && x.facts.pid !== r.ppid && JSON.stringify([x.facts.cwd, x.facts.argv]) === again) this.dropProc(k);
      }
      const f = p.facts;
      if (r.process) f.name = r.process;
      if (r.argv) f.argv = r.argv.slice(0, 100);
      if (r.cwd !== undefined) f.cwd = r.cwd;
      if (r.runtime) f.runtime = r.runtime;
      if (r.ppid !== undefined) f.ppid = r.ppid;
      f.startedTs = Math.min(f.startedTs, r.ts);
    } else {
      p.facts.state = 'exited';
      p.facts.exitedTs = r.ts;
      if (r.dropped) p.facts.dropped = r.dropped;
      for (const s of p.sockets.values()) {
        s.facts.peers = [];
        if (s.facts.state === 'open') {
          s.facts.state = 'closed';
          s.facts.closedTs = r.ts;
        }
      }
    }
  }

  private sock(r: CaptureRecord & { socket?: string }): SockState | undefined {
    if (!r.socket) return undefined;
    const last = this.lastSocket;
    let p: ProcState;
    let s: SockState | undefined;
    if (last && last.id === r.socket && last.pid === r.pid && last.session === (r.session ?? 'agent')) {
      p = last.proc;
      s = last.sock;
    } else {
      p = this.proc(r);
      s = p.sockets.get(r.socket);
      if (!s) {
        // a late report about a socket forgotten among the closed ones does not bring it back
        if (p.sockets.size >= LIMITS.socketsPerProcess || socketNumber(r.socket) <= p.forgottenUpTo) return undefined;
        s = newSocket(p, r.socket, r.ts, this.window);
        p.sockets.set(r.socket, s);
      }
      this.lastSocket = { session: p.facts.session, pid: p.facts.pid, id: r.socket, proc: p, sock: s };
    }
    s.facts.process = p.facts.name;
    if (s.facts.type === '?' && 'socketType' in r) {
      const t = normalizeSocketType(r.socketType);
      if (t && t !== '?') s.facts.type = t;
    }
    return s;
  }

  /** A socket closed: it stays among its process's most recent closed sockets, the oldest beyond them is forgotten. */
  private closed(r: SocketRecord): void {
    const p = this.proc(r);
    const id = r.socket!;
    p.closed.delete(id);
    p.closed.add(id);
    if (p.closed.size <= LIMITS.closedSockets) return;
    const oldest: string = p.closed.values().next().value!;
    p.closed.delete(oldest);
    p.sockets.delete(oldest);
    this.lastSocket = undefined;
    const n = socketNumber(oldest);
    if (Number.isFinite(n)) p.forgottenUpTo = Math.max(p.forgottenUpTo, n);
  }

  private onSocket(r: SocketRecord): void {
    const s = this.sock(r);
    if (!s) return;
    const f = s.facts;
    switch (r.op) {
      case 'open':
        if (r.socketType) f.type = normalizeSocketType(r.socketType) ?? r.socketType;
        if (r.sndhwm !== undefined) f.options.sndhwm = r.sndhwm;
        if (r.rcvhwm !== undefined) f.options.rcvhwm = r.rcvhwm;
        f.openedTs = r.ts;
        f.state = 'open';
        if (r.site) f.site = r.site;
        break;
      case 'bind':
      case 'connect':
        if (f.endpoints.length >= LIMITS.endpoints) f.endpoints.splice(Math.max(0, f.endpoints.findIndex((e) => e.state !== 'active')), 1);
        f.endpoints.push({
          endpoint: r.endpoint,
          ...(r.requested ? { requested: r.requested } : {}),
          role: r.op,
          state: r.error ? 'failed' : 'active',
          ...(r.error ? { error: r.code ? `${r.code}: ${r.error}` : r.error } : {}),
          ts: r.ts,
          ...(r.site ? { site: r.site } : {}),
        });
        break;
      case 'unbind':
      case 'disconnect': {
        if (r.error) break;
        const e = f.endpoints.find((x) => x.state === 'active' && (x.endpoint === r.endpoint || x.requested === r.endpoint || x.endpoint === r.requested));
        if (e) e.state = 'removed';
        break;
      }
      case 'subscribe':
        if (r.topic && f.subscriptions.length < LIMITS.subscriptions) f.subscriptions.push({ topic: r.topic.slice(), ts: r.ts, ...(r.site ? { site: r.site } : {}) });
        break;
      case 'unsubscribe': {
        const i = r.topic ? f.subscriptions.findIndex((x) => equalBytes(x.topic, r.topic!)) : -1;
        if (i >= 0) f.subscriptions.splice(i, 1);
        break;
      }
      case 'option':
        if (r.option) {
          if (r.value !== undefined) f.options[r.option] = r.value;
          else if (r.bytes) f.options[r.option] = latin1(r.bytes);
        }
        break;
      case 'close':
        f.state = 'closed';
        f.closedTs = r.ts;
        f.peers = [];
        this.closed(r);
        break;
    }
  }

  private onMessage(r: CapturedMessage): void {
    const s = this.sock(r);
    if (!s) return;
    let size = 0;
    for (const fr of r.frames) size += fr.byteLength;
    const t = s.facts.type;
    if (r.direction === 'out') {
      s.sent.hit(r.ts, size);
      if (isPublisher(t) && r.frames.length) {
        this.noteTopic(s, r);
        const log = (s.sendLog ??= []);
        const entry = { ts: r.ts, hash: hashFrames(r.frames), first: copyBytes(r.frames[0], 0, LIMITS.topicBytes) };
        if (log.length < LIMITS.sendLog) log.push(entry);
        else log[s.logged % LIMITS.sendLog] = entry;
        s.logged++;
      } else if (t === 'ROUTER' && r.frames.length >= 2) {
        const env = (s.facts.routerEnvelope ??= { withDelimiter: 0, withoutDelimiter: 0 });
        if (r.frames[1].byteLength === 0) env.withDelimiter++;
        else {
          env.withoutDelimiter++;
          env.last = { ts: r.ts, identity: topicKey(r.frames[0].subarray(0, 64)), next: topicKey(r.frames[1].subarray(0, 64)) };
        }
      }
    } else {
      s.received.hit(r.ts, size);
      if (isSubscriber(t)) {
        s.facts.firstReceivedTs ??= r.ts;
        const first = (s.firstReceived ??= []);
        if (first.length < LIMITS.firstReceived) first.push({ ts: r.ts, hash: hashFrames(r.frames) });
      }
    }
  }

  private noteTopic(s: SockState, r: CapturedMessage): void {
    const first = r.frames[0];
    let len = Math.min(first.byteLength, LIMITS.topicBytes);
    // "topic data" in one frame: the topic is what comes before the first space
    if (r.frames.length === 1) {
      for (let i = 1; i < len; i++) {
        if (first[i] === 0x20) {
          len = i;
          break;
        }
      }
    }
    const topic = first.subarray(0, len);
    const k = `${r.frames.length > 1 ? 'm' : 's'}${latin1(topic)}`;
    const t = s.topics.get(k);
    if (t) {
      t.count++;
      t.lastTs = r.ts;
    } else if (s.topics.size < LIMITS.topics) {
      const copy = copyBytes(topic);
      s.topics.set(k, { topic: copy, text: topicKey(copy), count: 1, lastTs: r.ts, multipart: r.frames.length > 1 });
    } else s.facts.topicsOverflow = true;
  }

  private onEvent(r: CapturedEvent): void {
    if (r.type === 'device:unseen') {
      const s = this.sock(r);
      if (s) {
        s.facts.unseenBy = (r.address ?? 'a device').slice(0, 64);
        monitorEvent(s.facts, r);
      }
      return;
    }
    if (r.type === 'send:wait') {
      const s = this.sock(r);
      if (s) s.facts.sendWaits = (s.facts.sendWaits ?? 0) + (r.count ?? 1);
      return;
    }
    const m = /^(send|recv):error$/.exec(r.type);
    const s = this.sock(r);
    if (!s) return;
    if (!m) {
      monitorEvent(s.facts, r);
      return;
    }
    if (!r.code) return;
    const key = `${m[1]} ${r.code}`;
    const f = s.failures.get(key);
    const n = r.count ?? 1;
    if (f) {
      f.count += n;
      f.lastTs = Math.max(f.lastTs, r.ts);
      f.site ??= r.site;
    } else if (s.failures.size < LIMITS.failureKinds) s.failures.set(key, { op: m[1] as 'send' | 'recv', code: r.code, count: n, firstTs: r.ts, lastTs: r.ts, ...(r.site ? { site: r.site } : {}) });
  }

}

function newSocket(p: ProcState, id: string, ts: number, window: number): SockState {
  return {
    facts: {
      session: p.facts.session,
      pid: p.facts.pid,
      process: p.facts.name,
      id,
      type: '?',
      state: 'open',
      openedTs: ts,
      endpoints: [],
      subscriptions: [],
      options: {},
      topicsOverflow: false,
      events: {},
      peers: [],
    },
    sent: new WindowMeter(window),
    received: new WindowMeter(window),
    failures: new Map(),
    topics: new Map(),
    logged: 0,
  };
}

function socketFacts(s: SockState, processNodeId: string, now: number): AgentSocketFacts {
  return {
    ...s.facts,
    nodeId: `asock:${s.facts.session}:${s.facts.id}`,
    processNodeId,
    endpoints: s.facts.endpoints.map((e) => ({ ...e })),
    subscriptions: [...s.facts.subscriptions],
    options: { ...s.facts.options },
    events: { ...s.facts.events },
    peers: [...s.facts.peers],
    sent: s.sent.facts(now),
    received: s.received.facts(now),
    failures: [...s.failures.values()].map((f) => ({ ...f })),
    topicsSent: [...s.topics.values()].map((t) => ({ ...t })),
    ...(s.facts.routerEnvelope ? { routerEnvelope: { ...s.facts.routerEnvelope } } : {}),
  };
}

/** A socket monitor event: counted by name (a run of connect retries counts every attempt), and the peers it connects or loses. */
function monitorEvent(f: SockState['facts'], r: CapturedEvent): void {
  const events = f.events;
  if (!(r.type in events) && Object.keys(events).length >= LIMITS.eventNames) {
    /* counted in the capture only */
  } else if (r.type === 'connect:retried') events['connect:retry'] = (events['connect:retry'] ?? 0) + Math.max(0, (r.attempts ?? 1) - 1);
  else events[r.type] = (events[r.type] ?? 0) + 1;
  if (r.peer && (r.type === 'accept' || r.type === 'connect')) {
    if (!f.peers.includes(r.peer) && f.peers.length < LIMITS.peers) f.peers.push(r.peer);
  } else if (r.peer && r.type === 'disconnect') {
    const i = f.peers.indexOf(r.peer);
    if (i >= 0) f.peers.splice(i, 1);
  }
}

/** `<pid>.<n>` → n (the agents number a process's sockets upwards). */
function socketNumber(id: string): number {
  const n = Number(id.slice(id.lastIndexOf('.') + 1));
  return Number.isInteger(n) ? n : Infinity;
}

/** A socket's first active endpoint, or '' (what its messages are filed under). */
export function primaryEndpoint(s: { endpoints: readonly { endpoint: string; state: string }[] }): string {
  for (const e of s.endpoints) if (e.state === 'active') return e.endpoint;
  return '';
}

/** FNV-1a over every frame (lengths included), at most 4 KiB of each. */
function hashFrames(frames: readonly Uint8Array[]): number {
  let h = 0x811c9dc5;
  for (const f of frames) {
    h = Math.imul(h ^ (f.byteLength & 0xff), 0x01000193);
    h = Math.imul(h ^ ((f.byteLength >>> 8) & 0xff), 0x01000193);
    const n = Math.min(f.byteLength, 4096);
    for (let i = 0; i < n; i++) h = Math.imul(h ^ f[i], 0x01000193);
  }
  return h >>> 0;
}
