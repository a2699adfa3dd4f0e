/**
 * The agents' facts as the topology needs them: the store's processes and
 * sockets (sessions/agentStore.ts), the sockets connected to each other (a
 * bind matched with a connect reaching the same endpoint, endpointIdentity.ts:
 * tcp by port on this machine, ipc by path from the program's cwd, inproc
 * inside one process), and the slow joiners measured on those links; plus
 * what the map's details say about an agent's process or socket.
 *
 * Plain Node: no vscode. TopologyModel feeds it and puts `facts()` in its snapshot.
 */
import { startsWithBytes } from '../base/bytes';
import { topicKey } from '../capture/capture';
import type { RateFacts } from '../capture/meter';
import type { CaptureRecord } from '../capture/records';
import { AgentEndpointFacts, AgentProcessFacts, AgentSocketFacts, AgentStore, LIMITS, SendEntry, SocketSamples } from '../sessions/agentStore';
import { parseEndpoint } from '../zmq/endpoint';
import { endpointKey } from '../zmq/endpointIdentity';
import { flowBetween, isPublisher, isSubscriber } from '../zmq/socketTypes';

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

/** How much later than its delivery the send of a message may be stamped (see slowJoiners()). */
const SEND_STAMP_SLACK_MS = 50;

export class AgentTopology {
  private readonly store: AgentStore;
  /** Slow-joiner results that cannot change any more, by link id. */
  private readonly decided = new Map<string, SlowJoinerFacts>();

  constructor(window: number) {
    this.store = new AgentStore(window);
  }

  clear(): void {
    this.store.clear();
    this.decided.clear();
  }

  get size(): number {
    return this.store.size;
  }

  ingest(r: CaptureRecord): void {
    this.store.ingest(r);
  }

  /**
   * The facts for a snapshot. `exampleOf(pid)` names the example process with
   * that pid, if any: the agent's process is then drawn as that example's node.
   */
  facts(now: number, exampleOf: (pid: number) => string | undefined = () => undefined): AgentFacts {
    const { processes, sockets, samples } = this.store.facts(now, exampleOf);
    const links = linkSockets(sockets, new Map(processes.map((p) => [p.nodeId, p.cwd])));
    const slowJoiners = this.slowJoiners(links, sockets, samples, processes);
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
  private slowJoiners(links: AgentLinkFacts[], sockets: AgentSocketFacts[], states: Map<string, SocketSamples>, processes: AgentProcessFacts[]): SlowJoinerFacts[] {
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
      const log = ps.logged <= LIMITS.sendLog ? ps.sendLog : [...ps.sendLog.slice(ps.logged % LIMITS.sendLog), ...ps.sendLog.slice(0, ps.logged % LIMITS.sendLog)];
      const joinTs = l.sinceTs;
      const wanted = (e: SendEntry) => e.ts >= joinTs && sub.subscriptions.some((x) => x.ts <= e.ts && startsWithBytes(e.first, x.topic));
      let result: SlowJoinerFacts | undefined;
      for (const got of ss.firstReceived) {
        let lost = 0;
        for (const e of log) {
          // an agent stamps a send once its call returned, a receive as soon as it returned: the
          // send of a message can bear a time a little after its delivery (0.2 ms seen under load)
          if (e.ts > got.ts + SEND_STAMP_SLACK_MS) break;
          if (!wanted(e)) continue;
          if (e.hash === got.hash) {
            const pubProc = processes.find((p) => p.session === pub.session && p.pid === pub.pid);
            const evicted = ps.logged > LIMITS.sendLog && log[0].ts >= joinTs;
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

