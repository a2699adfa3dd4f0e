/** What every doctor rule shares: the findings' and options' types, the snapshot context, and the wording helpers. */
import { baseName } from '../base/bytes';
import type { CallSite } from '../capture/records';
import { formatTopic } from '../zmq/topics';
import type { CodeEndpoint, CodeLocation, ConnectionFacts, EndpointFacts, TopologySnapshot } from './topologyFacts';
import { endpointKey, endpointPort } from '../zmq/endpointIdentity';

export type DoctorRule =
  | 'pub-no-subscriber'
  | 'sub-no-matching-topic'
  | 'req-no-reply'
  | 'request-latency-high'
  | 'incompatible-socket-types'
  | 'handshake-failed'
  | 'connect-retrying'
  | 'port-bound-twice'
  | 'code-connect-unbound'
  | 'code-incompatible-pair'
  | 'send-dropped'
  | 'slow-joiner'
  | 'req-rep-out-of-turn'
  | 'router-no-delimiter'
  | 'sub-near-miss'
  | 'unseen-path'
  | 'endpoint-failed';

export type DoctorSeverity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  /** Stable across evaluations while the problem lasts (rule + subject). */
  id: string;
  rule: DoctorRule;
  severity: DoctorSeverity;
  /** What is wrong, then what to do. */
  message: string;
  endpoint?: string;
  nodeIds: string[];
  edgeIds: string[];
  location?: CodeLocation;
  /** Other code places that take part (e.g. the bind of an incompatible pair). */
  related?: { location: CodeLocation; message: string }[];
}

export interface DoctorOptions {
  /**
   * A REQ's request without reply for longer than this is reported, and so is a
   * connection whose p99 round trip exceeds it (zmqDebugger.doctor.requestTimeoutMs). Default 3000 ms.
   */
  reqTimeoutMs?: number;
  /** Round trips a connection must have before its p99 is judged. Default 20. */
  minRequestsForLatency?: number;
  /** Retries, refusals, abandoned requests and handshake errors older than this are history, not a problem. Default 30 s. */
  recentMs?: number;
  /** Messages a publisher must have been seen sending before "no topic matches" is decided. Default 5. */
  minPublishedForTopicCheck?: number;
  /** A subscriber connected for less than this may still be sending its subscriptions. Default 1000 ms. */
  subscribeGraceMs?: number;
  /** Findings about programs that have exited say so (`exited 20 s ago`). Default true. */
  markExited?: boolean;
}

export class Context {
  readonly endpoints: Map<string, EndpointFacts>;
  readonly openByEndpoint = new Map<string, ConnectionFacts[]>();

  constructor(
    readonly s: TopologySnapshot,
    readonly o: Required<DoctorOptions>,
  ) {
    this.endpoints = new Map(s.endpoints.map((e) => [e.key, e]));
    for (const c of s.connections) {
      if (c.state !== 'open') continue;
      this.openByEndpoint.set(c.endpointKey, [...(this.openByEndpoint.get(c.endpointKey) ?? []), c]);
    }
  }

  /**
   * Some running spy or tap watches the endpoint: evidence about an endpoint
   * nothing watches any more is history (a stopped example), not a problem.
   */
  observed(key: string): boolean {
    const e = this.endpoints.get(key);
    return !!e && (e.tappedBy.length > 0 || e.spiedBy.length > 0);
  }

  recent(ts: number | undefined): boolean {
    return ts !== undefined && ts > 0 && this.s.now - ts <= this.o.recentMs;
  }
}

export const ep = (key: string) => `ep:${key}`;
export const peer = (c: ConnectionFacts) => `peer:${c.id}`;
export const edge = (c: ConnectionFacts) => `edge:${c.id}`;
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
export const rate = (r: number) => (r >= 10 ? r.toFixed(0) : r.toFixed(1));
export const who = (c: ConnectionFacts) => `${c.clientType ?? 'peer'} ${c.peer ?? `#${c.connection}`}`;
export const ms = (v: number) => `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;

export const ADDR_IN_USE = /address already in use|EADDRINUSE|port \d+ in use/i;

export function quoteTopics(list: Uint8Array[], max = 5): string {
  const shown = list.slice(0, max).map((t) => `"${formatTopic(t)}"`);
  return shown.join(', ') + (list.length > max ? ` and ${list.length - max} more` : '');
}

/**
 * Why subscriptions match none of the topics, when they almost do: case or
 * spacing, or (for `framed`, the first frames of multipart messages) a
 * subscription that reaches past the topic frame into the next one.
 */
export function nearMiss(subs: Uint8Array[], topics: Uint8Array[], framed: Uint8Array[] = []): string {
  const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  for (const s of subs) {
    const st = text(s).toLowerCase().trim();
    for (const t of topics) {
      if (st && text(t).toLowerCase().startsWith(st)) return ` "${formatTopic(s)}" differs from "${formatTopic(t)}" only in case or spacing.`;
    }
    for (const t of framed) {
      const tt = text(t);
      if (tt && s.byteLength > t.byteLength && text(s).startsWith(tt)) {
        return ` "${formatTopic(s)}" runs past the topic frame "${formatTopic(t)}": the publisher sends the topic as a frame of its own, and a subscription is matched against the first frame only.`;
      }
    }
  }
  return '';
}

/** tcp endpoints match on the port whatever the host (a bind on * serves every host name); others as written. */
export function portKey(endpoint: string): string {
  const p = endpointPort(endpoint);
  return p !== undefined ? `tcp:${p}` : endpointKey(endpoint);
}

export function where(c: CodeEndpoint): string {
  return `${c.file ? baseName(c.file) : 'code'}:${c.line + 1}`;
}

export function loc(c: CodeEndpoint): CodeLocation | undefined {
  return c.file ? { file: c.file, line: c.line, column: c.column } : undefined;
}

export function codeNode(c: CodeEndpoint): string {
  return `code:${c.file ?? ''}:${c.line}:${endpointKey(c.endpoint)}`;
}

export type AgentSocket = TopologySnapshot['agents']['sockets'][number];

/** A finding's place in code from an agent's call site (1-based line → the 0-based CodeLocation). */
export function at(site: CallSite | undefined): { location?: CodeLocation } {
  return site ? { location: { file: site.file, line: site.line - 1 } } : {};
}

/** How long ago, coarse enough that a finding's text changes at most every 10 s. */
export function ago(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return 'just now';
  if (s < 60) return `${Math.floor(s / 10) * 10} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

export function capitalize(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}
