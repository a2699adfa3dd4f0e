/**
 * Turns a topology snapshot and the doctor's findings into the graph the map
 * webview draws: small, display-ready, with each finding attached to the nodes
 * and edges it concerns.
 */
import { formatBytes } from '../shared/format';
import type { MapEdge, MapGraph, MapLatency, MapNode, MapSeverity } from '../shared/protocol/topology';
import type { LatencyStats } from '../core/topology/latency';
import type { Diagnostic } from '../core/topology/doctor';
import type { FramesFilter, TopologySnapshot } from '../core/topology/topologyFacts';

/** Most nodes the map draws; the rest are counted in the summary node. */
export const MAX_MAP_NODES = 300;

const RANK: Record<MapSeverity, number> = { error: 0, warning: 1, info: 2 };

export function formatRate(msgs: number, bytes: number): string {
  if (!(msgs > 0)) return '';
  const m = msgs >= 100 ? msgs.toFixed(0) : msgs >= 10 ? msgs.toFixed(1) : msgs.toFixed(2);
  return `${m} msg/s · ${formatBytes(bytes)}/s`;
}

export interface MapGraphOptions {
  /**
   * Draw the sites in code and the endpoints only the code knows of. Off by
   * default: a workspace of examples has dozens, and they bury the live
   * topology; their findings stay in the Problems panel and the Doctor view.
   */
  showCode?: boolean;
}

export function toMapGraph(s: TopologySnapshot, findings: readonly Diagnostic[], options: MapGraphOptions = {}): MapGraph {
  const byNode = groupBy(findings, (d) => new Set(d.nodeIds.map((x) => s.aliases?.[x] ?? x)));
  const byEdge = groupBy(findings, (d) => d.edgeIds);
  const live = liveNodeIds(s);
  const sitesOf = codeSitesByEndpoint(s);
  const codeOnly = s.nodes.filter((n) => n.kind === 'endpoint' && !live.has(n.id));
  const hidden = new Set(options.showCode ? [] : codeOnly.map((n) => n.id));
  const codeOnlyIds = new Set(codeOnly.map((n) => n.id));
  let nodes: MapNode[] = s.nodes
    .filter((n) => n.kind !== 'code' && !hidden.has(n.id))
    .map((n) => mapNode(s, n, byNode.get(n.id), sitesOf.get(n.id), codeOnlyIds.has(n.id)));
  if (nodes.length > MAX_MAP_NODES) {
    // keep the nodes with problems and the live ones first; code-only endpoints go first when cutting
    const order = (n: MapNode) => (n.severity ? 0 : n.codeOnly ? 2 : 1);
    nodes = [...nodes].sort((a, b) => order(a) - order(b)).slice(0, MAX_MAP_NODES);
  }
  const ids = new Set(nodes.map((n) => n.id));
  // a socket whose process was cut is drawn on its own
  nodes = nodes.map((n) => (n.parent && !ids.has(n.parent) ? { ...n, parent: undefined } : n));
  const counts: Record<MapSeverity, number> = { error: 0, warning: 0, info: 0 };
  for (const d of findings) counts[d.severity]++;
  return { nodes, edges: mapEdges(s, ids, byEdge), counts, hiddenCodeNodes: hidden.size, showCode: options.showCode === true };
}

/** Findings by the ids each one names (a node drawn as another, an agent's socket as its tap peer, carries its findings there). */
function groupBy(findings: readonly Diagnostic[], idsOf: (d: Diagnostic) => Iterable<string>): Map<string, Diagnostic[]> {
  const by = new Map<string, Diagnostic[]>();
  for (const d of findings) {
    for (const id of idsOf(d)) {
      const list = by.get(id);
      if (list) list.push(d);
      else by.set(id, [d]);
    }
  }
  return by;
}

function worst(list: Diagnostic[] | undefined): MapSeverity | undefined {
  return list?.length ? list.reduce((a, d) => (RANK[d.severity] < RANK[a] ? d.severity : a), 'info' as MapSeverity) : undefined;
}

/** Endpoints something live touches: observed by a source, or used by a process we started; and the ends of live edges. */
function liveNodeIds(s: TopologySnapshot): Set<string> {
  const live = new Set<string>();
  for (const e of s.endpoints) {
    if (e.tappedBy.length || e.spiedBy.length || e.published.messages || e.lastActivity || e.retry || e.refused || e.handshakeErrors.length) live.add(`ep:${e.key}`);
    else if (e.socketTypeSource && e.socketTypeSource !== 'code') live.add(`ep:${e.key}`);
  }
  for (const e of s.edges) {
    if (e.kind === 'code') continue;
    live.add(e.from);
    live.add(e.to);
  }
  return live;
}

/** Code sites folded into their endpoint: "bound in a.py:3, connected from b.py:7". */
function codeSitesByEndpoint(s: TopologySnapshot): Map<string, string[]> {
  const sitesOf = new Map<string, string[]>();
  const codeNodes = new Map(s.nodes.filter((n) => n.kind === 'code').map((n) => [n.id, n]));
  for (const e of s.edges) {
    if (e.kind !== 'code') continue;
    const site = codeNodes.get(e.from) ?? codeNodes.get(e.to);
    const ep = codeNodes.has(e.from) ? e.to : e.from;
    if (!site) continue;
    const list = sitesOf.get(ep);
    if (list) list.push(site.label);
    else sitesOf.set(ep, [site.label]);
  }
  return sitesOf;
}

function mapNode(s: TopologySnapshot, n: TopologySnapshot['nodes'][number], found: Diagnostic[] | undefined, sites: string[] | undefined, codeOnly: boolean): MapNode {
  const detail = [n.detail, ...(n.kind === 'endpoint' ? endpointLines(s, n.id) : []), sites?.length ? `In code: ${sites.slice(0, 8).join('; ')}${sites.length > 8 ? ` and ${sites.length - 8} more` : ''}` : undefined]
    .filter(Boolean)
    .join('\n');
  const m: MapNode = {
    id: n.id,
    kind: n.kind,
    label: n.label,
    socketType: n.socketType,
    severity: worst(found),
    problems: [...new Set((found ?? []).map((d) => d.message))],
  };
  if (detail) m.detail = detail;
  if (codeOnly) m.codeOnly = true;
  if (n.lastActivity) m.lastActivity = n.lastActivity;
  if (n.parent) m.parent = n.parent;
  return m;
}

/** The edges between drawn nodes, with their findings and, for tap connections, request latency. */
function mapEdges(s: TopologySnapshot, ids: Set<string>, byEdge: Map<string, Diagnostic[]>): MapEdge[] {
  // the edge of connection `c` is `edge:${c.id}`
  const latencyByEdge = new Map<string, LatencyStats>();
  for (const c of s.connections) if (c.latency?.requests) latencyByEdge.set(`edge:${c.id}`, c.latency);
  return s.edges
    .filter((e) => ids.has(e.from) && ids.has(e.to))
    .map((e) => ({
      id: e.id,
      from: e.from,
      to: e.to,
      both: e.both,
      kind: e.kind,
      state: e.state,
      rateText: formatRate(e.rate, e.byteRate),
      subscriptions: e.subscriptions,
      severity: worst(byEdge.get(e.id)),
      problems: (byEdge.get(e.id) ?? []).map((d) => d.message),
      ...(e.lastActivity ? { lastActivity: e.lastActivity } : {}),
      ...(latencyByEdge.has(e.id) ? { latency: mapLatency(latencyByEdge.get(e.id)!) } : {}),
    }));
}

/** A connection's round trips as the map shows them. */
export function mapLatency(l: LatencyStats): MapLatency {
  const m: MapLatency = { requests: l.requests, p50Ms: l.p50Ms, p95Ms: l.p95Ms, p99Ms: l.p99Ms, maxMs: l.maxMs, histogram: { boundsMs: [...l.histogram.boundsMs], counts: [...l.histogram.counts] } };
  if (l.pending) m.pending = l.pending;
  if (l.unmatched) m.unmatched = l.unmatched;
  return m;
}

const SOURCE_TEXT: Record<string, string> = {
  tap: 'its READY through a tap',
  probe: 'a probe of its handshake',
  spy: 'a spy',
  process: 'the example that binds it',
  code: 'the workspace code',
};

/** What the details pane says about an endpoint node. */
function endpointLines(s: TopologySnapshot, id: string): string[] {
  const e = s.endpoints.find((x) => `ep:${x.key}` === id);
  if (!e) return [];
  const out: string[] = [];
  if (e.socketType && e.socketTypeSource) out.push(`${e.socketType}, known from ${SOURCE_TEXT[e.socketTypeSource] ?? e.socketTypeSource}`);
  const by = [...e.tappedBy, ...e.spiedBy];
  if (by.length) out.push(`Observed by ${by.join(', ')}`);
  if (e.published.messages) out.push(`${e.published.messages} messages seen from it${e.published.rate > 0 ? `, ${formatRate(e.published.rate, e.published.byteRate)}` : ''}`);
  if (e.topics.length) out.push(`Topics seen: ${e.topics.slice(0, 8).map((t) => `"${t.text}"`).join(', ')}${e.topics.length > 8 || e.topicsOverflow ? ', …' : ''}`);
  const open = s.connections.filter((c) => c.endpointKey === e.key && c.state === 'open').length;
  if (open) out.push(`${open} open connection${open > 1 ? 's' : ''} through taps`);
  return out;
}

/**
 * Where the frames viewer should look for a node or an edge: the filter the
 * model attached, else a session that observes the endpoint.
 */
export function framesFilterFor(s: TopologySnapshot, target: 'node' | 'edge', id: string): FramesFilter | undefined {
  const item = target === 'node' ? s.nodes.find((n) => n.id === id) : s.edges.find((e) => e.id === id);
  if (!item) return undefined;
  const f: FramesFilter = { ...(item.filter ?? {}) };
  if (!f.session && f.endpoint) {
    const e = s.endpoints.find((x) => x.endpoint === f.endpoint || `ep:${x.key}` === id);
    const session = e?.tappedBy[0] ?? e?.spiedBy[0];
    if (session) f.session = session;
  }
  return f.session || f.endpoint || f.socket || f.process ? f : undefined;
}
