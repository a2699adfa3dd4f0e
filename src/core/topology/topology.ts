/**
 * The topology model: which sockets exist, who is connected to whom, which way
 * messages flow and how fast, what each subscriber holds — built incrementally
 * from what the sources observe (tap connections, READY metadata, SUBSCRIBE,
 * spy messages and socket events) plus two explicit inputs: processes the
 * extension started and endpoints found in the workspace's code.
 *
 * Plain Node: no vscode. The doctor (doctor.ts) reads `snapshot()` (its types
 * are in topologyFacts.ts); the map draws its `nodes`/`edges` (topologyGraph.ts).
 */
import type { Capture } from '../capture/capture';
import { latin1, startsWithBytes, toHex } from '../base/bytes';
import { topicKey } from '../capture/capture';
import { TopicCounter } from '../capture/topicCounter';
import { endpointKey, endpointPort } from '../zmq/endpointIdentity';
import { Disposable, DisposableStore, Emitter, Event } from '../base/lifecycle';
import { CaptureRecord, CapturedEvent, CapturedMessage, CommandRecord, ConnectionRecord, GreetingRecord, payloadBytes, RecordHeader } from '../capture/records';
import { newFrameSpans } from '../capture/recordStore';
import type { CaptureSession } from '../sessions/session';
import { spyDetailsOf } from '../sessions/spy';
import { isPublisher, normalizeSocketType } from '../zmq/socketTypes';
import { LatencyStats, RequestLatency } from './latency';
import { WindowMeter } from '../capture/meter';
import { AgentTopology } from './agentTopology';
import { buildGraph } from './topologyGraph';
import type { CodeEndpoint, ConnectionFacts, EndpointFacts, SessionsLike, SpyFacts, TopologyOptions, TopologyProcess, TopologySnapshot } from './topologyFacts';

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

/** Packed messages of one spy stream that catchUp counts without building records: since the last flush, `n` of `bytes` at `ts`. */
interface MessageRun {
  /** The capture's metadata entry of the run (-1: none). */
  meta: number;
  ts: number;
  n: number;
  bytes: number;
  ep?: EndpointState;
  spy?: SpyState;
  /** The endpoint's topic counter when the run's topics are counted (a spy's, on a publisher). */
  topics?: TopicCounter;
  /** The run's records show their frames as Buffers (else as plain views: see runBytes). */
  framesAreBuffers?: boolean;
  chunk?: Buffer;
  chunkView?: Uint8Array;
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
  /** The run of one stream's messages catchUp is counting (see catchUp). */
  private readonly run: MessageRun = { meta: -1, ts: 0, n: 0, bytes: 0 };
  private readonly spans = newFrameSpans();
  private readonly header: RecordHeader = { kind: 'message', seq: 0, ts: 0, bytes: 0 };
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

  /**
   * Reads every record appended since the last call (records evicted before we
   * read them are skipped). A flood is runs of packed messages of one stream
   * (one metadata entry): the first of a run is ingested as a record, the rest
   * are read in place (no record, no frame view) and counted at once per
   * timestamp, with the same answers as ingesting each (test/unit/topologyRuns.test.ts).
   */
  private catchUp(): void {
    const capture = this.capture;
    if (!capture) return;
    const { firstSeq, lastSeq, retained } = capture.stats();
    if (!retained) return;
    const run = this.run;
    // a metadata entry's index may be reused by another stream once the capture appends again
    run.meta = -1;
    const spans = this.spans;
    const h = this.header;
    for (let seq = Math.max(this.lastSeq + 1, firstSeq); seq <= lastSeq; seq++) {
      const meta = capture.peekFrameSpans(seq, spans);
      if (meta >= 0 && meta === run.meta) {
        capture.peekHeader(seq, h);
        if (h.ts !== run.ts) this.flushRun(h.ts);
        run.n++;
        run.bytes += h.bytes;
        if (run.topics && spans.count > 0) run.topics.countSpan(this.runBytes(spans.buf), spans.start[0], spans.end[0] - spans.start[0], spans.count === 1, h.bytes, h.ts);
        continue;
      }
      this.flushRun(0);
      // lent (see Capture.peek): the model copies the few bytes it keeps
      const r = capture.peek(seq)!;
      this.ingest(r);
      run.meta = meta >= 0 ? this.startRun(r, meta) : -1;
      if (run.meta >= 0) run.ts = r.ts;
    }
    this.flushRun(0);
    // the capture may recycle or drop its chunks once it appends again
    run.chunk = run.chunkView = undefined;
    this.lastSeq = lastSeq;
  }

  /**
   * After ingesting a packed message (metadata entry `meta`): whether the
   * messages that follow it with that entry can be counted as a run (returns
   * `meta`), or -1. A run is a spy's or monitor's stream on an endpoint no tap
   * connection subscribes to: per message, only its rates and its topic
   * change (see onMessage).
   */
  private startRun(r: CaptureRecord, meta: number): number {
    if (r.kind !== 'message' || (r.source !== 'spy' && r.source !== 'monitor') || !r.session || r.connection !== undefined || r.encrypted) return -1;
    const ep = this.endpointState(r.endpoint);
    if (ep.subscribers.size) return -1;
    const run = this.run;
    run.ep = ep;
    run.spy = this.spy(r.session, r.source, r.endpoint);
    run.topics = r.source === 'spy' && !(ep.socketType && !isPublisher(ep.socketType)) ? ep.topics : undefined;
    run.framesAreBuffers = r.frames[0] instanceof Buffer;
    run.n = 0;
    run.bytes = 0;
    return meta;
  }

  /**
   * The chunk `buf` as the run's records show their frames: plain Uint8Array
   * views, or Buffers (a topic seen for the first time is copied from it, and
   * keeps its type, as when read from a record).
   */
  private runBytes(buf: Buffer): Uint8Array {
    const run = this.run;
    if (run.framesAreBuffers) return buf;
    if (run.chunk !== buf) {
      run.chunk = buf;
      run.chunkView = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    return run.chunkView!;
  }

  /** Counts the run's messages read since the last flush (they share one ts), then starts counting at `ts`. */
  private flushRun(ts: number): void {
    const run = this.run;
    if (run.n) {
      this.countPublished(run.ep!, run.spy, run.ts, run.bytes, run.n);
      this.changed();
    }
    run.ts = ts;
    run.n = 0;
    run.bytes = 0;
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
    if (r.kind === 'message') this.onMessage(r);
    else if (r.kind === 'event') this.onEvent(r);
    else if (r.kind === 'greeting') this.onGreeting(r);
    else if (r.kind === 'command') this.onCommand(r);
    else if (r.kind === 'connection') this.onConnection(r);
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
    this.countPublished(ep, r.session ? this.spy(r.session, r.source === 'monitor' ? 'monitor' : 'spy', r.endpoint) : undefined, r.ts, size, 1);
    if (r.source === 'spy') this.noteTopic(ep, r, size);
    if (r.peerSocketType) this.setSocketType(ep, r.peerSocketType, 'spy');
    else if (!ep.socketType && r.source === 'spy') this.setSocketType(ep, 'PUB', 'spy');
    ep.retry = undefined;
  }

  /** `n` messages (`bytes` in all) the socket at `ep` published at `ts`, as `spy` received them: one message, or a run's (see catchUp). */
  private countPublished(ep: EndpointState, spy: SpyState | undefined, ts: number, bytes: number, n: number): void {
    if (ts > ep.lastActivity) ep.lastActivity = ts;
    ep.published.hit(ts, bytes, n);
    spy?.received.hit(ts, bytes, n);
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
        if (startsWithBytes(first, p)) {
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

function latencyOf(l: RequestLatency, id: string): { latency?: LatencyStats } {
  const latency = l.stats(id);
  return latency ? { latency } : {};
}
