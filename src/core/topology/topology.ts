/**
 * The topology model: which sockets exist, who is connected to whom, which way
 * messages flow and how fast, what each subscriber holds — built incrementally
 * from what the sources observe (tap connections, READY metadata, SUBSCRIBE,
 * spy messages and socket events) plus two explicit inputs: processes the
 * extension started and endpoints found in the workspace's code.
 *
 * Plain Node: no vscode. The doctor (doctor.ts) reads `snapshot()`; the map
 * draws its `nodes`/`edges`.
 */
import type { Capture } from '../capture/capture';
import { baseName, latin1, toHex } from '../base/bytes';
import { topicKey } from '../capture/capture';
import { TopicCounter } from '../capture/topicCounter';
import { parseEndpoint } from '../zmq/endpoint';
import { Disposable, DisposableStore, Emitter, Event } from '../base/lifecycle';
import { CaptureRecord, CapturedEvent, CapturedMessage, CommandRecord, ConnectionRecord, GreetingRecord, payloadBytes } from '../capture/records';
import type { CaptureSession } from '../sessions/session';
import { spyDetailsOf } from '../sessions/spy';
import { flowBetween, isPublisher, isSubscriber, normalizeSocketType } from '../zmq/socketTypes';
import { LatencyStats, RequestLatency } from './latency';
import { RateFacts, WindowMeter } from './meter';
import { AgentFacts, AgentTopology, processDetailLines, socketDetailLines, socketLabel } from './agentTopology';

/** A place in the workspace's code. `file` is a path or URI string; `line` and `column` are 0-based (as VS Code's). */
export interface CodeLocation {
  file: string;
  line: number;
  column?: number;
}

/** An endpoint found in code: discovery.ts's DiscoveredEndpoint (0-based line/column) plus the file it is in. */
export interface CodeEndpoint {
  endpoint: string;
  role: 'bind' | 'connect';
  socketType?: string;
  file?: string;
  /** 0-based. */
  line: number;
  column?: number;
}

/** A program the extension started (an example) and the sockets it declares. */
export interface TopologyProcess {
  id: string;
  label: string;
  pid?: number;
  state: 'starting' | 'running' | 'exited' | 'failed';
  sockets: { endpoint: string; role: 'bind' | 'connect'; socketType?: string }[];
  /** Errors the program reported (e.g. "Address already in use" from a bind). */
  errors?: { endpoint?: string; message: string; ts: number }[];
  location?: CodeLocation;
}

/** Where the frames viewer should look for a node's or an edge's messages. */
export interface FramesFilter {
  session?: string;
  endpoint?: string;
  connection?: number;
  /** Agent records of one program (its pid) or one socket (`<pid>.<n>`). */
  process?: string;
  socket?: string;
}

export type { RateFacts } from './meter';

export interface TopicFacts {
  topic: Uint8Array;
  text: string;
  count: number;
  lastTs: number;
}

export interface EndpointFacts {
  /** Normalised key: local tcp hosts collapse to `*` (tcp://*:5556). */
  key: string;
  /** The endpoint as first seen. */
  endpoint: string;
  port?: number;
  /** Type of the socket bound here (tap target READY, spy, process, code). */
  socketType?: string;
  socketTypeSource?: 'tap' | 'probe' | 'spy' | 'process' | 'code';
  /** Security mechanism the bound socket announces in its greeting (tap or probe). */
  mechanism?: string;
  tappedBy: string[];
  spiedBy: string[];
  /** Messages observed coming out of the socket bound here (spies and tap fromTarget). */
  published: RateFacts;
  /** Distinct first frames seen from the publisher here (bounded). */
  topics: TopicFacts[];
  topicsOverflow: boolean;
  /** The current streak of `connect:retry` events from our own sockets (undefined once connected). */
  retry?: { count: number; firstTs: number; lastTs: number; interval?: number; session?: string };
  /** Tap connections whose target refused since the last successful one. */
  refused?: { count: number; firstTs: number; lastTs: number; reason: string };
  handshakeErrors: { ts: number; type: string; error?: string; session?: string }[];
  lastActivity: number;
}

export interface ConnectionFacts {
  /** `session#connection`. */
  id: string;
  session: string;
  endpointKey: string;
  endpoint: string;
  connection: number;
  peer?: string;
  state: 'open' | 'closed';
  undecodable?: string;
  openedTs: number;
  closedTs?: number;
  reason?: string;
  clientType?: string;
  targetType?: string;
  clientIdentity?: Uint8Array;
  clientMechanism?: string;
  targetMechanism?: string;
  /** Both READYs seen. */
  ready: boolean;
  /** ERROR commands, with who sent them. */
  errors: { direction: 'toTarget' | 'fromTarget'; reason: string; ts: number }[];
  /** Subscriptions held by the subscribing side (SUBSCRIBE minus CANCEL). */
  subscriptions: Uint8Array[];
  /**
   * Messages the publisher at this endpoint was seen sending (by spies or on
   * other connections) since the subscriptions last changed, and how many of
   * them matched a subscription. ZMTP 3 publishers filter on their side, so the
   * tap alone never sees what a subscriber misses.
   */
  publishedSinceSubscribe: number;
  matchedSinceSubscribe: number;
  toTarget: RateFacts;
  fromTarget: RateFacts;
  /** A REQ's request still without reply: when it was sent and by which side. */
  pendingRequest?: { ts: number; direction: 'toTarget' | 'fromTarget' };
  /** The connection closed while its request had no reply (a retrying client gave up on it). */
  abandonedRequest?: { ts: number; closedTs: number };
  answered: number;
  lastActivity: number;
  /** The process we started that is the connecting peer (see peerProcess.ts). */
  processId?: string;
  /** Round trips of the request/reply pairs on this connection (latency.ts), once there is one. */
  latency?: LatencyStats;
}

export interface SpyFacts {
  session: string;
  source: 'spy' | 'monitor';
  endpointKey: string;
  endpoint: string;
  received: RateFacts;
  lastEvent?: string;
}

/** `socket`: a socket inside a program, reported by its agent (drawn inside its `process`). */
export type TopologyNodeKind = 'endpoint' | 'peer' | 'spy' | 'process' | 'socket' | 'code';

export interface TopologyNode {
  id: string;
  kind: TopologyNodeKind;
  label: string;
  socketType?: string;
  endpoint?: string;
  /** Peer address for tap peers; file:line for code. */
  detail?: string;
  location?: CodeLocation;
  lastActivity?: number;
  filter?: FramesFilter;
  /** The node this one is drawn inside (an agent's socket inside its process). */
  parent?: string;
}

export interface TopologyEdge {
  id: string;
  /** Flow goes from → to (for two-way patterns `both` is true). */
  from: string;
  to: string;
  both: boolean;
  /** `agent`: two sockets connected as their agents report it (or an agent's socket and the endpoint node a tap or spy observes). */
  kind: 'tap' | 'spy' | 'process' | 'agent' | 'code';
  state: 'open' | 'retrying' | 'failed' | 'declared';
  rate: number;
  byteRate: number;
  messages: number;
  bytes: number;
  /** Subscriptions held by the subscriber at the end of this edge, as display text. */
  subscriptions?: string[];
  lastActivity?: number;
  filter?: FramesFilter;
}

export interface TopologySnapshot {
  now: number;
  endpoints: EndpointFacts[];
  connections: ConnectionFacts[];
  spies: SpyFacts[];
  processes: TopologyProcess[];
  code: CodeEndpoint[];
  /** What the zmq-debug agents inside programs reported (agentTopology.ts). */
  agents: AgentFacts;
  nodes: TopologyNode[];
  /**
   * Node ids drawn as another node: an agent's socket whose connection a tap
   * relays is drawn as that tap peer (findings about either land on it).
   */
  aliases: Record<string, string>;
  edges: TopologyEdge[];
}

export interface TopologyOptions {
  /** Sliding window for rates, in seconds. Default 5. */
  rateWindowSeconds?: number;
  /** onDidChange fires at most this often. Default 250 ms. */
  throttleMs?: number;
  /** Closed connections kept for the doctor. Default 200. */
  maxClosedConnections?: number;
  /** Distinct topics kept per endpoint. Default 256. */
  maxTopicsPerEndpoint?: number;
}

/** Sessions source: the SessionManager (or anything with the same shape). */
export interface SessionsLike {
  list(): CaptureSession[];
  onDidChange: Event<void>;
}

const LOCAL_HOSTS = new Set(['*', '0.0.0.0', '127.0.0.1', 'localhost', '::', '::1']);

const keyCache = new Map<string, string>();

/** The key endpoints are merged by: local tcp hosts are one host (`*`); others as written. */
export function endpointKey(endpoint: string): string {
  // called for every record: parse each distinct endpoint string once
  let k = keyCache.get(endpoint);
  if (k === undefined) {
    if (keyCache.size >= 4096) keyCache.clear();
    k = computeEndpointKey(endpoint);
    keyCache.set(endpoint, k);
  }
  return k;
}

function computeEndpointKey(endpoint: string): string {
  try {
    const ep = parseEndpoint(endpoint);
    if (ep.transport === 'tcp') return LOCAL_HOSTS.has(ep.host.toLowerCase()) ? `tcp://*:${ep.port}` : ep.text;
    return ep.text;
  } catch {
    return endpoint.trim();
  }
}

export function endpointPort(endpoint: string): number | undefined {
  try {
    const ep = parseEndpoint(endpoint);
    return ep.transport === 'tcp' ? ep.port : undefined;
  } catch {
    return undefined;
  }
}

interface EndpointState {
  key: string;
  endpoint: string;
  socketType?: string;
  socketTypeSource?: EndpointFacts['socketTypeSource'];
  mechanism?: string;
  published: WindowMeter;
  /** Topics published here, counted as the capture counts a session's (one helper, its fast path). */
  topics: TopicCounter;
  retry?: EndpointFacts['retry'];
  refused?: EndpointFacts['refused'];
  handshakeErrors: EndpointFacts['handshakeErrors'];
  lastActivity: number;
  tapSessions: Set<string>;
  /** Open tap connections holding subscriptions here (checked against every published message). */
  subscribers: Set<ConnState>;
  spySessions: Set<string>;
}

interface ConnState {
  facts: Omit<ConnectionFacts, 'toTarget' | 'fromTarget' | 'subscriptions' | keyof ConnCounters> & ConnCounters;
  toTarget: WindowMeter;
  fromTarget: WindowMeter;
  subscriptions: Map<string, Uint8Array>;
}

/** Connection facts kept as plain numbers on the state object. */
type ConnCounters = { publishedSinceSubscribe: number; matchedSinceSubscribe: number };

interface SpyState {
  session: string;
  source: 'spy' | 'monitor';
  endpointKey: string;
  endpoint: string;
  received: WindowMeter;
  lastEvent?: string;
}

const SOCKET_TYPE_RANK: Record<NonNullable<EndpointFacts['socketTypeSource']>, number> = { tap: 4, probe: 4, process: 3, spy: 2, code: 1 };

export class TopologyModel implements Disposable {
  private readonly window: number;
  private readonly throttleMs: number;
  private readonly maxClosed: number;
  private readonly maxTopics: number;
  private readonly endpoints = new Map<string, EndpointState>();
  private readonly connections = new Map<string, ConnState>();
  private readonly latency = new RequestLatency();
  private readonly closedOrder: string[] = [];
  private readonly spies = new Map<string, SpyState>();
  /** session → endpoint as written → spy state (the per-record lookup). */
  private readonly spyIndex = new Map<string, Map<string, SpyState>>();
  private readonly processes = new Map<string, TopologyProcess>();
  private readonly agents: AgentTopology;
  private code: CodeEndpoint[] = [];
  private liveSessions: CaptureSession[] | undefined;
  private lastSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastFired = 0;
  private disposed = false;
  private readonly subscriptions = new DisposableStore();
  private readonly changeEmitter = new Emitter<void>();
  /** Fired (throttled) when the model changed. */
  readonly onDidChange: Event<void> = this.changeEmitter.event;

  constructor(
    private readonly capture?: Capture,
    sessions?: SessionsLike,
    options: TopologyOptions = {},
  ) {
    this.window = Math.max(1, Math.floor(options.rateWindowSeconds ?? 5));
    this.throttleMs = options.throttleMs ?? 250;
    this.maxClosed = options.maxClosedConnections ?? 200;
    this.maxTopics = options.maxTopicsPerEndpoint ?? 256;
    this.agents = new AgentTopology(this.window);
    if (capture) {
      this.lastSeq = 0;
      this.catchUp();
      this.subscriptions.add(capture.onDidAppend(() => this.catchUp()));
      this.subscriptions.add(capture.onDidClear(() => this.resetObservations()));
    }
    if (sessions) {
      this.liveSessions = sessions.list();
      this.subscriptions.add(
        sessions.onDidChange(() => {
          this.liveSessions = sessions.list();
          this.changed();
        }),
      );
    }
  }

  /** Reads every record appended since the last call (records evicted before we read them are skipped). */
  private catchUp(): void {
    if (!this.capture) return;
    for (;;) {
      // lent records (see Capture.peek): the model copies the few bytes it keeps
      const batch = this.capture.peekSince(this.lastSeq, 5000);
      if (batch.length === 0) break;
      for (const r of batch) this.ingest(r);
      this.lastSeq = batch[batch.length - 1].seq;
    }
  }

  /** Adds one record's observations (used for captures read from a file, too). */
  ingest(r: CaptureRecord): void {
    this.latency.observe(r);
    if (r.source === 'agent') {
      // the inside of programs: sockets and their links, not endpoints seen from outside
      this.agents.ingest(r);
      if (r.seq > this.lastSeq && !this.capture) this.lastSeq = r.seq;
      this.changed();
      return;
    }
    if (r.session && r.endpoint) {
      const e = this.endpointState(r.endpoint);
      (r.source === 'tap' ? e.tapSessions : e.spySessions).add(r.session);
    }
    switch (r.kind) {
      case 'message':
        this.onMessage(r);
        break;
      case 'event':
        this.onEvent(r);
        break;
      case 'greeting':
        this.onGreeting(r);
        break;
      case 'command':
        this.onCommand(r);
        break;
      case 'connection':
        this.onConnection(r);
        break;
    }
    if (r.seq > this.lastSeq && !this.capture) this.lastSeq = r.seq;
    this.changed();
  }

  /** Sets or replaces a process the extension started. */
  setProcess(p: TopologyProcess): void {
    this.processes.set(p.id, { ...p, sockets: [...p.sockets], errors: p.errors ? [...p.errors] : undefined });
    for (const s of p.sockets) {
      const ep = this.endpointState(s.endpoint);
      if (s.role === 'bind' && s.socketType) this.setSocketType(ep, s.socketType, 'process');
    }
    this.changed();
  }

  removeProcess(id: string): void {
    if (this.processes.delete(id)) this.changed();
  }

  /** What a probe (socketTypeProbe.ts) read from the socket bound at `endpoint`. */
  setProbedSocketType(endpoint: string, socketType: string | undefined, mechanism?: string): void {
    const e = this.endpointState(endpoint);
    if (socketType) this.setSocketType(e, socketType, 'probe');
    if (mechanism) e.mechanism = mechanism;
    this.changed();
  }

  /** Says which process we started is the connecting peer of tap connection `id` (`session#n`). */
  setConnectionProcess(id: string, processId: string): void {
    const c = this.connections.get(id);
    if (!c || c.facts.processId === processId) return;
    c.facts.processId = processId;
    this.changed();
  }

  /** Replaces the endpoints found in the workspace's code. */
  setCodeEndpoints(list: readonly CodeEndpoint[]): void {
    // endpoints only the previous code knew of go; anything observed or used by a process stays
    const used = new Set<string>();
    for (const c of this.connections.values()) used.add(c.facts.endpointKey);
    for (const p of this.processes.values()) for (const x of p.sockets) used.add(endpointKey(x.endpoint));
    for (const [k, e] of this.endpoints) {
      const bare =
        !used.has(k) && !e.published.messages && !e.lastActivity && !e.retry && !e.refused && !e.handshakeErrors.length &&
        !e.tapSessions.size && !e.spySessions.size && (!e.socketTypeSource || e.socketTypeSource === 'code');
      if (bare) this.endpoints.delete(k);
    }
    this.code = list.map((c) => ({ ...c }));
    for (const c of this.code) {
      const e = this.endpointState(c.endpoint);
      if (c.role === 'bind' && c.socketType) this.setSocketType(e, c.socketType, 'code');
    }
    this.changed();
  }

  snapshot(now = Date.now()): TopologySnapshot {
    const tappedBy = new Map<string, string[]>();
    const spiedBy = new Map<string, string[]>();
    if (this.liveSessions) {
      for (const s of this.liveSessions) {
        if (s.state === 'stopped') continue;
        for (const e of s.endpoints) {
          const k = endpointKey(e);
          const m = s.kind === 'tap' ? tappedBy : spiedBy;
          m.set(k, [...(m.get(k) ?? []), s.id]);
        }
      }
    } else {
      // no session list: every session that produced records counts as running
      for (const e of this.endpoints.values()) {
        tappedBy.set(e.key, [...e.tapSessions]);
        spiedBy.set(e.key, [...e.spySessions]);
      }
    }
    const endpoints: EndpointFacts[] = [...this.endpoints.values()].map((e) => ({
      key: e.key,
      endpoint: e.endpoint,
      port: endpointPort(e.endpoint),
      socketType: e.socketType,
      socketTypeSource: e.socketTypeSource,
      mechanism: e.mechanism,
      tappedBy: tappedBy.get(e.key) ?? [],
      spiedBy: spiedBy.get(e.key) ?? [],
      published: e.published.facts(now),
      topics: [...e.topics.entries()].map((t) => ({ topic: t.bytes, text: t.name, count: t.counter.messages, lastTs: t.counter.lastTs })),
      topicsOverflow: e.topics.overflow,
      retry: this.liveRetry(e.key, e.retry, now),
      refused: e.refused && { ...e.refused },
      handshakeErrors: [...e.handshakeErrors],
      lastActivity: e.lastActivity,
    }));
    const connections: ConnectionFacts[] = [...this.connections.values()].map((c) => ({
      ...c.facts,
      errors: [...c.facts.errors],
      subscriptions: [...c.subscriptions.values()],
      toTarget: c.toTarget.facts(now),
      fromTarget: c.fromTarget.facts(now),
      ...latencyOf(this.latency, c.facts.id),
    }));
    const spies: SpyFacts[] = [...this.spies.values()].map((s) => ({
      session: s.session,
      source: s.source,
      endpointKey: s.endpointKey,
      endpoint: s.endpoint,
      received: s.received.facts(now),
      lastEvent: s.lastEvent,
    }));
    const processes = [...this.processes.values()].map((p) => ({ ...p }));
    const code = this.code.map((c) => ({ ...c }));
    // an example we started that runs under the agent is one process: the agent's sockets are its own
    const exampleByPid = new Map(processes.filter((p) => p.pid !== undefined).map((p) => [p.pid!, p.id]));
    const agents = this.agents.facts(now, (pid) => exampleByPid.get(pid));
    const { nodes, edges, aliases } = buildGraph(endpoints, connections, spies, processes, code, agents);
    return { now, endpoints, connections, spies, processes, code, agents, nodes, edges, aliases };
  }

  /** Round trips of one tap connection (`session#connection`), without building a snapshot (the Sessions view asks per row). */
  connectionLatency(id: string): LatencyStats | undefined {
    return this.latency.stats(id);
  }

  /** Forgets everything observed from the capture (processes and code stay). */
  resetObservations(): void {
    this.endpoints.clear();
    this.connections.clear();
    this.closedOrder.length = 0;
    this.latency.clear();
    this.spies.clear();
    this.spyIndex.clear();
    this.agents.clear();
    this.lastSeq = 0;
    for (const p of this.processes.values()) this.setProcess(p);
    this.setCodeEndpoints(this.code);
    this.changed();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.subscriptions.dispose();
    this.changeEmitter.dispose();
  }

  // ---- observations -------------------------------------------------------

  private endpointState(endpoint: string): EndpointState {
    const key = endpointKey(endpoint);
    let e = this.endpoints.get(key);
    if (!e) {
      e = {
        key,
        endpoint,
        published: new WindowMeter(this.window),
        topics: new TopicCounter(this.maxTopics, (t, cut) => topicKey(t) + (cut ? '…' : '')),
        handshakeErrors: [],
        lastActivity: 0,
        tapSessions: new Set(),
        spySessions: new Set(),
        subscribers: new Set(),
      };
      this.endpoints.set(key, e);
    }
    return e;
  }

  private setSocketType(e: EndpointState, type: string, source: NonNullable<EndpointFacts['socketTypeSource']>): void {
    // every spy message says it again: nothing to do when nothing changes
    if (type === e.socketType && source === e.socketTypeSource) return;
    const t = normalizeSocketType(type);
    if (!t) return;
    // what the wire says beats what a process or the code declares
    if (!e.socketTypeSource || SOCKET_TYPE_RANK[source] >= SOCKET_TYPE_RANK[e.socketTypeSource]) {
      e.socketType = t;
      e.socketTypeSource = source;
    }
  }

  private conn(r: { session?: string; connection: number; endpoint: string; ts: number }): ConnState {
    const session = r.session ?? 'tap';
    const id = `${session}#${r.connection}`;
    let c = this.connections.get(id);
    if (!c) {
      const ep = this.endpointState(r.endpoint);
      c = {
        facts: {
          id,
          session,
          endpointKey: ep.key,
          endpoint: r.endpoint,
          connection: r.connection,
          state: 'open',
          openedTs: r.ts,
          ready: false,
          errors: [],
          answered: 0,
          lastActivity: r.ts,
          publishedSinceSubscribe: 0,
          matchedSinceSubscribe: 0,
        },
        toTarget: new WindowMeter(this.window),
        fromTarget: new WindowMeter(this.window),
        subscriptions: new Map(),
      };
      this.connections.set(id, c);
    }
    return c;
  }

  private onConnection(r: ConnectionRecord): void {
    const c = this.conn(r);
    const f = c.facts;
    f.lastActivity = Math.max(f.lastActivity, r.ts);
    if (r.peer) f.peer = r.peer;
    if (r.state === 'undecodable') {
      f.undecodable = f.undecodable ? `${f.undecodable}; ${r.reason ?? ''}` : r.reason ?? 'undecodable';
      return;
    }
    if (r.state === 'open') {
      f.state = 'open';
      f.openedTs = r.ts;
      return;
    }
    if (f.state === 'closed') return;
    f.state = 'closed';
    f.closedTs = r.ts;
    if (r.reason) f.reason = r.reason;
    if (f.pendingRequest) {
      f.abandonedRequest = { ts: f.pendingRequest.ts, closedTs: r.ts };
      f.pendingRequest = undefined;
    }
    const ep = this.endpointState(r.endpoint);
    if (r.reason && /refused/i.test(r.reason) && !f.targetMechanism) {
      const prev = ep.refused;
      ep.refused = { count: (prev?.count ?? 0) + 1, firstTs: prev?.firstTs ?? r.ts, lastTs: r.ts, reason: r.reason };
    }
    ep.subscribers.delete(c);
    this.closedOrder.push(f.id);
    while (this.closedOrder.length > this.maxClosed) this.connections.delete(this.closedOrder.shift()!);
  }

  private onGreeting(r: GreetingRecord): void {
    const c = this.conn(r);
    c.facts.lastActivity = Math.max(c.facts.lastActivity, r.ts);
    if (r.direction === 'toTarget') c.facts.clientMechanism = r.mechanism;
    else if (r.direction === 'fromTarget') {
      c.facts.targetMechanism = r.mechanism;
      const e = this.endpointState(r.endpoint);
      e.mechanism = r.mechanism;
      // the target answered: whatever refused before listens now
      e.refused = undefined;
    }
  }

  private onCommand(r: CommandRecord): void {
    const c = this.conn(r);
    const f = c.facts;
    f.lastActivity = Math.max(f.lastActivity, r.ts);
    const dir = r.direction === 'fromTarget' ? 'fromTarget' : 'toTarget';
    switch (r.name) {
      case 'READY':
      case 'INITIATE': {
        const props = r.properties ?? {};
        let type: string | undefined;
        let identity: Uint8Array | undefined;
        for (const [k, v] of Object.entries(props)) {
          if (k.toLowerCase() === 'socket-type') type = latin1(v);
          else if (k.toLowerCase() === 'identity' && v.byteLength > 0) identity = v;
        }
        if (dir === 'toTarget') {
          if (type) f.clientType = normalizeSocketType(type);
          if (identity) f.clientIdentity = identity;
        } else if (type) {
          f.targetType = normalizeSocketType(type);
          this.setSocketType(this.endpointState(r.endpoint), type, 'tap');
        }
        f.ready = !!(f.clientType && f.targetType);
        break;
      }
      case 'SUBSCRIBE':
      case 'CANCEL': {
        const topic = r.topic ?? new Uint8Array(0);
        const k = toHex(topic);
        if (r.name === 'SUBSCRIBE') c.subscriptions.set(k, topic);
        else c.subscriptions.delete(k);
        const subs = this.endpointState(r.endpoint).subscribers;
        if (c.subscriptions.size && f.state === 'open') subs.add(c);
        else subs.delete(c);
        f.publishedSinceSubscribe = 0;
        f.matchedSinceSubscribe = 0;
        break;
      }
      case 'ERROR':
        f.errors.push({ direction: dir, reason: r.detail ?? '', ts: r.ts });
        if (f.errors.length > 10) f.errors.shift();
        break;
    }
  }

  private onMessage(r: CapturedMessage): void {
    const size = payloadBytes(r);
    if (r.source === 'tap' && r.connection !== undefined) {
      const c = this.conn({ session: r.session, connection: r.connection, endpoint: r.endpoint, ts: r.ts });
      const f = c.facts;
      f.lastActivity = Math.max(f.lastActivity, r.ts);
      const dir = r.direction === 'fromTarget' ? 'fromTarget' : 'toTarget';
      (dir === 'toTarget' ? c.toTarget : c.fromTarget).hit(r.ts, size);
      const ep = this.endpointState(r.endpoint);
      ep.lastActivity = Math.max(ep.lastActivity, r.ts);
      if (dir === 'fromTarget') {
        ep.published.hit(r.ts, size);
        this.noteTopic(ep, r, size, f.id);
      }
      // a REQ's request waits for the reply that comes the other way
      const reqDir = f.clientType === 'REQ' ? 'toTarget' : f.targetType === 'REQ' ? 'fromTarget' : undefined;
      if (reqDir) {
        if (dir === reqDir) {
          if (!f.pendingRequest) f.pendingRequest = { ts: r.ts, direction: reqDir };
        } else if (f.pendingRequest) {
          f.pendingRequest = undefined;
          f.answered++;
        }
      }
      return;
    }
    // spy / monitor: the socket bound at the endpoint published this
    const ep = this.endpointState(r.endpoint);
    ep.lastActivity = Math.max(ep.lastActivity, r.ts);
    ep.published.hit(r.ts, size);
    if (r.source === 'spy') this.noteTopic(ep, r, size);
    if (r.peerSocketType) this.setSocketType(ep, r.peerSocketType, 'spy');
    else if (!ep.socketType && r.source === 'spy') this.setSocketType(ep, 'PUB', 'spy');
    if (r.session) this.spy(r.session, r.source === 'monitor' ? 'monitor' : 'spy', r.endpoint).received.hit(r.ts, size);
    ep.retry = undefined;
  }

  private spy(session: string, source: 'spy' | 'monitor', endpoint: string): SpyState {
    let byEndpoint = this.spyIndex.get(session);
    if (!byEndpoint) this.spyIndex.set(session, (byEndpoint = new Map()));
    let s = byEndpoint.get(endpoint);
    if (!s) {
      const key = endpointKey(endpoint);
      const id = `${session}@${key}`;
      s = this.spies.get(id);
      if (!s) {
        s = { session, source, endpointKey: key, endpoint, received: new WindowMeter(this.window) };
        this.spies.set(id, s);
      }
      byEndpoint.set(endpoint, s);
    }
    return s;
  }

  /** A message the publisher at `ep` sent: its topic counted, and match counts of every subscriber we see. */
  private noteTopic(ep: EndpointState, r: CapturedMessage, size: number, deliveredOn?: string): void {
    // topics are a publisher's: a PUSH's or a REP's first frames are just data
    if (r.encrypted || r.frames.length === 0 || (ep.socketType && !isPublisher(ep.socketType))) return;
    const first = r.frames[0];
    for (const c of ep.subscribers) {
      c.facts.publishedSinceSubscribe++;
      if (c.facts.id === deliveredOn) c.facts.matchedSinceSubscribe++;
      else for (const p of c.subscriptions.values()) {
        if (startsWith(first, p)) {
          c.facts.matchedSinceSubscribe++;
          break;
        }
      }
    }
    ep.topics.count(r.frames, 0, size, r.ts);
  }

  /**
   * A spy records one `connect:retry` for a whole run of failed connects (and
   * counts the rest live in its details), so the streak's count and last attempt
   * come from the live session while it retries.
   */
  private liveRetry(key: string, retry: EndpointFacts['retry'], now: number): EndpointFacts['retry'] {
    if (!retry) return undefined;
    const session = this.liveSessions?.find((s) => s.id === retry.session);
    const live = session && spyDetailsOf(session)?.endpoints.find((d) => d.retry && endpointKey(d.endpoint) === key)?.retry;
    return live ? { ...retry, count: Math.max(retry.count, live.attempts), lastTs: now } : { ...retry };
  }

  private onEvent(r: CapturedEvent): void {
    const ep = this.endpointState(r.endpoint);
    if (r.session && (r.source === 'spy' || r.source === 'monitor')) {
      this.spy(r.session, r.source, r.endpoint).lastEvent = r.type;
    }
    if (r.type === 'connect:retried') {
      // the end of a coalesced run of retries: the spy connected or stopped
      ep.retry = undefined;
    } else if (r.type === 'connect:retry') {
      const prev = ep.retry;
      ep.retry = {
        count: (prev?.count ?? 0) + (r.attempts ?? 1),
        firstTs: prev?.firstTs ?? r.ts,
        lastTs: r.ts,
        interval: r.interval,
        session: r.session,
      };
    } else if (r.type === 'connect' || r.type === 'handshake' || r.type === 'accept') {
      ep.retry = undefined;
      ep.lastActivity = Math.max(ep.lastActivity, r.ts);
    } else if (r.type.startsWith('handshake:error')) {
      ep.handshakeErrors.push({ ts: r.ts, type: r.type, error: r.error, session: r.session });
      if (ep.handshakeErrors.length > 20) ep.handshakeErrors.shift();
    }
  }

  private changed(): void {
    if (this.disposed || this.timer) return;
    const wait = Math.max(0, this.lastFired + this.throttleMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastFired = Date.now();
      this.changeEmitter.fire();
    }, wait);
  }
}

function startsWith(frame: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.byteLength > frame.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (frame[i] !== prefix[i]) return false;
  return true;
}

function subscriptionText(topics: Uint8Array[]): string[] {
  return topics.map((t) => (t.byteLength === 0 ? '(everything)' : topicKey(t)));
}

/** Nodes and edges for the map: endpoints, tap peers, spies, processes, code sites. */
function buildGraph(
  endpoints: EndpointFacts[],
  connections: ConnectionFacts[],
  spies: SpyFacts[],
  processes: TopologyProcess[],
  code: CodeEndpoint[],
  agents: AgentFacts,
): { nodes: TopologyNode[]; edges: TopologyEdge[]; aliases: Record<string, string> } {
  const nodes: TopologyNode[] = [];
  const edges: TopologyEdge[] = [];
  const epNode = (key: string) => `ep:${key}`;
  const byKey = new Map(endpoints.map((e) => [e.key, e]));
  // endpoints an agent's socket binds or connects: their own node only when something outside observes them
  const agentKeys = new Set<string>();
  for (const s of agents.sockets) for (const x of s.endpoints) agentKeys.add(endpointKey(x.endpoint));
  const mergedExamples = new Set(agents.processes.map((p) => p.exampleId).filter((id): id is string => !!id));
  for (const e of endpoints) {
    if (agentKeys.has(e.key) && !observedOutside(e)) continue;
    nodes.push({
      id: epNode(e.key),
      kind: 'endpoint',
      label: `${e.socketType ?? '?'} ${e.endpoint}`,
      socketType: e.socketType,
      endpoint: e.endpoint,
      lastActivity: e.lastActivity || undefined,
      filter: { endpoint: e.endpoint },
    });
  }
  const orient = (
    id: string,
    peer: string,
    peerType: string | undefined,
    ep: string,
    epType: string | undefined,
  ): Pick<TopologyEdge, 'id' | 'from' | 'to' | 'both'> => {
    const flow = flowBetween(peerType, epType);
    if (flow === 'bToA') return { id, from: ep, to: peer, both: false };
    return { id, from: peer, to: ep, both: flow === 'both' || flow === 'unknown' };
  };
  const procById = new Map(processes.map((p) => [p.id, p]));
  const aliases: Record<string, string> = {};
  const taken = new Set<string>();
  let linked: Set<string> | undefined;
  // a process whose connect is seen live through a tap is drawn as that peer
  const shownAsPeer = new Set<string>();
  for (const c of connections) if (c.state === 'open' && c.processId) shownAsPeer.add(`${c.processId}@${c.endpointKey}`);
  for (const c of connections) {
    if (c.state !== 'open') continue;
    const ep = byKey.get(c.endpointKey);
    const id = `peer:${c.id}`;
    const ident = c.clientIdentity ? ` "${topicKey(c.clientIdentity)}"` : '';
    const proc = c.processId ? procById.get(c.processId) : undefined;
    // a peer running under the agent: named by its program, drawn inside it, as its own socket
    const agentProc = c.processId ? agents.processes.find((p) => p.exampleId === c.processId || p.nodeId === c.processId) : undefined;
    const sock = agentProc && tapPeerSocket(agents, agentProc.nodeId, c.clientType, taken, (linked ??= new Set(agents.links.map((l) => l.connectSocket))));
    const who = agentProc ? `${agentProc.name} (${agentProc.pid})` : proc ? (proc.pid ? `${proc.label} (${proc.pid})` : proc.label) : c.peer ?? '';
    if (sock) {
      taken.add(sock.nodeId);
      aliases[sock.nodeId] = id;
    }
    nodes.push({
      id,
      kind: sock ? 'socket' : 'peer',
      label: `${c.clientType ?? '?'}${ident} ${who}`.trim(),
      socketType: c.clientType,
      detail: [`${c.peer ?? ''} via ${c.session}`, ...(sock ? socketDetailLines(sock) : [])].join('\n'),
      lastActivity: c.lastActivity,
      filter: { session: c.session, connection: c.connection },
      ...(agentProc ? { parent: agentProc.nodeId } : {}),
    });
    edges.push({
      ...orient(`edge:${c.id}`, id, c.clientType, epNode(c.endpointKey), c.targetType ?? ep?.socketType),
      kind: 'tap',
      state: c.errors.length ? 'failed' : 'open',
      rate: c.toTarget.rate + c.fromTarget.rate,
      byteRate: c.toTarget.byteRate + c.fromTarget.byteRate,
      messages: c.toTarget.messages + c.fromTarget.messages,
      bytes: c.toTarget.bytes + c.fromTarget.bytes,
      subscriptions: c.subscriptions.length || c.clientType === 'SUB' ? subscriptionText(c.subscriptions) : undefined,
      lastActivity: c.lastActivity,
      filter: { session: c.session, connection: c.connection },
    });
  }
  for (const s of spies) {
    const id = `spy:${s.session}@${s.endpointKey}`;
    const ep = byKey.get(s.endpointKey);
    nodes.push({ id, kind: 'spy', label: `${s.source} ${s.session}`, socketType: 'SUB', lastActivity: s.received.lastTs || undefined, filter: { session: s.session } });
    edges.push({
      id: `edge:${id}`,
      from: epNode(s.endpointKey),
      to: id,
      both: false,
      kind: 'spy',
      state: ep?.retry ? 'retrying' : 'open',
      rate: s.received.rate,
      byteRate: s.received.byteRate,
      messages: s.received.messages,
      bytes: s.received.bytes,
      lastActivity: s.received.lastTs || undefined,
      filter: { session: s.session, endpoint: s.endpoint },
    });
  }
  for (const p of processes) {
    // drawn as the agent's process, with the sockets it really has
    if (mergedExamples.has(p.id)) continue;
    const id = `proc:${p.id}`;
    const sockets = p.sockets.filter((s) => !(s.role === 'connect' && shownAsPeer.has(`${p.id}@${endpointKey(s.endpoint)}`)));
    if (sockets.length === 0 && p.sockets.length > 0) continue;
    nodes.push({ id, kind: 'process', label: p.pid ? `${p.label} (${p.pid})` : p.label, detail: p.state, location: p.location });
    for (const s of sockets) {
      const key = endpointKey(s.endpoint);
      const t = normalizeSocketType(s.socketType);
      const failed = p.state === 'failed' || p.errors?.some((e) => e.endpoint && endpointKey(e.endpoint) === key);
      edges.push({
        ...(s.role === 'bind'
          ? { id: `edge:${id}:${s.role}:${key}`, from: id, to: epNode(key), both: false }
          : orient(`edge:${id}:${s.role}:${key}`, id, t, epNode(key), byKey.get(key)?.socketType)),
        kind: 'process',
        state: failed ? 'failed' : p.state === 'running' ? 'open' : 'declared',
        rate: 0,
        byteRate: 0,
        messages: 0,
        bytes: 0,
        filter: { endpoint: s.endpoint },
      });
    }
  }
  for (const c of code) {
    const key = endpointKey(c.endpoint);
    const where = `${c.file ? baseName(c.file) : '?'}:${c.line + 1}`;
    const id = `code:${c.file ?? ''}:${c.line}:${key}`;
    const t = normalizeSocketType(c.socketType);
    nodes.push({
      id,
      kind: 'code',
      label: `${t ?? '?'} ${c.role} ${where}`,
      socketType: t,
      endpoint: c.endpoint,
      detail: where,
      location: c.file ? { file: c.file, line: c.line, column: c.column } : undefined,
    });
    edges.push({
      ...(c.role === 'bind' ? { id: `edge:${id}`, from: id, to: epNode(key), both: false } : orient(`edge:${id}`, id, t, epNode(key), byKey.get(key)?.socketType)),
      kind: 'code',
      state: 'declared',
      rate: 0,
      byteRate: 0,
      messages: 0,
      bytes: 0,
    });
  }
  agentGraph(agents, byKey, nodes, edges, orient, aliases);
  // edges to endpoint nodes left out above go too
  const ids = new Set(nodes.map((n) => n.id));
  return { nodes, edges: edges.filter((e) => ids.has(e.from) && ids.has(e.to)), aliases };
}

/**
 * The socket of an agent's process that a tap connection relays: the one
 * socket of the peer's type with a connect no agent's bind matched (it goes to
 * the tap's port). Undefined unless exactly one fits.
 */
function tapPeerSocket(agents: AgentFacts, processNodeId: string, type: string | undefined, taken: Set<string>, linked: Set<string>): AgentFacts['sockets'][number] | undefined {
  const fits = agents.sockets.filter(
    (s) => s.processNodeId === processNodeId && !taken.has(s.nodeId) && s.state === 'open' && !linked.has(s.nodeId) && (!type || s.type === type) && s.endpoints.some((e) => e.role === 'connect' && e.state === 'active'),
  );
  return fits.length === 1 ? fits[0] : undefined;
}

/** A socket and the endpoint node it binds (the same socket): what it sends comes out there, what it receives goes in. */
function boundFlow(id: string, socket: string, type: string | undefined, ep: string): Pick<TopologyEdge, 'id' | 'from' | 'to' | 'both'> {
  const flow = flowBetween(type, undefined);
  if (flow === 'bToA') return { id, from: ep, to: socket, both: false };
  return { id, from: socket, to: ep, both: flow !== 'aToB' };
}

/** Something other than an agent sees this endpoint: a tap, a spy, a probe, messages. */
function observedOutside(e: EndpointFacts): boolean {
  return (
    e.tappedBy.length > 0 || e.spiedBy.length > 0 || e.published.messages > 0 || !!e.retry || !!e.refused || e.handshakeErrors.length > 0 ||
    e.socketTypeSource === 'tap' || e.socketTypeSource === 'probe' || e.socketTypeSource === 'spy'
  );
}

/**
 * The agents' processes as groups holding their sockets, sockets connected as
 * bind/connect pairs, and a socket bound (or connected) where a tap or spy
 * observes an endpoint node linked to that node: the spy hangs off the PUB
 * inside its program instead of a second node for the same socket.
 */
function agentGraph(
  agents: AgentFacts,
  byKey: Map<string, EndpointFacts>,
  nodes: TopologyNode[],
  edges: TopologyEdge[],
  orient: (id: string, peer: string, peerType: string | undefined, ep: string, epType: string | undefined) => Pick<TopologyEdge, 'id' | 'from' | 'to' | 'both'>,
  aliases: Record<string, string>,
): void {
  const seen = new Set<string>();
  for (const p of agents.processes) {
    if (seen.has(p.nodeId)) continue;
    seen.add(p.nodeId);
    nodes.push({
      id: p.nodeId,
      kind: 'process',
      label: `${p.name} (${p.pid})`,
      detail: processDetailLines(p).join('\n'),
      lastActivity: p.exitedTs ?? p.startedTs,
      filter: { session: p.session, process: String(p.pid) },
    });
  }
  // what a subscriber missed when it joined (slow joiner), in its details
  const missed = new Map<string, string[]>();
  const epLinks = new Set<string>();
  const label = new Map(agents.sockets.map((x) => [x.nodeId, `${x.type} ${x.id} of ${x.process}`]));
  for (const j of agents.slowJoiners) {
    if (j.lost > 0) missed.set(j.sub, [...(missed.get(j.sub) ?? []), `Missed the first ${j.atLeast ? 'at least ' : ''}${j.lost} matching messages of ${label.get(j.pub) ?? j.pub} when it joined${j.streamRunning ? ' (a stream already running)' : ''}`]);
  }
  for (const s of agents.sockets) {
    if (aliases[s.nodeId]) continue;
    const last = Math.max(s.sent.lastTs, s.received.lastTs, s.closedTs ?? 0, s.openedTs);
    const primary = s.endpoints.find((e) => e.state === 'active')?.endpoint ?? s.endpoints[0]?.endpoint;
    nodes.push({
      id: s.nodeId,
      kind: 'socket',
      label: socketLabel(s),
      socketType: s.type === '?' ? undefined : s.type,
      endpoint: primary,
      detail: [...socketDetailLines(s), ...(missed.get(s.nodeId) ?? [])].join('\n'),
      lastActivity: last || undefined,
      filter: { session: s.session, socket: s.id },
      parent: s.processNodeId,
    });
    for (const e of s.endpoints) {
      if (e.state === 'failed') continue;
      const key = endpointKey(e.endpoint);
      const ep = byKey.get(key);
      if (!ep || !observedOutside(ep)) continue;
      const id = `edge:agent:${s.nodeId}@${key}`;
      if (epLinks.has(id)) continue;
      epLinks.add(id);
      edges.push({
        ...(e.role === 'bind' ? boundFlow(id, s.nodeId, s.type, `ep:${key}`) : orient(id, s.nodeId, s.type, `ep:${key}`, ep.socketType)),
        kind: 'agent',
        state: s.state === 'open' && e.state === 'active' ? 'open' : 'declared',
        // the socket bound there is the endpoint: its traffic is the edge's
        ...(e.role === 'bind'
          ? { rate: s.sent.rate + s.received.rate, byteRate: s.sent.byteRate + s.received.byteRate, messages: s.sent.messages + s.received.messages, bytes: s.sent.bytes + s.received.bytes }
          : { rate: 0, byteRate: 0, messages: 0, bytes: 0 }),
        filter: { endpoint: e.endpoint },
      });
    }
  }
  const byNode = new Map(agents.sockets.map((s) => [s.nodeId, s]));
  for (const l of agents.links) {
    const sub = [byNode.get(l.to), byNode.get(l.from)].find((x) => x && isSubscriber(x.type));
    const t = l.traffic;
    edges.push({
      id: l.id,
      from: l.from,
      to: l.to,
      both: l.both,
      kind: 'agent',
      state: l.state,
      rate: t?.rate ?? 0,
      byteRate: t?.byteRate ?? 0,
      messages: t?.messages ?? 0,
      bytes: t?.bytes ?? 0,
      ...(sub ? { subscriptions: subscriptionText(sub.subscriptions.map((x) => x.topic)) } : {}),
      ...(t?.lastTs ? { lastActivity: t.lastTs } : {}),
      filter: { session: byNode.get(l.connectSocket)?.session, endpoint: l.endpoint },
    });
  }
}


const PROCESS_ERROR = /address already in use|EADDRINUSE|connection refused|ECONNREFUSED|ZMQError|Error:/i;

/**
 * Errors worth showing from a program's output (stderr): ZeroMQ errors such as
 * "Address already in use". `endpoint` is filled when the line names one.
 */
export function processErrorsFromOutput(output: string, ts: number): NonNullable<TopologyProcess['errors']> {
  const out: NonNullable<TopologyProcess['errors']> = [];
  for (const line of output.split(/\r?\n/)) {
    const text = line.trim();
    if (!text || !PROCESS_ERROR.test(text)) continue;
    const ep = /\b(?:tcp|ipc|inproc):\/\/[^\s'",)]+/.exec(text)?.[0];
    out.push(ep ? { endpoint: ep, message: text, ts } : { message: text, ts });
    if (out.length >= 20) break;
  }
  return out;
}

function latencyOf(l: RequestLatency, id: string): { latency?: LatencyStats } {
  const latency = l.stats(id);
  return latency ? { latency } : {};
}
