/**
 * What the zmq-debug agents report (capture records with `source: 'agent'`),
 * as the topology needs it: processes → sockets → endpoints with counts and
 * failures, the sockets connected to each other (a bind matched with a
 * connect: tcp by port, ipc by path, inproc inside one process), and the few
 * samples the doctor's inside rules read (topics a PUB sent, a ROUTER's
 * envelopes, when a SUB joined and first received). Everything is bounded.
 *
 * Plain Node: no vscode. TopologyModel feeds it and puts `facts()` in its snapshot.
 */
import { copyBytes, latin1 } from '../base/bytes';
import { topicKey } from '../capture/capture';
import { CallSite, CapturedEvent, CapturedMessage, CaptureRecord, ProcessRecord, SocketRecord } from '../capture/records';
import { parseEndpoint } from '../zmq/endpoint';
import { endpointKey } from '../zmq/endpointIdentity';
import { flowBetween, isPublisher, isSubscriber, normalizeSocketType } from '../zmq/socketTypes';
import { RateFacts, WindowMeter } from './meter';

export interface AgentProcessFacts {
  /** The map node: `aproc:<session>:<pid>`, or `proc:<id>` when it is an example we started (same pid). */
  nodeId: string;
  session: string;
  pid: number;
  /** Program name (`pub_server.py`). */
  name: string;
  argv: string[];
  cwd: string;
  runtime?: string;
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
  /** The first frame, up to TOPIC_BYTES bytes. */
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
}

/** Two sockets connected as their agents report it: a connect matched with a bind. */
export interface AgentLinkFacts {
  id: string;
  connectSocket: string;
  bindSocket: string;
  /** The bound endpoint (real address). */
  endpoint: string;
  transport: 'tcp' | 'ipc' | 'inproc';
  /** Messages flow from → to (node ids); both ways when `both`. */
  from: string;
  to: string;
  both: boolean;
  state: 'open' | 'declared';
  /** When both ends existed (the later of the bind and the connect). */
  sinceTs: number;
  /**
   * Messages on this connection, counted at the end that has no other
   * connection (undefined when both ends have several: the agents count per
   * socket, not per connection).
   */
  traffic?: RateFacts;
}

/**
 * A subscriber that missed the first messages a publisher sent it (slow
 * joiner). Measured from agent records of both ends, see `slowJoiners()`.
 */
export interface SlowJoinerFacts {
  link: string;
  sub: string;
  pub: string;
  /** Matching messages the PUB sent after the SUB had connected and subscribed, before the first one the SUB got. */
  lost: number;
  /** A lower bound: some reports of the PUB were dropped or are no longer kept. */
  atLeast: boolean;
  joinTs: number;
  /** When the PUB sent the first message the SUB received, and when the SUB got it. */
  firstDeliveredSentTs: number;
  firstReceivedTs: number;
  /**
   * The PUB had been publishing before the SUB joined: a subscriber joining a
   * running stream always misses what goes out during its handshake.
   */
  streamRunning: boolean;
}

export interface AgentFacts {
  processes: AgentProcessFacts[];
  sockets: AgentSocketFacts[];
  links: AgentLinkFacts[];
  slowJoiners: SlowJoinerFacts[];
}

const MAX_PROCESSES = 200;
const MAX_SOCKETS_PER_PROCESS = 1024;
const MAX_ENDPOINTS = 64;
const MAX_SUBSCRIPTIONS = 256;
const MAX_TOPICS = 128;
const TOPIC_BYTES = 128;
/** Sends of a PUB kept for the slow-joiner measure. */
const SEND_LOG = 1024;
/** First messages of a SUB kept for it. */
const FIRST_RECEIVED = 8;

interface SendEntry {
  ts: number;
  hash: number;
  first: Uint8Array;
}

interface ProcState {
  facts: AgentProcessFacts;
  sockets: Map<string, SockState>;
}

interface SockState {
  facts: Omit<AgentSocketFacts, 'sent' | 'received' | 'failures' | 'topicsSent' | 'nodeId' | 'processNodeId'>;
  sent: WindowMeter;
  received: WindowMeter;
  failures: Map<string, AgentFailureFacts>;
  topics: Map<string, AgentTopicFacts>;
  /** PUB: ring of the last sends; `logged` counts every send put in it. */
  sendLog?: SendEntry[];
  logged: number;
  /** SUB: the first messages received. */
  firstReceived?: { ts: number; hash: number }[];
}

export class AgentTopology {
  private readonly procs = new Map<string, ProcState>();
  /** Slow-joiner results that cannot change any more, by link id. */
  private readonly decided = new Map<string, SlowJoinerFacts>();

  constructor(private readonly window: number) {}

  clear(): void {
    this.procs.clear();
    this.decided.clear();
  }

  get size(): number {
    return this.procs.size;
  }

  ingest(r: CaptureRecord): void {
    if (r.source !== 'agent' || r.pid === undefined) return;
    switch (r.kind) {
      case 'process':
        this.onProcess(r);
        break;
      case 'socket':
        this.onSocket(r);
        break;
      case 'message':
        this.onMessage(r);
        break;
      case 'event':
        this.onEvent(r);
        break;
    }
  }

  private proc(r: CaptureRecord): ProcState {
    const session = r.session ?? 'agent';
    const key = `${session}:${r.pid}`;
    let p = this.procs.get(key);
    if (!p) {
      if (this.procs.size >= MAX_PROCESSES) {
        // forget the oldest exited program (or the oldest one)
        let victim: string | undefined;
        for (const [k, x] of this.procs) if (x.facts.state === 'exited') { victim = k; break; }
        this.procs.delete(victim ?? this.procs.keys().next().value!);
      }
      p = {
        facts: { nodeId: `aproc:${key}`, session, pid: r.pid!, name: r.process ?? `pid ${r.pid}`, argv: [], cwd: '', state: 'running', startedTs: r.ts, dropped: 0 },
        sockets: new Map(),
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
        this.procs.delete(`${p.facts.session}:${p.facts.pid}`);
        p = this.proc(r);
      }
      // the same program run again: what its earlier run did (kept, with its findings, after it exited) is history now
      if (r.argv) {
        const again = JSON.stringify([r.cwd ?? '', r.argv]);
        for (const [k, x] of this.procs) if (x !== p && x.facts.state === 'exited' && JSON.stringify([x.facts.cwd, x.facts.argv]) === again) this.procs.delete(k);
      }
      const f = p.facts;
      if (r.process) f.name = r.process;
      if (r.argv) f.argv = r.argv.slice(0, 100);
      if (r.cwd !== undefined) f.cwd = r.cwd;
      if (r.runtime) f.runtime = r.runtime;
      f.startedTs = Math.min(f.startedTs, r.ts);
    } else {
      p.facts.state = 'exited';
      p.facts.exitedTs = r.ts;
      if (r.dropped) p.facts.dropped = r.dropped;
      for (const s of p.sockets.values()) {
        if (s.facts.state === 'open') {
          s.facts.state = 'closed';
          s.facts.closedTs = r.ts;
        }
      }
    }
  }

  private sock(r: CaptureRecord & { socket?: string }): SockState | undefined {
    if (!r.socket) return undefined;
    const p = this.proc(r);
    let s = p.sockets.get(r.socket);
    if (!s) {
      if (p.sockets.size >= MAX_SOCKETS_PER_PROCESS) return undefined;
      s = {
        facts: {
          session: p.facts.session,
          pid: p.facts.pid,
          process: p.facts.name,
          id: r.socket,
          type: '?',
          state: 'open',
          openedTs: r.ts,
          endpoints: [],
          subscriptions: [],
          options: {},
          topicsOverflow: false,
        },
        sent: new WindowMeter(this.window),
        received: new WindowMeter(this.window),
        failures: new Map(),
        topics: new Map(),
        logged: 0,
      };
      p.sockets.set(r.socket, s);
    }
    s.facts.process = p.facts.name;
    const t = 'socketType' in r ? normalizeSocketType(r.socketType) : undefined;
    if (t && t !== '?' && s.facts.type === '?') s.facts.type = t;
    return s;
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
        if (f.endpoints.length >= MAX_ENDPOINTS) f.endpoints.splice(Math.max(0, f.endpoints.findIndex((e) => e.state !== 'active')), 1);
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
        if (r.topic && f.subscriptions.length < MAX_SUBSCRIPTIONS) f.subscriptions.push({ topic: r.topic.slice(), ts: r.ts, ...(r.site ? { site: r.site } : {}) });
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
        const entry = { ts: r.ts, hash: hashFrames(r.frames), first: copyBytes(r.frames[0], 0, TOPIC_BYTES) };
        if (log.length < SEND_LOG) log.push(entry);
        else log[s.logged % SEND_LOG] = entry;
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
        if (first.length < FIRST_RECEIVED) first.push({ ts: r.ts, hash: hashFrames(r.frames) });
      }
    }
  }

  private noteTopic(s: SockState, r: CapturedMessage): void {
    const first = r.frames[0];
    let len = Math.min(first.byteLength, TOPIC_BYTES);
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
    } else if (s.topics.size < MAX_TOPICS) {
      const copy = copyBytes(topic);
      s.topics.set(k, { topic: copy, text: topicKey(copy), count: 1, lastTs: r.ts, multipart: r.frames.length > 1 });
    } else s.facts.topicsOverflow = true;
  }

  private onEvent(r: CapturedEvent): void {
    if (r.type === 'device:unseen') {
      const s = this.sock(r);
      if (s) s.facts.unseenBy = (r.address ?? 'a device').slice(0, 64);
      return;
    }
    if (r.type === 'send:wait') {
      const s = this.sock(r);
      if (s) s.facts.sendWaits = (s.facts.sendWaits ?? 0) + (r.count ?? 1);
      return;
    }
    const m = /^(send|recv):error$/.exec(r.type);
    if (!m || !r.code) return;
    const s = this.sock(r);
    if (!s) return;
    const key = `${m[1]} ${r.code}`;
    const f = s.failures.get(key);
    const n = r.count ?? 1;
    if (f) {
      f.count += n;
      f.lastTs = Math.max(f.lastTs, r.ts);
      f.site ??= r.site;
    } else if (s.failures.size < 32) s.failures.set(key, { op: m[1] as 'send' | 'recv', code: r.code, count: n, firstTs: r.ts, lastTs: r.ts, ...(r.site ? { site: r.site } : {}) });
  }

  /**
   * The facts for a snapshot. `exampleOf(pid)` names the example process with
   * that pid, if any: the agent's process is then drawn as that example's node.
   */
  facts(now: number, exampleOf: (pid: number) => string | undefined = () => undefined): AgentFacts {
    const processes: AgentProcessFacts[] = [];
    const sockets: AgentSocketFacts[] = [];
    const states = new Map<string, SockState>();
    for (const p of this.procs.values()) {
      const example = exampleOf(p.facts.pid);
      const nodeId = example ? `proc:${example}` : p.facts.nodeId;
      processes.push({ ...p.facts, argv: [...p.facts.argv], nodeId, ...(example ? { exampleId: example } : {}) });
      for (const s of p.sockets.values()) {
        const nodeIdOf = `asock:${p.facts.session}:${s.facts.id}`;
        states.set(nodeIdOf, s);
        sockets.push({
          ...s.facts,
          nodeId: nodeIdOf,
          processNodeId: nodeId,
          endpoints: s.facts.endpoints.map((e) => ({ ...e })),
          subscriptions: [...s.facts.subscriptions],
          options: { ...s.facts.options },
          sent: s.sent.facts(now),
          received: s.received.facts(now),
          failures: [...s.failures.values()].map((f) => ({ ...f })),
          topicsSent: [...s.topics.values()].map((t) => ({ ...t })),
          ...(s.facts.routerEnvelope ? { routerEnvelope: { ...s.facts.routerEnvelope } } : {}),
        });
      }
    }
    const links = linkSockets(sockets, new Map(processes.map((p) => [p.nodeId, p.cwd])));
    const slowJoiners = this.slowJoiners(links, sockets, states, processes);
    return { processes, sockets, links, slowJoiners };
  }

  /**
   * Slow joiner, measured per PUB→SUB link from both agents' records (one
   * clock: the programs run on this machine):
   *
   * - the SUB joined at `joinTs`, the later of the bind and the connect of the
   *   link; a message counts for it only if the SUB also held a matching
   *   subscription when the PUB sent it;
   * - the first message the SUB received from this PUB is found by content
   *   (the hash of all its frames) among the PUB's sends after `joinTs` and
   *   before the SUB received it;
   * - `lost` = the matching messages the PUB sent after `joinTs` and before that
   *   one. A PUB delivers in order on one connection, so each of them went out
   *   while the subscription was still on its way and was dropped.
   *
   * Two equal messages can only make the first delivered one look earlier,
   * so the count errs low, never high. Decided once the SUB received something
   * we can place; kept after that.
   */
  private slowJoiners(links: AgentLinkFacts[], sockets: AgentSocketFacts[], states: Map<string, SockState>, processes: AgentProcessFacts[]): SlowJoinerFacts[] {
    const out: SlowJoinerFacts[] = [];
    const byNode = new Map(sockets.map((s) => [s.nodeId, s]));
    for (const l of links) {
      const done = this.decided.get(l.id);
      if (done) {
        out.push(done);
        continue;
      }
      const a = byNode.get(l.connectSocket)!;
      const b = byNode.get(l.bindSocket)!;
      const [pub, sub] = isPublisher(a.type) && isSubscriber(b.type) ? [a, b] : isPublisher(b.type) && isSubscriber(a.type) ? [b, a] : [];
      if (!pub || !sub) continue;
      const ps = states.get(pub.nodeId)!;
      const ss = states.get(sub.nodeId)!;
      if (!ps.sendLog?.length || !ss.firstReceived?.length) continue;
      // the ring in send order
      const log = ps.logged <= SEND_LOG ? ps.sendLog : [...ps.sendLog.slice(ps.logged % SEND_LOG), ...ps.sendLog.slice(0, ps.logged % SEND_LOG)];
      const joinTs = l.sinceTs;
      const wanted = (e: SendEntry) => e.ts >= joinTs && sub.subscriptions.some((x) => x.ts <= e.ts && startsWith(e.first, x.topic));
      let result: SlowJoinerFacts | undefined;
      for (const got of ss.firstReceived) {
        let lost = 0;
        for (const e of log) {
          if (e.ts > got.ts) break;
          if (!wanted(e)) continue;
          if (e.hash === got.hash) {
            const pubProc = processes.find((p) => p.session === pub.session && p.pid === pub.pid);
            const evicted = ps.logged > SEND_LOG && log[0].ts >= joinTs;
            result = {
              link: l.id,
              sub: sub.nodeId,
              pub: pub.nodeId,
              lost,
              atLeast: evicted || (pubProc?.dropped ?? 0) > 0,
              joinTs,
              firstDeliveredSentTs: e.ts,
              firstReceivedTs: got.ts,
              streamRunning: ps.sent.firstTs > 0 && ps.sent.firstTs < joinTs,
            };
            break;
          }
          lost++;
        }
        if (result) break;
      }
      if (!result) continue;
      if (this.decided.size > 4096) this.decided.clear();
      this.decided.set(l.id, result);
      out.push(result);
    }
    return out;
  }
}

// ---- links ------------------------------------------------------------------

/** The key a bind is found by and a connect looks for: the same endpoint (the one identity, endpointIdentity.ts). */
function linkKey(endpoint: string, s: AgentSocketFacts, cwd: string): string {
  return endpointKey(endpoint, { session: s.session, pid: s.pid, cwd });
}

interface BoundEndpoint {
  s: AgentSocketFacts;
  e: AgentEndpointFacts;
}

function linkSockets(sockets: AgentSocketFacts[], cwdOf: Map<string, string>): AgentLinkFacts[] {
  const binds = new Map<string, BoundEndpoint[]>();
  for (const s of sockets) {
    for (const e of s.endpoints) {
      // (an endpoint that does not parse is no link: its transport is unknown)
      if (e.role !== 'bind' || e.state === 'failed' || !transportOf(e.endpoint)) continue;
      const k = linkKey(e.endpoint, s, cwdOf.get(s.processNodeId) ?? '');
      binds.set(k, [...(binds.get(k) ?? []), { s, e }]);
    }
  }
  const links: AgentLinkFacts[] = [];
  const seen = new Set<string>();
  for (const s of sockets) {
    for (const e of s.endpoints) {
      if (e.role !== 'connect' || e.state === 'failed') continue;
      const found = binds.get(linkKey(e.endpoint, s, cwdOf.get(s.processNodeId) ?? ''));
      if (!found) continue;
      // a port is bound by one live socket at a time: prefer the active bind, else the latest
      const active = found.filter((b) => b.e.state === 'active' && b.s.state === 'open');
      for (const b of active.length ? active : [found[found.length - 1]]) {
        const l = b.s.nodeId === s.nodeId ? undefined : link({ s, e }, b);
        if (!l || seen.has(l.id)) continue;
        seen.add(l.id);
        links.push(l);
      }
    }
  }
  countLinkTraffic(links, sockets);
  return links;
}

/** A connect matched with the bind it reaches. */
function link(c: BoundEndpoint, b: BoundEndpoint): AgentLinkFacts {
  const flow = flowBetween(c.s.type, b.s.type);
  const open = c.s.state === 'open' && b.s.state === 'open' && c.e.state === 'active' && b.e.state === 'active';
  const transport = transportOf(b.e.endpoint)!;
  return {
    id: `agent:${c.s.nodeId}>${b.s.nodeId}@${b.e.endpoint}`,
    connectSocket: c.s.nodeId,
    bindSocket: b.s.nodeId,
    endpoint: b.e.endpoint,
    transport,
    ...(flow === 'bToA' ? { from: b.s.nodeId, to: c.s.nodeId, both: false } : { from: c.s.nodeId, to: b.s.nodeId, both: flow !== 'aToB' }),
    state: open ? 'open' : 'declared',
    sinceTs: Math.max(c.e.ts, b.e.ts),
  };
}

function transportOf(endpoint: string): AgentLinkFacts['transport'] | undefined {
  try {
    return parseEndpoint(endpoint).transport;
  } catch {
    return undefined;
  }
}

/** Traffic of a link: counted at an end that has this one connection only. */
function countLinkTraffic(links: AgentLinkFacts[], sockets: AgentSocketFacts[]): void {
  const degree = new Map<string, number>();
  for (const l of links) for (const n of [l.connectSocket, l.bindSocket]) degree.set(n, (degree.get(n) ?? 0) + 1);
  const byNode = new Map(sockets.map((s) => [s.nodeId, s]));
  for (const l of links) {
    const end = degree.get(l.connectSocket) === 1 ? byNode.get(l.connectSocket) : degree.get(l.bindSocket) === 1 ? byNode.get(l.bindSocket) : undefined;
    if (!end) continue;
    const a = end.sent;
    const b = end.received;
    l.traffic = { messages: a.messages + b.messages, bytes: a.bytes + b.bytes, rate: a.rate + b.rate, byteRate: a.byteRate + b.byteRate, lastTs: Math.max(a.lastTs, b.lastTs) };
  }
}

/** The socket's endpoints for a label: `tcp://*:5556`, `→ tcp://localhost:5556`. */
export function socketLabel(s: AgentSocketFacts): string {
  const live = s.endpoints.filter((e) => e.state === 'active');
  const shown = (live.length ? live : s.endpoints).slice(0, 2).map((e) => `${e.role === 'connect' ? '→ ' : ''}${e.requested && /\*|:0$/.test(e.requested) ? e.endpoint : e.requested ?? e.endpoint}`);
  const more = (live.length || s.endpoints.length) > 2 ? ' …' : '';
  return `${s.type} ${shown.join(' ')}${more}`.trim();
}

/** What the details pane says about an agent socket, one line each. */
export function socketDetailLines(s: AgentSocketFacts): string[] {
  const out: string[] = [`${s.type} socket ${s.id} of ${s.process} (pid ${s.pid}), ${s.state}`];
  for (const e of s.endpoints) {
    out.push(`${e.role} ${e.endpoint}${e.requested && e.requested !== e.endpoint ? ` (asked ${e.requested})` : ''}${e.state === 'active' ? '' : e.state === 'removed' ? ` (${e.role === 'bind' ? 'unbound' : 'disconnected'})` : ` failed: ${e.error ?? ''}`}`);
  }
  out.push(`Sent ${s.sent.messages} messages (${s.sent.bytes} bytes), received ${s.received.messages} (${s.received.bytes} bytes)`);
  const hwm = ['sndhwm', 'rcvhwm'].filter((k) => s.options[k] !== undefined).map((k) => `${k} ${s.options[k]}`);
  if (hwm.length) out.push(`High-water marks: ${hwm.join(', ')}`);
  const other = Object.entries(s.options).filter(([k]) => k !== 'sndhwm' && k !== 'rcvhwm');
  if (other.length) out.push(`Options: ${other.map(([k, v]) => `${k} ${typeof v === 'string' ? JSON.stringify(v) : v}`).join(', ')}`);
  if (isSubscriber(s.type)) out.push(`Subscriptions: ${s.subscriptions.length ? s.subscriptions.map((x) => (x.topic.byteLength ? `"${topicKey(x.topic)}"` : '(everything)')).join(', ') : 'none'}`);
  if (s.topicsSent.length) out.push(`Topics sent: ${s.topicsSent.slice(0, 8).map((t) => `"${t.text}"`).join(', ')}${s.topicsSent.length > 8 || s.topicsOverflow ? ', …' : ''}`);
  if (s.failures.length) out.push(`Failures: ${s.failures.map((f) => `${f.op} ${f.code} ×${f.count}`).join(', ')}`);
  if (s.sendWaits) out.push(`Sends that waited at the high-water mark (then went): ${s.sendWaits}`);
  if (s.unseenBy) out.push(`Messages moved by ${s.unseenBy} inside libzmq are not seen: the counts leave them out`);
  return out;
}

/** What the details pane says about an agent process. */
export function processDetailLines(p: AgentProcessFacts): string[] {
  const out = [`${p.name}, pid ${p.pid}, ${p.state}${p.exampleId ? ' (an example started here)' : ''}`];
  if (p.argv.length) out.push(`Command: ${p.argv.join(' ')}`);
  if (p.cwd) out.push(`In ${p.cwd}`);
  if (p.runtime) out.push(p.runtime);
  if (p.dropped) out.push(`Its agent dropped ${p.dropped} reports: counts of it are lower bounds`);
  return out;
}

function startsWith(frame: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.byteLength > frame.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (frame[i] !== prefix[i]) return false;
  return true;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && startsWith(a, b);
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
