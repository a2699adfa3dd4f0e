/**
 * The map's nodes and edges, built from a snapshot's facts: endpoints, tap
 * peers, spies, the processes we started, code sites, and the agents'
 * processes holding their sockets. Pure functions over plain data.
 */
import { baseName } from '../base/bytes';
import { topicKey } from '../capture/capture';
import { endpointKey } from '../zmq/endpointIdentity';
import { flowBetween, isSubscriber, normalizeSocketType } from '../zmq/socketTypes';
import type { AgentSocketFacts } from '../sessions/agentStore';
import { AgentFacts, processDetailLines, socketDetailLines, socketLabel } from './agentTopology';
import type { CodeEndpoint, ConnectionFacts, EndpointFacts, SpyFacts, TopologyEdge, TopologyNode, TopologyProcess } from './topologyFacts';

function subscriptionText(topics: Uint8Array[]): string[] {
  return topics.map((t) => (t.byteLength === 0 ? '(everything)' : topicKey(t)));
}

/** What buildGraph fills in, and what its parts look up. */
interface Graph {
  nodes: TopologyNode[];
  edges: TopologyEdge[];
  aliases: Record<string, string>;
  byKey: Map<string, EndpointFacts>;
  agents: AgentFacts;
}

type EdgeEnds = Pick<TopologyEdge, 'id' | 'from' | 'to' | 'both'>;

const NO_TRAFFIC = { rate: 0, byteRate: 0, messages: 0, bytes: 0 };

function epNode(key: string): string {
  return `ep:${key}`;
}

/** An edge between a peer and the endpoint it connects to, oriented by which way messages flow. */
function orient(id: string, peer: string, peerType: string | undefined, ep: string, epType: string | undefined): EdgeEnds {
  const flow = flowBetween(peerType, epType);
  if (flow === 'bToA') return { id, from: ep, to: peer, both: false };
  return { id, from: peer, to: ep, both: flow === 'both' || flow === 'unknown' };
}

/** Nodes and edges for the map: endpoints, tap peers, spies, processes, code sites. */
export function buildGraph(
  endpoints: EndpointFacts[],
  connections: ConnectionFacts[],
  spies: SpyFacts[],
  processes: TopologyProcess[],
  code: CodeEndpoint[],
  agents: AgentFacts,
): { nodes: TopologyNode[]; edges: TopologyEdge[]; aliases: Record<string, string> } {
  const g: Graph = { nodes: [], edges: [], aliases: {}, byKey: new Map(endpoints.map((e) => [e.key, e])), agents };
  endpointNodes(g, endpoints);
  tapPeers(g, connections, processes);
  spyNodes(g, spies);
  processNodes(g, processes, connections);
  codeNodes(g, code);
  agentGraph(g);
  // edges to endpoint nodes left out above go too
  const ids = new Set(g.nodes.map((n) => n.id));
  return { nodes: g.nodes, edges: g.edges.filter((e) => ids.has(e.from) && ids.has(e.to)), aliases: g.aliases };
}

function endpointNodes(g: Graph, endpoints: EndpointFacts[]): void {
  // endpoints an agent's socket binds or connects: their own node only when something outside observes them
  const agentKeys = new Set<string>();
  for (const s of g.agents.sockets) for (const x of s.endpoints) agentKeys.add(endpointKey(x.endpoint));
  for (const e of endpoints) {
    if (agentKeys.has(e.key) && !observedOutside(e)) continue;
    g.nodes.push({
      id: epNode(e.key),
      kind: 'endpoint',
      label: `${e.socketType ?? '?'} ${e.endpoint}`,
      socketType: e.socketType,
      endpoint: e.endpoint,
      lastActivity: e.lastActivity || undefined,
      filter: { endpoint: e.endpoint },
    });
  }
}

/** The connecting side of each open tap connection, named after its process when we know it. */
function tapPeers(g: Graph, connections: ConnectionFacts[], processes: TopologyProcess[]): void {
  const { agents } = g;
  const procById = new Map(processes.map((p) => [p.id, p]));
  const taken = new Set<string>();
  let linked: Set<string> | undefined;
  for (const c of connections) {
    if (c.state !== 'open') continue;
    const ep = g.byKey.get(c.endpointKey);
    const id = `peer:${c.id}`;
    const ident = c.clientIdentity ? ` "${topicKey(c.clientIdentity)}"` : '';
    const proc = c.processId ? procById.get(c.processId) : undefined;
    // a peer running under the agent: named by its program, drawn inside it, as its own socket
    const agentProc = c.processId ? agents.processes.find((p) => p.exampleId === c.processId || p.nodeId === c.processId) : undefined;
    const sock = agentProc && tapPeerSocket(agents, agentProc.nodeId, c.clientType, taken, (linked ??= new Set(agents.links.map((l) => l.connectSocket))));
    const who = agentProc ? `${agentProc.name} (${agentProc.pid})` : proc ? (proc.pid ? `${proc.label} (${proc.pid})` : proc.label) : c.peer ?? '';
    if (sock) {
      taken.add(sock.nodeId);
      g.aliases[sock.nodeId] = id;
    }
    g.nodes.push({
      id,
      kind: sock ? 'socket' : 'peer',
      label: `${c.clientType ?? '?'}${ident} ${who}`.trim(),
      socketType: c.clientType,
      detail: [`${c.peer ?? ''} via ${c.session}`, ...(sock ? socketDetailLines(sock) : [])].join('\n'),
      lastActivity: c.lastActivity,
      filter: { session: c.session, connection: c.connection },
      ...(agentProc ? { parent: agentProc.nodeId } : {}),
    });
    g.edges.push({
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
}

function spyNodes(g: Graph, spies: SpyFacts[]): void {
  for (const s of spies) {
    const id = `spy:${s.session}@${s.endpointKey}`;
    const ep = g.byKey.get(s.endpointKey);
    g.nodes.push({ id, kind: 'spy', label: `${s.source} ${s.session}`, socketType: 'SUB', lastActivity: s.received.lastTs || undefined, filter: { session: s.session } });
    g.edges.push({
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
}

/** The processes we started, with the sockets they declare (those an agent reports are drawn by agentGraph). */
function processNodes(g: Graph, processes: TopologyProcess[], connections: ConnectionFacts[]): void {
  const mergedExamples = new Set(g.agents.processes.map((p) => p.exampleId).filter((id): id is string => !!id));
  // a process whose connect is seen live through a tap is drawn as that peer
  const shownAsPeer = new Set<string>();
  for (const c of connections) if (c.state === 'open' && c.processId) shownAsPeer.add(`${c.processId}@${c.endpointKey}`);
  for (const p of processes) {
    // drawn as the agent's process, with the sockets it really has
    if (mergedExamples.has(p.id)) continue;
    const id = `proc:${p.id}`;
    const sockets = p.sockets.filter((s) => !(s.role === 'connect' && shownAsPeer.has(`${p.id}@${endpointKey(s.endpoint)}`)));
    if (sockets.length === 0 && p.sockets.length > 0) continue;
    g.nodes.push({ id, kind: 'process', label: p.pid ? `${p.label} (${p.pid})` : p.label, detail: p.state, location: p.location });
    for (const s of sockets) {
      const key = endpointKey(s.endpoint);
      const failed = p.state === 'failed' || p.errors?.some((e) => e.endpoint && endpointKey(e.endpoint) === key);
      g.edges.push({
        ...declaredEnds(g, `edge:${id}:${s.role}:${key}`, id, s.role, normalizeSocketType(s.socketType), key),
        kind: 'process',
        state: failed ? 'failed' : p.state === 'running' ? 'open' : 'declared',
        ...NO_TRAFFIC,
        filter: { endpoint: s.endpoint },
      });
    }
  }
}

/** A declared bind goes out of its node into the endpoint; a connect is oriented by the flow. */
function declaredEnds(g: Graph, id: string, node: string, role: 'bind' | 'connect', type: string | undefined, key: string): EdgeEnds {
  return role === 'bind' ? { id, from: node, to: epNode(key), both: false } : orient(id, node, type, epNode(key), g.byKey.get(key)?.socketType);
}

function codeNodes(g: Graph, code: CodeEndpoint[]): void {
  for (const c of code) {
    const key = endpointKey(c.endpoint);
    const where = `${c.file ? baseName(c.file) : '?'}:${c.line + 1}`;
    const id = `code:${c.file ?? ''}:${c.line}:${key}`;
    const t = normalizeSocketType(c.socketType);
    g.nodes.push({
      id,
      kind: 'code',
      label: `${t ?? '?'} ${c.role} ${where}`,
      socketType: t,
      endpoint: c.endpoint,
      detail: where,
      location: c.file ? { file: c.file, line: c.line, column: c.column } : undefined,
    });
    g.edges.push({ ...declaredEnds(g, `edge:${id}`, id, c.role, t, key), kind: 'code', state: 'declared', ...NO_TRAFFIC });
  }
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
function boundFlow(id: string, socket: string, type: string | undefined, ep: string): EdgeEnds {
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
function agentGraph(g: Graph): void {
  const seen = new Set<string>();
  for (const p of g.agents.processes) {
    if (seen.has(p.nodeId)) continue;
    seen.add(p.nodeId);
    g.nodes.push({
      id: p.nodeId,
      kind: 'process',
      label: `${p.name} (${p.pid})`,
      detail: processDetailLines(p).join('\n'),
      lastActivity: p.exitedTs ?? p.startedTs,
      filter: { session: p.session, process: String(p.pid) },
    });
  }
  const missed = missedWhenJoined(g.agents);
  const epLinks = new Set<string>();
  for (const s of g.agents.sockets) {
    if (g.aliases[s.nodeId]) continue;
    const last = Math.max(s.sent.lastTs, s.received.lastTs, s.closedTs ?? 0, s.openedTs);
    const primary = s.endpoints.find((e) => e.state === 'active')?.endpoint ?? s.endpoints[0]?.endpoint;
    g.nodes.push({
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
    observedEndpointEdges(g, s, epLinks);
  }
  agentLinkEdges(g);
}

/** What a subscriber missed when it joined (slow joiner), for its details, by socket node. */
function missedWhenJoined(agents: AgentFacts): Map<string, string[]> {
  const missed = new Map<string, string[]>();
  const label = new Map(agents.sockets.map((x) => [x.nodeId, `${x.type} ${x.id} of ${x.process}`]));
  for (const j of agents.slowJoiners) {
    if (j.lost > 0) missed.set(j.sub, [...(missed.get(j.sub) ?? []), `Missed the first ${j.atLeast ? 'at least ' : ''}${j.lost} matching messages of ${label.get(j.pub) ?? j.pub} when it joined${j.streamRunning ? ' (a stream already running)' : ''}`]);
  }
  return missed;
}

/** An agent's socket and the endpoint nodes a tap or spy observes where it binds or connects. */
function observedEndpointEdges(g: Graph, s: AgentSocketFacts, epLinks: Set<string>): void {
  for (const e of s.endpoints) {
    if (e.state === 'failed') continue;
    const key = endpointKey(e.endpoint);
    const ep = g.byKey.get(key);
    if (!ep || !observedOutside(ep)) continue;
    const id = `edge:agent:${s.nodeId}@${key}`;
    if (epLinks.has(id)) continue;
    epLinks.add(id);
    g.edges.push({
      ...(e.role === 'bind' ? boundFlow(id, s.nodeId, s.type, epNode(key)) : orient(id, s.nodeId, s.type, epNode(key), ep.socketType)),
      kind: 'agent',
      state: s.state === 'open' && e.state === 'active' ? 'open' : 'declared',
      // the socket bound there is the endpoint: its traffic is the edge's
      ...(e.role === 'bind'
        ? { rate: s.sent.rate + s.received.rate, byteRate: s.sent.byteRate + s.received.byteRate, messages: s.sent.messages + s.received.messages, bytes: s.sent.bytes + s.received.bytes }
        : NO_TRAFFIC),
      filter: { endpoint: e.endpoint },
    });
  }
}

/** Two agents' sockets connected to each other. */
function agentLinkEdges(g: Graph): void {
  const byNode = new Map(g.agents.sockets.map((s) => [s.nodeId, s]));
  for (const l of g.agents.links) {
    const sub = [byNode.get(l.to), byNode.get(l.from)].find((x) => x && isSubscriber(x.type));
    const t = l.traffic;
    g.edges.push({
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
