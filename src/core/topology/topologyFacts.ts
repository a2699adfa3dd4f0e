/**
 * The facts of the topology model (topology.ts) as its snapshot hands them out:
 * endpoints, tap connections, spies, the processes we started, code sites and
 * the agents' facts, plus the map's nodes and edges built from them
 * (topologyGraph.ts). Plain data: the doctor, the map and the CLI read it.
 */
import type { Event } from '../base/lifecycle';
import type { CaptureSession } from '../sessions/session';
import type { AgentFacts } from './agentTopology';
import type { LatencyStats } from './latency';
import type { RateFacts } from '../capture/meter';

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

export type { RateFacts } from '../capture/meter';

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
