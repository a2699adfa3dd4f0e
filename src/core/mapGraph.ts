/**
 * Turns a topology snapshot and the doctor's findings into the graph the map
 * webview draws: small, display-ready, with each finding attached to the nodes
 * and edges it concerns.
 */
import type { MapEdge, MapGraph, MapNode, MapSeverity } from '../topologyProtocol';
import type { Diagnostic } from './doctor';
import type { FramesFilter, TopologySnapshot } from './topology';

/** Most nodes the map draws; the rest are counted in the summary node. */
export const MAX_MAP_NODES = 300;

const RANK: Record<MapSeverity, number> = { error: 0, warning: 1, info: 2 };

export function formatRate(msgs: number, bytes: number): string {
  if (!(msgs > 0)) return '';
  const m = msgs >= 100 ? msgs.toFixed(0) : msgs >= 10 ? msgs.toFixed(1) : msgs.toFixed(2);
  return `${m} msg/s · ${formatBytes(bytes)}/s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
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
  const byNode = new Map<string, Diagnostic[]>();
  const byEdge = new Map<string, Diagnostic[]>();
  for (const d of findings) {
    for (const id of d.nodeIds) byNode.set(id, [...(byNode.get(id) ?? []), d]);
    for (const id of d.edgeIds) byEdge.set(id, [...(byEdge.get(id) ?? []), d]);
  }
  const worst = (list: Diagnostic[] | undefined): MapSeverity | undefined =>
    list?.length ? list.reduce((a, d) => (RANK[d.severity] < RANK[a] ? d.severity : a), 'info' as MapSeverity) : undefined;

  // endpoints something live touches: observed by a source, or used by a process we started
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
  const codeOnly = options.showCode ? [] : s.nodes.filter((n) => n.kind === 'code' || (n.kind === 'endpoint' && !live.has(n.id)));
  const hidden = new Set(codeOnly.map((n) => n.id));
  let nodes: MapNode[] = s.nodes.filter((n) => !hidden.has(n.id)).map((n) => ({
    id: n.id,
    kind: n.kind,
    label: n.label,
    socketType: n.socketType,
    detail: n.detail,
    severity: worst(byNode.get(n.id)),
    problems: (byNode.get(n.id) ?? []).map((d) => d.message),
  }));
  if (nodes.length > MAX_MAP_NODES) {
    // keep the nodes with problems and the live ones first; code sites go first when cutting
    const order = (n: MapNode) => (n.severity ? 0 : n.kind === 'code' ? 2 : 1);
    nodes = [...nodes].sort((a, b) => order(a) - order(b)).slice(0, MAX_MAP_NODES);
  }
  const ids = new Set(nodes.map((n) => n.id));
  const edges: MapEdge[] = s.edges
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
    }));
  const counts: Record<MapSeverity, number> = { error: 0, warning: 0, info: 0 };
  for (const d of findings) counts[d.severity]++;
  return { nodes, edges, counts, hiddenCodeNodes: hidden.size };
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
  return f.session || f.endpoint ? f : undefined;
}
