/**
 * Messages between the topology map webview and the extension host, shared by
 * both sides (no Node or vscode imports). Discriminated unions on `type`; each
 * side validates what it receives before use.
 */

import type { LatencyFigures } from '../latencyText';

export type MapSeverity = 'error' | 'warning' | 'info';
/** `socket`: a socket inside a program, reported by the zmq-debug agent (drawn inside its `process` node). */
export type MapNodeKind = 'endpoint' | 'peer' | 'spy' | 'process' | 'socket' | 'code';
/** `agent`: sockets connected as the agents report them (a bind matched with a connect, on any transport). */
export type MapEdgeKind = 'tap' | 'spy' | 'process' | 'agent' | 'code';
export type MapEdgeState = 'open' | 'retrying' | 'failed' | 'declared';

export interface MapNode {
  id: string;
  kind: MapNodeKind;
  /** Socket type and where, e.g. `PUB tcp://127.0.0.1:5556`. */
  label: string;
  socketType?: string;
  /** More about it, shown in the details pane. */
  detail?: string;
  /** The worst doctor finding on this node. */
  severity?: MapSeverity;
  /** The doctor's findings about this node (message texts). */
  problems: string[];
  /** Known only from the workspace's code (nothing live seen there). */
  codeOnly?: boolean;
  /** Epoch ms of the last thing seen from it. */
  lastActivity?: number;
  /** The node this one is drawn inside (a socket inside its process). */
  parent?: string;
}

/** Round trips of the request/reply pairs on a connection, in milliseconds (the figures the latency text renders). */
export type MapLatency = LatencyFigures;

export interface MapEdge {
  id: string;
  /** Messages flow from → to (both ways when `both`). */
  from: string;
  to: string;
  both: boolean;
  kind: MapEdgeKind;
  state: MapEdgeState;
  /** Rates as shown on the edge, e.g. `120 msg/s · 3.4 KB/s`; empty when idle. */
  rateText: string;
  /** Subscriptions the subscriber at the end of the edge holds. */
  subscriptions?: string[];
  severity?: MapSeverity;
  problems: string[];
  /** Epoch ms of the last message or command on it. */
  lastActivity?: number;
  /** Request latency measured on it (REQ/REP, DEALER/ROUTER pairs), once there is one. */
  latency?: MapLatency;
}

export interface MapGraph {
  nodes: MapNode[];
  edges: MapEdge[];
  /** Doctor findings in total, by severity. */
  counts: Record<MapSeverity, number>;
  /** Endpoints known only from code, left out (see the `showCode` option). */
  hiddenCodeNodes: number;
  /** Whether code-only endpoints are drawn. */
  showCode: boolean;
}

export type ToMap =
  | { type: 'topology/update'; graph: MapGraph }
  /** Select and center a node or edge (from the Doctor view). */
  | { type: 'topology/reveal'; id: string };

export type FromMap =
  | { type: 'ready' }
  /** The user selected a node or an edge: the host filters the frames viewer to it. */
  | { type: 'select'; target: 'node' | 'edge'; id: string }
  /** The user asked to see the frames of the selection. */
  | { type: 'openFrames'; target: 'node' | 'edge'; id: string }
  /** Draw the endpoints found in code too (or not). */
  | { type: 'setShowCode'; showCode: boolean };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** Validates a message from the map webview; throws with what is wrong. */
export function parseFromMap(m: unknown): FromMap {
  if (!isObj(m) || !isStr(m.type)) throw new Error('message without a type');
  switch (m.type) {
    case 'ready':
      return { type: 'ready' };
    case 'select':
    case 'openFrames':
      if ((m.target !== 'node' && m.target !== 'edge') || !isStr(m.id) || m.id.length > 2000) throw new Error(`bad ${m.type} message`);
      return { type: m.type, target: m.target, id: m.id };
    case 'setShowCode':
      if (typeof m.showCode !== 'boolean') throw new Error('bad setShowCode message');
      return { type: 'setShowCode', showCode: m.showCode };
    default:
      throw new Error(`unknown message type '${String(m.type).slice(0, 40)}'`);
  }
}

const SEVERITIES = ['error', 'warning', 'info'];

function parseLatency(v: unknown): MapLatency | undefined {
  if (!isObj(v)) return undefined;
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : undefined);
  const requests = n(v.requests), p50Ms = n(v.p50Ms), p95Ms = n(v.p95Ms), p99Ms = n(v.p99Ms), maxMs = n(v.maxMs);
  if (requests === undefined || p50Ms === undefined || p95Ms === undefined || p99Ms === undefined || maxMs === undefined) return undefined;
  const l: MapLatency = { requests, p50Ms, p95Ms, p99Ms, maxMs };
  const pending = n(v.pending), unmatched = n(v.unmatched);
  if (pending) l.pending = pending;
  if (unmatched) l.unmatched = unmatched;
  const h = v.histogram;
  if (isObj(h) && Array.isArray(h.boundsMs) && Array.isArray(h.counts) && h.counts.length === h.boundsMs.length + 1 && h.counts.length <= 64) {
    const boundsMs = h.boundsMs.map(n), counts = h.counts.map(n);
    if (!boundsMs.includes(undefined) && !counts.includes(undefined)) l.histogram = { boundsMs: boundsMs as number[], counts: counts as number[] };
  }
  return l;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter(isStr) : [];
}

/** Validates a message from the host (the webview trusts nothing it did not check). */
export function parseToMap(m: unknown): ToMap {
  if (!isObj(m) || !isStr(m.type)) throw new Error('message without a type');
  switch (m.type) {
    case 'topology/reveal':
      if (!isStr(m.id)) throw new Error('bad reveal message');
      return { type: 'topology/reveal', id: m.id };
    case 'topology/update': {
      const g = m.graph;
      if (!isObj(g) || !Array.isArray(g.nodes) || !Array.isArray(g.edges)) throw new Error('bad graph');
      const sev = (v: unknown) => (isStr(v) && SEVERITIES.includes(v) ? (v as MapSeverity) : undefined);
      const nodes: MapNode[] = g.nodes.filter(isObj).flatMap((n) =>
        isStr(n.id) && isStr(n.label) && isStr(n.kind)
          ? [
              {
                id: n.id,
                kind: n.kind as MapNodeKind,
                label: n.label,
                socketType: isStr(n.socketType) ? n.socketType : undefined,
                detail: isStr(n.detail) ? n.detail : undefined,
                severity: sev(n.severity),
                problems: strings(n.problems),
                codeOnly: n.codeOnly === true ? true : undefined,
                lastActivity: typeof n.lastActivity === 'number' ? n.lastActivity : undefined,
                parent: isStr(n.parent) ? n.parent : undefined,
              },
            ]
          : [],
      );
      const ids = new Set(nodes.map((n) => n.id));
      const edges: MapEdge[] = g.edges.filter(isObj).flatMap((e) =>
        isStr(e.id) && isStr(e.from) && isStr(e.to) && ids.has(e.from) && ids.has(e.to)
          ? [
              {
                id: e.id,
                from: e.from,
                to: e.to,
                both: e.both === true,
                kind: (isStr(e.kind) ? e.kind : 'tap') as MapEdgeKind,
                state: (isStr(e.state) ? e.state : 'open') as MapEdgeState,
                rateText: isStr(e.rateText) ? e.rateText : '',
                subscriptions: Array.isArray(e.subscriptions) ? strings(e.subscriptions) : undefined,
                severity: sev(e.severity),
                problems: strings(e.problems),
                lastActivity: typeof e.lastActivity === 'number' ? e.lastActivity : undefined,
                latency: parseLatency(e.latency),
              },
            ]
          : [],
      );
      const c = isObj(g.counts) ? g.counts : {};
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
      return { type: 'topology/update', graph: { nodes, edges, counts: { error: num(c.error), warning: num(c.warning), info: num(c.info) }, hiddenCodeNodes: num(g.hiddenCodeNodes), showCode: g.showCode === true } };
    }
    default:
      throw new Error(`unknown message type '${String(m.type).slice(0, 40)}'`);
  }
}
