/**
 * The doctor: pure rules over a topology snapshot that explain why messages go
 * missing. Each finding says what is wrong and what to do, names the nodes and
 * edges of the map it concerns and, for findings about code, the line.
 */
import { baseName } from '../base/bytes';
import { CallSite } from '../capture/records';
import { formatTopic } from '../zmq/topics';
import { canTalk, compatiblePeers, isPublisher, isSubscriber, normalizeSocketType } from '../zmq/socketTypes';
import { CodeEndpoint, CodeLocation, ConnectionFacts, EndpointFacts, TopologySnapshot } from './topologyFacts';
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

export const DOCTOR_RULES: Record<DoctorRule, string> = {
  'pub-no-subscriber': 'PUB publishing with no subscriber connected',
  'sub-no-matching-topic': 'Subscriber whose subscriptions match none of the published topics',
  'req-no-reply': 'REQ waiting for a reply',
  'request-latency-high': 'Replies slower than the request timeout',
  'incompatible-socket-types': 'Connected socket types that ZeroMQ does not allow',
  'handshake-failed': 'Handshake failed',
  'connect-retrying': 'Connect retrying: nothing listens',
  'port-bound-twice': 'Two programs bind the same port',
  'code-connect-unbound': 'Code connects to an endpoint nobody binds',
  'code-incompatible-pair': 'Code binds and connects socket types that cannot talk',
  'send-dropped': 'Sends refused (EAGAIN): high-water mark reached or no peer',
  'slow-joiner': 'Subscriber missed the first messages (slow joiner)',
  'req-rep-out-of-turn': 'REQ/REP used out of turn (EFSM)',
  'router-no-delimiter': 'ROUTER reply to a REQ without the empty delimiter',
  'sub-near-miss': 'Subscription that almost matches what is published',
  'unseen-path': 'Messages moved where the agents cannot see them (a device inside libzmq)',
  'endpoint-failed': 'Bind or connect failed',
};

export function diagnose(s: TopologySnapshot, options: DoctorOptions = {}): Diagnostic[] {
  const o: Required<DoctorOptions> = {
    reqTimeoutMs: options.reqTimeoutMs ?? 3000,
    recentMs: options.recentMs ?? 30_000,
    minPublishedForTopicCheck: options.minPublishedForTopicCheck ?? 5,
    subscribeGraceMs: options.subscribeGraceMs ?? 1000,
    minRequestsForLatency: options.minRequestsForLatency ?? 20,
    markExited: options.markExited ?? true,
  };
  const out: Diagnostic[] = [];
  const ctx = new Context(s, o);
  pubNoSubscriber(ctx, out);
  subNoMatchingTopic(ctx, out);
  reqNoReply(ctx, out);
  requestLatencyHigh(ctx, out);
  socketTypesAndHandshakes(ctx, out);
  connectRetrying(ctx, out);
  portBoundTwice(ctx, out);
  codeRules(ctx, out);
  insideRules(ctx, out);
  attachCodeLocations(s, out);
  const rank: Record<DoctorSeverity, number> = { error: 0, warning: 1, info: 2 };
  return out.sort((a, b) => rank[a.severity] - rank[b.severity] || a.id.localeCompare(b.id));
}

class Context {
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

const ep = (key: string) => `ep:${key}`;
const peer = (c: ConnectionFacts) => `peer:${c.id}`;
const edge = (c: ConnectionFacts) => `edge:${c.id}`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const rate = (r: number) => (r >= 10 ? r.toFixed(0) : r.toFixed(1));
const who = (c: ConnectionFacts) => `${c.clientType ?? 'peer'} ${c.peer ?? `#${c.connection}`}`;

function pubNoSubscriber(ctx: Context, out: Diagnostic[]): void {
  for (const e of ctx.s.endpoints) {
    if (!isPublisher(e.socketType)) continue;
    // publishing now: seen sending within the rate window
    if (!(e.published.rate > 0) || !ctx.recent(e.published.lastTs)) continue;
    // only where we see every subscriber: behind a tap, or bound by a program we started
    const bindingProcess = ctx.s.processes.find(
      (p) => p.state === 'running' && p.sockets.some((x) => x.role === 'bind' && endpointKey(x.endpoint) === e.key),
    );
    if (e.tappedBy.length === 0 && !bindingProcess) continue;
    const subscribers = (ctx.openByEndpoint.get(e.key) ?? []).filter((c) => !c.clientType || isSubscriber(c.clientType));
    const processSubscribers = ctx.s.processes.filter(
      (p) => p.state === 'running' && p.sockets.some((x) => x.role === 'connect' && endpointKey(x.endpoint) === e.key),
    );
    if (subscribers.length > 0 || processSubscribers.length > 0) continue;
    const left = ctx.s.connections
      .filter((c) => c.endpointKey === e.key && c.state === 'closed' && c.closedTs)
      .sort((a, b) => b.closedTs! - a.closedTs!)[0];
    const since = left ? ` Its last subscriber (${who(left)}) left ${secs(ctx.s.now - left.closedTs!)} ago.` : '';
    const via = e.tappedBy.length ? ` (connect subscribers through the tap ${e.tappedBy.join(', ')} to see them here)` : '';
    out.push({
      id: `pub-no-subscriber:${e.key}`,
      rule: 'pub-no-subscriber',
      severity: 'warning',
      message:
        `${e.socketType} at ${e.endpoint} publishes ${rate(e.published.rate)} msg/s but no subscriber is connected: a PUB drops every message nobody is subscribed to.${since} ` +
        `Start or reconnect the subscriber${via}; if it must not miss the first messages, make the publisher wait until subscribers are ready (a REQ/REP handshake, as in the zguide's synchronized publisher).`,
      endpoint: e.endpoint,
      nodeIds: [ep(e.key)],
      edgeIds: [],
    });
  }
}

function quoteTopics(list: Uint8Array[], max = 5): string {
  const shown = list.slice(0, max).map((t) => `"${formatTopic(t)}"`);
  return shown.join(', ') + (list.length > max ? ` and ${list.length - max} more` : '');
}

function subNoMatchingTopic(ctx: Context, out: Diagnostic[]): void {
  for (const c of ctx.s.connections) {
    if (c.state !== 'open' || !isSubscriber(c.clientType)) continue;
    if (ctx.s.now - c.openedTs < ctx.o.subscribeGraceMs) continue;
    const e = ctx.endpoints.get(c.endpointKey);
    if (!e) continue;
    if (c.subscriptions.length === 0) {
      if (!c.ready) continue;
      out.push({
        id: `sub-no-matching-topic:${c.id}`,
        rule: 'sub-no-matching-topic',
        severity: 'warning',
        message:
          `${who(c)} is connected to ${e.socketType ?? 'the publisher'} at ${e.endpoint} but has not subscribed to anything, so it receives nothing. ` +
          `Call subscribe (setsockopt SUBSCRIBE) with a topic prefix, or with an empty prefix to receive everything, before reading.`,
        endpoint: e.endpoint,
        nodeIds: [peer(c), ep(e.key)],
        edgeIds: [edge(c)],
      });
      continue;
    }
    if (c.subscriptions.some((t) => t.byteLength === 0)) continue;
    // decided on what the publisher was seen sending since the subscriptions last changed
    if (c.matchedSinceSubscribe > 0 || c.publishedSinceSubscribe < ctx.o.minPublishedForTopicCheck) continue;
    const topics = [...e.topics].sort((a, b) => b.lastTs - a.lastTs).map((t) => t.topic);
    const hint = nearMiss(c.subscriptions, topics);
    out.push({
      id: `sub-no-matching-topic:${c.id}`,
      rule: 'sub-no-matching-topic',
      severity: 'warning',
      message:
        `${who(c)} subscribes to ${quoteTopics(c.subscriptions)} but none of the ${c.publishedSinceSubscribe} messages the publisher at ${e.endpoint} sent since then starts with it (topics seen: ${quoteTopics(topics)}${e.topicsOverflow ? ', …' : ''}): the subscriber receives nothing.${hint} ` +
        `Subscribe to a prefix of what the publisher sends: matching is byte for byte and case-sensitive.`,
      endpoint: e.endpoint,
      nodeIds: [peer(c), ep(e.key)],
      edgeIds: [edge(c)],
    });
  }
}

/**
 * Why subscriptions match none of the topics, when they almost do: case or
 * spacing, or (for `framed`, the first frames of multipart messages) a
 * subscription that reaches past the topic frame into the next one.
 */
function nearMiss(subs: Uint8Array[], topics: Uint8Array[], framed: Uint8Array[] = []): string {
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

function reqNoReply(ctx: Context, out: Diagnostic[]): void {
  const byEndpoint = new Map<string, { waiting: ConnectionFacts[]; abandoned: ConnectionFacts[] }>();
  const entry = (k: string) => {
    let v = byEndpoint.get(k);
    if (!v) byEndpoint.set(k, (v = { waiting: [], abandoned: [] }));
    return v;
  };
  for (const c of ctx.s.connections) {
    if (!ctx.observed(c.endpointKey)) continue;
    if (c.state === 'open' && c.pendingRequest && ctx.s.now - c.pendingRequest.ts > ctx.o.reqTimeoutMs) entry(c.endpointKey).waiting.push(c);
    if (c.state === 'closed' && c.abandonedRequest && ctx.recent(c.abandonedRequest.closedTs)) entry(c.endpointKey).abandoned.push(c);
  }
  for (const [key, { waiting, abandoned }] of byEndpoint) {
    const e = ctx.endpoints.get(key);
    const where = e?.endpoint ?? key;
    const server = `${e?.socketType ?? 'the server'} at ${where}`;
    const parts: string[] = [];
    for (const c of waiting) parts.push(`${c.pendingRequest!.direction === 'toTarget' ? who(c) : `REQ at ${where}`} sent a request ${secs(ctx.s.now - c.pendingRequest!.ts)} ago and has had no reply`);
    if (abandoned.length) {
      const longest = Math.max(...abandoned.map((c) => c.abandonedRequest!.closedTs - c.abandonedRequest!.ts));
      parts.push(`${abandoned.length} connection${abandoned.length > 1 ? 's were' : ' was'} closed with a request unanswered (waited up to ${secs(longest)}: a client retrying)`);
    }
    out.push({
      id: `req-no-reply:${key}`,
      rule: 'req-no-reply',
      severity: 'warning',
      message:
        `${capitalize(parts.join('; '))} from ${server}. A REQ socket that gets no reply is stuck: it cannot send again. ` +
        `Check that the server is running and replies to every request (does it crash or hang on this one?); in the client, poll with a timeout, then close and reopen the socket and resend, with a retry limit (the Lazy Pirate pattern).`,
      endpoint: where,
      nodeIds: [ep(key), ...waiting.map(peer)],
      edgeIds: waiting.map(edge),
    });
  }
}

const ms = (v: number) => `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;

function requestLatencyHigh(ctx: Context, out: Diagnostic[]): void {
  for (const c of ctx.s.connections) {
    const l = c.latency;
    if (!l || l.requests < ctx.o.minRequestsForLatency || l.p99Ms <= ctx.o.reqTimeoutMs) continue;
    if (c.state === 'closed' && !ctx.recent(c.closedTs)) continue;
    const e = ctx.endpoints.get(c.endpointKey);
    const where = e?.endpoint ?? c.endpoint;
    out.push({
      id: `request-latency-high:${c.id}`,
      rule: 'request-latency-high',
      severity: 'warning',
      message:
        `Replies from ${e?.socketType ?? 'the server'} at ${where} to ${who(c)} take p99 ${ms(l.p99Ms)} (p50 ${ms(l.p50Ms)}, p95 ${ms(l.p95Ms)}, max ${ms(l.maxMs)} over ${l.requests} requests), ` +
        `more than the request timeout of ${ms(ctx.o.reqTimeoutMs)}: clients that poll with this timeout give up on 1 request in 100 or more. ` +
        `Find what makes the slow requests slow (open the frames of this connection), add workers behind a ROUTER, or raise the clients' timeout and zmqDebugger.doctor.requestTimeoutMs.`,
      endpoint: where,
      nodeIds: [peer(c), ep(c.endpointKey)],
      edgeIds: [edge(c)],
    });
  }
}

function socketTypesAndHandshakes(ctx: Context, out: Diagnostic[]): void {
  // libzmq checks the peer's Socket-Type in READY and hangs up: each side may
  // get only its own READY through before the close, so the target's type can
  // come from another connection to the same endpoint
  const incompatible = new Set<string>();
  const failedByEndpoint = new Map<string, ConnectionFacts[]>();
  for (const c of ctx.s.connections) {
    if (c.state === 'closed' && !ctx.recent(c.closedTs)) continue;
    if (!ctx.observed(c.endpointKey)) continue;
    const e = ctx.endpoints.get(c.endpointKey);
    const where = e?.endpoint ?? c.endpoint;
    const targetType = c.targetType ?? e?.socketType;
    if (c.clientType && targetType && canTalk(c.clientType, targetType) === false) {
      const id = `incompatible-socket-types:${c.endpointKey}:${c.clientType}:${targetType}`;
      incompatible.add(c.endpointKey);
      const prev = out.find((d) => d.id === id);
      if (prev) {
        if (c.state === 'open') {
          prev.nodeIds.push(peer(c));
          prev.edgeIds.push(edge(c));
        }
        continue;
      }
      const fits = compatiblePeers(targetType).join(' or ');
      out.push({
        id,
        rule: 'incompatible-socket-types',
        severity: 'error',
        message:
          `${who(c)} connected to ${targetType} at ${where}: ZeroMQ does not let ${c.clientType} talk to ${targetType}, so libzmq hangs up during the handshake and no message passes (the connecting side keeps retrying). ` +
          `Use a socket type that fits: ${targetType} talks to ${fits || 'no socket type'}.`,
        endpoint: where,
        nodeIds: c.state === 'open' ? [peer(c), ep(c.endpointKey)] : [ep(c.endpointKey)],
        edgeIds: c.state === 'open' ? [edge(c)] : [],
      });
      continue;
    }
    // a handshake that started (a greeting passed) and never finished, or an ERROR command
    const cut = c.state === 'closed' && !c.ready && (c.clientMechanism || c.targetMechanism) && c.toTarget.messages + c.fromTarget.messages === 0;
    if (cut || c.errors.length || (c.clientMechanism && c.targetMechanism && c.clientMechanism !== c.targetMechanism)) {
      failedByEndpoint.set(c.endpointKey, [...(failedByEndpoint.get(c.endpointKey) ?? []), c]);
    }
  }
  for (const [key, list] of failedByEndpoint) {
    if (incompatible.has(key)) continue;
    const e = ctx.endpoints.get(key);
    const where = e?.endpoint ?? list[0].endpoint;
    const last = list[list.length - 1];
    const withError = [...list].reverse().find((c) => c.errors.length);
    const serverMech = list.map((c) => c.targetMechanism).find((m) => m && m !== 'NULL') ?? (e?.mechanism !== 'NULL' ? e?.mechanism : undefined);
    // the bound socket's mechanism may come from another connection or a probe
    const mech = [...list].reverse().find((c) => {
      const target = c.targetMechanism ?? e?.mechanism;
      return c.clientMechanism && target && c.clientMechanism !== target;
    });
    let what: string;
    let todo: string;
    if (withError) {
      const err = withError.errors[withError.errors.length - 1];
      const by = err.direction === 'fromTarget' ? `the ${withError.targetType ?? e?.socketType ?? 'socket'} at ${where}` : who(withError);
      what = `${by} refused the handshake with ERROR "${err.reason}"`;
      todo = /auth|credential|password|key|denied|40\d/i.test(err.reason)
        ? 'Check the user name and password (or CURVE keys) the client uses against what the server’s authenticator (ZAP handler) accepts.'
        : 'Check that both sides use compatible socket types, the same security mechanism and a ZeroMQ that speaks ZMTP 3.';
    } else if (mech) {
      what = `security mechanism mismatch: the connecting ${mech.clientType ?? 'peer'} offers ${mech.clientMechanism}, the ${mech.targetType ?? e?.socketType ?? 'socket'} bound there ${mech.targetMechanism ?? e?.mechanism}`;
      todo = 'Configure both sides with the same mechanism (both NULL, both PLAIN, or CURVE server and client).';
    } else if (serverMech) {
      what = `the socket bound there requires ${serverMech} and hung up before the handshake finished`;
      todo =
        serverMech === 'PLAIN'
          ? 'Set the client’s PLAIN user name and password, and run an authenticator (ZAP handler, e.g. pyzmq’s ThreadAuthenticator) on the server: libzmq refuses PLAIN clients when none answers.'
          : 'Give the client the server’s public key and its own key pair, and run an authenticator (ZAP handler) on the server.';
    } else if ((last.targetType ?? e?.socketType) && !last.clientType) {
      // the bound socket announced itself and the connecting one hung up instead of answering with its READY
      const t = last.targetType ?? e!.socketType!;
      what = `the connecting peer hung up right after the ${t} bound there sent its READY, which libzmq does when its own socket type cannot talk to ${t}`;
      todo = `Check the connecting socket's type: ${t} talks to ${compatiblePeers(t).join(' or ') || 'no socket type'}.`;
    } else {
      what = `the connection closed during the handshake${last.reason ? ` (${last.reason})` : ''}`;
      todo = 'Check that both sides use compatible socket types, the same security mechanism and a ZeroMQ that speaks ZMTP 3.';
    }
    const open = list.filter((c) => c.state === 'open');
    out.push({
      id: `handshake-failed:${key}`,
      rule: 'handshake-failed',
      severity: 'error',
      message: `The handshake with ${where} failed${list.length > 1 ? ` on ${list.length} connections` : ''}: ${what}; nothing passes. ${todo}`,
      endpoint: where,
      nodeIds: [ep(key), ...open.map(peer)],
      edgeIds: open.map(edge),
    });
  }
  // our own sockets' handshake events (spies)
  for (const e of ctx.s.endpoints) {
    const recent = e.handshakeErrors.filter((h) => ctx.recent(h.ts));
    if (!recent.length || failedByEndpoint.has(e.key) || !ctx.observed(e.key)) continue;
    const last = recent[recent.length - 1];
    const kind = last.type.replace(/^handshake:error:?/, '') || 'error';
    const todo =
      kind === 'auth'
        ? 'Check the credentials or CURVE keys against the server’s authenticator (ZAP).'
        : kind === 'protocol'
          ? 'The peer speaks another protocol or security mechanism: check that the endpoint is a ZeroMQ socket of a compatible type with the same security settings.'
          : 'Check that both sides use the same security mechanism and compatible socket types.';
    out.push({
      id: `handshake-failed:${e.key}`,
      rule: 'handshake-failed',
      severity: 'error',
      message: `The handshake with ${e.endpoint} failed ${recent.length} time${recent.length > 1 ? 's' : ''} (${last.type}${last.error ? `: ${last.error}` : ''}). ${todo}`,
      endpoint: e.endpoint,
      nodeIds: [ep(e.key)],
      edgeIds: [],
    });
  }
}

function connectRetrying(ctx: Context, out: Diagnostic[]): void {
  for (const e of ctx.s.endpoints) {
    // something that listens but fails the handshake also makes libzmq retry: that is the handshake rule's finding
    if (e.handshakeErrors.some((h) => ctx.recent(h.ts)) || !ctx.observed(e.key)) continue;
    const retry = e.retry && ctx.recent(e.retry.lastTs) ? e.retry : undefined;
    const refused = e.refused && ctx.recent(e.refused.lastTs) ? e.refused : undefined;
    if (!retry && !refused) continue;
    const what = retry
      ? `a connect to ${e.endpoint} has retried ${retry.count} time${retry.count > 1 ? 's' : ''} over ${secs(ctx.s.now - retry.firstTs)}${retry.interval ? ` (every ${retry.interval} ms)` : ''}`
      : `the tap could not reach ${e.endpoint} (${refused!.reason}${refused!.count > 1 ? `, ${refused!.count} times` : ''})`;
    out.push({
      id: `connect-retrying:${e.key}`,
      rule: 'connect-retrying',
      severity: 'warning',
      message:
        `Nothing listens on ${e.endpoint}: ${what}. ZeroMQ keeps retrying quietly and messages queue up or are dropped. ` +
        `Start the program that binds ${e.endpoint}, or fix the address: same port, and a bind on that interface (tcp://*:PORT binds all).`,
      endpoint: e.endpoint,
      nodeIds: [ep(e.key)],
      edgeIds: ctx.s.edges.filter((x) => x.to === ep(e.key) || x.from === ep(e.key)).filter((x) => x.kind === 'spy').map((x) => x.id),
    });
  }
}

const ADDR_IN_USE = /address already in use|EADDRINUSE|port \d+ in use/i;

function portBoundTwice(ctx: Context, out: Diagnostic[]): void {
  // programs we started
  const binders = new Map<string, { procs: Set<string>; labels: string[]; errors: string[]; endpoint: string }>();
  for (const p of ctx.s.processes) {
    const live = p.state === 'running' || p.state === 'starting' || p.state === 'failed';
    if (!live) continue;
    for (const x of p.sockets) {
      if (x.role !== 'bind') continue;
      const k = endpointKey(x.endpoint);
      let b = binders.get(k);
      if (!b) binders.set(k, (b = { procs: new Set(), labels: [], errors: [], endpoint: x.endpoint }));
      if (!b.procs.has(p.id)) {
        b.procs.add(p.id);
        b.labels.push(p.pid ? `${p.label} (pid ${p.pid})` : p.label);
      }
      for (const err of p.errors ?? []) {
        if (ADDR_IN_USE.test(err.message) && (!err.endpoint || endpointKey(err.endpoint) === k)) b.errors.push(`${p.label}: ${err.message}`);
      }
    }
  }
  for (const [k, b] of binders) {
    if (b.procs.size < 2 && b.errors.length === 0) continue;
    out.push({
      id: `port-bound-twice:${k}`,
      rule: 'port-bound-twice',
      severity: 'error',
      message:
        `${b.labels.join(' and ')} ${b.procs.size > 1 ? 'both bind' : 'binds'} ${b.endpoint}${b.errors.length ? ` — ${b.errors[0]}` : ''}. Only one socket can bind a port: the second bind fails and its program either exits or runs without its endpoint. ` +
        `Stop the program that already holds the port, or give one of them another port.`,
      endpoint: b.endpoint,
      nodeIds: [ep(k), ...[...b.procs].map((id) => `proc:${id}`)],
      edgeIds: [],
    });
  }
  // Two files of the workspace binding one port are not reported: a folder of
  // examples or alternative programs does that legitimately, and only running
  // them together (the processes above) makes it a problem.
}

/** tcp endpoints match on the port whatever the host (a bind on * serves every host name); others as written. */
function portKey(endpoint: string): string {
  const p = endpointPort(endpoint);
  return p !== undefined ? `tcp:${p}` : endpointKey(endpoint);
}

function where(c: CodeEndpoint): string {
  return `${c.file ? baseName(c.file) : 'code'}:${c.line + 1}`;
}


function loc(c: CodeEndpoint): CodeLocation | undefined {
  return c.file ? { file: c.file, line: c.line, column: c.column } : undefined;
}

function codeNode(c: CodeEndpoint): string {
  return `code:${c.file ?? ''}:${c.line}:${endpointKey(c.endpoint)}`;
}

function codeRules(ctx: Context, out: Diagnostic[]): void {
  type Binder = { socketType?: string; what: string; location?: CodeLocation };
  const binds = new Map<string, Binder[]>();
  const add = (endpoint: string, b: Binder) => {
    const k = portKey(endpoint);
    binds.set(k, [...(binds.get(k) ?? []), b]);
  };
  for (const c of ctx.s.code) if (c.role === 'bind') add(c.endpoint, { socketType: normalizeSocketType(c.socketType), what: where(c), location: loc(c) });
  for (const p of ctx.s.processes) for (const x of p.sockets) if (x.role === 'bind') add(x.endpoint, { socketType: normalizeSocketType(x.socketType), what: p.label });
  for (const x of ctx.s.agents.sockets) {
    for (const e of x.endpoints) if (e.role === 'bind' && e.state === 'active') add(e.endpoint, { socketType: normalizeSocketType(x.type), what: `${x.process} (pid ${x.pid})` });
  }
  // something observed live listening there counts as a bind (a program outside the workspace)
  for (const e of ctx.s.endpoints) {
    const live = e.socketTypeSource === 'tap' || e.socketTypeSource === 'spy' || e.published.messages > 0;
    if (live) add(e.endpoint, { socketType: e.socketType, what: `the running ${e.socketType ?? 'socket'} at ${e.endpoint}` });
  }
  for (const c of ctx.s.code) {
    if (c.role !== 'connect') continue;
    const found = binds.get(portKey(c.endpoint)) ?? [];
    const t = normalizeSocketType(c.socketType);
    if (found.length === 0) {
      out.push({
        id: `code-connect-unbound:${c.file}:${c.line}`,
        rule: 'code-connect-unbound',
        severity: 'warning',
        message:
          `${t ?? 'This socket'} connects to ${c.endpoint}, but no code in the workspace binds ${portKey(c.endpoint).replace(/^tcp:/, 'port ')} and nothing was seen listening there: ZeroMQ will retry forever, quietly. ` +
          `Check the port and host, or bind it in the program that should serve it.`,
        endpoint: c.endpoint,
        nodeIds: [codeNode(c), ep(endpointKey(c.endpoint))],
        edgeIds: [],
        location: loc(c),
      });
      continue;
    }
    if (!t) continue;
    const bad = found.filter((b) => canTalk(t, b.socketType) === false);
    if (bad.length === 0 || bad.length < found.filter((b) => b.socketType).length) continue;
    const b = bad[0];
    out.push({
      id: `code-incompatible-pair:${c.file}:${c.line}`,
      rule: 'code-incompatible-pair',
      // what the code says may not be what runs together: a warning, not an error
      severity: 'warning',
      message:
        `${t} connects to ${c.endpoint}, which ${b.what} binds as ${b.socketType}: ZeroMQ does not let ${t} talk to ${b.socketType}, the handshake is refused and no message passes. ` +
        `Use a matching pair: ${b.socketType} talks to ${compatiblePeers(b.socketType).join(' or ') || 'nothing'}.`,
      endpoint: c.endpoint,
      nodeIds: [codeNode(c), ep(endpointKey(c.endpoint))],
      edgeIds: [],
      location: loc(c),
      related: bad.filter((x) => x.location).map((x) => ({ location: x.location!, message: `binds ${x.socketType} here` })),
    });
  }
}

// ---- rules only the inside sees (zmq-debug agents) --------------------------

type AgentSocket = TopologySnapshot['agents']['sockets'][number];

/** Rules over what agents inside programs reported: failures by errno, envelopes, joins, subscriptions. */
function insideRules(ctx: Context, out: Diagnostic[]): void {
  const a = ctx.s.agents;
  if (a.sockets.length === 0) return;
  const byNode = new Map(a.sockets.map((x) => [x.nodeId, x]));
  // a program's faults stay after it exits (a short script's bug is read once it has ended),
  // marked as such, until the capture is cleared or the program runs again (agentTopology.ts)
  const exitedAt = new Map(a.processes.filter((p) => p.state === 'exited' && ctx.o.markExited).map((p) => [`${p.session}:${p.pid}`, p.exitedTs ?? ctx.s.now]));
  const linksOf = (x: AgentSocket) => a.links.filter((l) => l.connectSocket === x.nodeId || l.bindSocket === x.nodeId);
  const peerOf = (l: (typeof a.links)[number], x: AgentSocket) => byNode.get(l.connectSocket === x.nodeId ? l.bindSocket : l.connectSocket)!;
  const name = (x: AgentSocket) => {
    const exited = exitedAt.get(`${x.session}:${x.pid}`);
    return `${x.type} ${x.id} in ${x.process} (pid ${x.pid}${exited !== undefined ? `, exited ${ago(ctx.s.now - exited)}` : ''})`;
  };
  const nodes = (x: AgentSocket) => [x.nodeId, x.processNodeId];
  for (const x of a.sockets) {
    for (const f of x.failures) {
      if (f.op === 'send' && f.code === 'EAGAIN') sendDropped(ctx, out, x, f, linksOf(x), (l) => peerOf(l, x), name, nodes);
      else if (f.code === 'EFSM') outOfTurn(out, x, f, name, nodes);
    }
    endpointFailed(out, x, name, nodes);
    const env = x.routerEnvelope;
    if (x.type === 'ROUTER' && env && env.withoutDelimiter > 0 && env.last) {
      const reqs = linksOf(x).filter((l) => peerOf(l, x).type === 'REQ');
      if (reqs.length) {
        const peers = [...new Set(reqs.map((l) => name(peerOf(l, x))))];
        out.push({
          id: `router-no-delimiter:${x.nodeId}`,
          rule: 'router-no-delimiter',
          severity: 'error',
          message:
            `${name(x)} sent ${env.withoutDelimiter} message${env.withoutDelimiter > 1 ? 's' : ''} whose envelope lost its empty delimiter (e.g. identity "${env.last.identity}" followed by "${env.last.next}"), and its peer ${peers.slice(0, 3).join(', ')} is a REQ: ` +
            `a REQ drops every reply that does not start with an empty frame, so it keeps waiting for its reply. ` +
            `Reply with the envelope the ROUTER received: [identity, b"", reply] (keep every frame up to and including the empty one, then add the reply).`,
          endpoint: reqs[0].endpoint,
          nodeIds: [...nodes(x), ...reqs.map((l) => peerOf(l, x).nodeId)],
          edgeIds: reqs.map((l) => l.id),
          ...at(x.site),
        });
      }
    }
  }
  unseenPaths(out, a.sockets, linksOf, name, nodes);
  for (const j of a.slowJoiners) {
    const sub = byNode.get(j.sub);
    const pub = byNode.get(j.pub);
    // a path the agents could not see has no loss to report
    if (sub?.unseenBy || pub?.unseenBy) continue;
    // joining a stream already running always loses what goes out during the handshake: only a lost start is a problem
    if (!sub || !pub || j.lost <= 0 || j.streamRunning) continue;
    out.push({
      id: `slow-joiner:${j.link}`,
      rule: 'slow-joiner',
      severity: 'warning',
      message:
        `${name(sub)} missed the first ${j.atLeast ? 'at least ' : ''}${j.lost} message${j.lost > 1 ? 's' : ''} matching its subscription that ${name(pub)} sent after it had connected and subscribed: ` +
        `the first one it received was sent ${ms(Math.max(0, j.firstDeliveredSentTs - j.joinTs))} after it joined. A PUB drops what no subscription it knows of matches, and a new subscriber's SUBSCRIBE takes a moment (the connection, then the handshake) to reach it: the "slow joiner". ` +
        `Synchronise before publishing: have each subscriber tell the publisher it is ready (a REQ/REP handshake, as in the zguide's syncpub/syncsub), or publish from an XPUB that waits for the subscription message (and can send a welcome message on it); a sleep after connect only makes it less likely.`,
      endpoint: a.links.find((l) => l.id === j.link)?.endpoint,
      nodeIds: [sub.nodeId, pub.nodeId, sub.processNodeId, pub.processNodeId],
      edgeIds: [j.link],
      ...at(sub.subscriptions.find((x) => x.site)?.site ?? sub.site),
    });
  }
  subNearMiss(ctx, out, a.links, byNode, name);
}

/**
 * Sockets whose messages a device loop inside libzmq moves (zmq.proxy_steerable, or
 * devices left native): the agents do not see that traffic, so their counts and the
 * links through them are incomplete. Said once per process's device, as information:
 * the loss rules stay silent on those paths rather than guess.
 */
function unseenPaths(
  out: Diagnostic[],
  sockets: AgentSocket[],
  linksOf: (x: AgentSocket) => TopologySnapshot['agents']['links'],
  name: (x: AgentSocket) => string,
  nodes: (x: AgentSocket) => string[],
): void {
  const byDevice = new Map<string, AgentSocket[]>();
  for (const x of sockets) {
    if (!x.unseenBy) continue;
    const key = `${x.session}:${x.pid}:${x.unseenBy}`;
    const list = byDevice.get(key) ?? [];
    list.push(x);
    byDevice.set(key, list);
  }
  for (const [key, list] of byDevice) {
    const links = list.flatMap(linksOf);
    out.push({
      id: `unseen-path:${key}`,
      rule: 'unseen-path',
      severity: 'info',
      message:
        `${list.map(name).join(' and ')} ${list.length > 1 ? 'are' : 'is'} run by ${list[0].unseenBy}, whose loop inside libzmq moves messages where the agent cannot see them: ` +
        `their message counts leave those out, and no loss is reported on the paths through them (what is not seen is not lost). ` +
        (list[0].unseenBy === 'zmq.proxy_steerable'
          ? 'The agent sees the traffic of zmq.proxy, zmq.device, zmq.devices and monitored_queue; zmq.proxy_steerable keeps libzmq’s own loop.'
          : 'ZMQ_DEBUG_AGENT_DEVICES=native is set: unset it to have the agent run the device’s loop where it sees each message.'),
      endpoint: links[0]?.endpoint,
      nodeIds: list.flatMap(nodes),
      edgeIds: links.map((l) => l.id),
    });
  }
}

function sendDropped(
  ctx: Context,
  out: Diagnostic[],
  x: AgentSocket,
  f: AgentSocket['failures'][number],
  links: TopologySnapshot['agents']['links'],
  peerOf: (l: TopologySnapshot['agents']['links'][number]) => AgentSocket,
  name: (x: AgentSocket) => string,
  nodes: (x: AgentSocket) => string[],
): void {
  const hwm = x.options.sndhwm !== undefined ? `SNDHWM ${x.options.sndhwm}` : 'its SNDHWM';
  const n = `${f.count} send${f.count > 1 ? 's' : ''}`;
  const connects = x.endpoints.filter((e) => e.role === 'connect' && e.state !== 'failed');
  let why: string;
  let todo: string;
  if (links.length) {
    const peers = [...new Set(links.map((l) => name(peerOf(l))))];
    const rcv = links.map((l) => peerOf(l).options.rcvhwm).filter((v) => v !== undefined);
    why =
      `at the high-water mark: the queue to ${peers.length > 1 ? 'its peers' : 'its peer'} ${peers.slice(0, 3).join(', ')} was full (${hwm}${rcv.length ? `, the peer's RCVHWM ${rcv[0]}` : ''}): the peer does not read as fast as this socket sends`;
    todo = 'Make the receiver keep up (read faster, add receivers), raise SNDHWM/RCVHWM if bursts are short, or send without NOBLOCK so the sender waits instead of dropping.';
  } else if (connects.length) {
    const where = connects.map((e) => e.endpoint).join(', ');
    why = `with no peer: nothing observed listens at ${where}, so the socket queued up to ${hwm} for a peer that never came, then refused`;
    todo = `Start the program that binds ${where} (or fix the address); to wait for the peer instead of dropping, send without NOBLOCK, or poll for POLLOUT first.`;
  } else {
    why = 'with no peer connected: a bound socket that no one has connected to has nowhere to queue a message';
    todo = 'Start the peers first and wait until they are connected (a handshake, or poll for POLLOUT) before sending; without NOBLOCK the send waits for a peer instead of failing.';
  }
  out.push({
    id: `send-dropped:${x.nodeId}`,
    rule: 'send-dropped',
    severity: 'warning',
    message: `${n} on ${name(x)} failed with EAGAIN, ${why}. The program got zmq.Again for each: those messages were not sent. ${todo}`,
    endpoint: x.endpoints[0]?.endpoint,
    nodeIds: nodes(x),
    edgeIds: links.map((l) => l.id),
    ...at(f.site ?? x.site),
  });
  void ctx;
}

function outOfTurn(out: Diagnostic[], x: AgentSocket, f: AgentSocket['failures'][number], name: (x: AgentSocket) => string, nodes: (x: AgentSocket) => string[]): void {
  const req = x.type === 'REQ';
  const what =
    f.op === 'send'
      ? req
        ? 'sent a request before receiving the reply to the previous one'
        : 'sent a reply without a request to answer'
      : req
        ? 'tried to receive before sending a request'
        : 'tried to receive a new request before replying to the last one';
  out.push({
    id: `req-rep-out-of-turn:${x.nodeId}:${f.op}`,
    rule: 'req-rep-out-of-turn',
    severity: 'error',
    message:
      `${name(x)} ${what}: ${f.count} ${f.op} call${f.count > 1 ? 's' : ''} failed with EFSM ("Operation cannot be accomplished in current state"). ` +
      `A ${req ? 'REQ must alternate send, recv, send, recv' : 'REP must alternate recv, send, recv, send'}. ` +
      (req
        ? 'Receive each reply before the next request; to give up on a reply, poll with a timeout, then close and reopen the socket (the Lazy Pirate pattern) or set REQ_RELAXED and REQ_CORRELATE; for many requests in flight use a DEALER.'
        : 'Reply exactly once to every request, also when handling it fails; for replies out of order use a ROUTER.'),
    endpoint: x.endpoints[0]?.endpoint,
    nodeIds: nodes(x),
    edgeIds: [],
    ...at(f.site ?? x.site),
  });
}

/** A bind or connect the program made that failed (EADDRINUSE, EINVAL, EPROTONOSUPPORT…), at its line. */
function endpointFailed(out: Diagnostic[], x: AgentSocket, name: (x: AgentSocket) => string, nodes: (x: AgentSocket) => string[]): void {
  for (const e of x.endpoints) {
    if (e.state !== 'failed') continue;
    const inUse = ADDR_IN_USE.test(e.error ?? '');
    const todo = inUse
      ? 'Another socket (in this program or another) holds that address: stop it, close the first socket before binding again, or bind another port (tcp://*:0 picks a free one, LAST_ENDPOINT tells which).'
      : `Check the address: transport://interface:port for tcp (tcp://127.0.0.1:5555, tcp://*:5555), ipc://PATH, inproc://NAME; a connect takes a host name or address, a bind an interface.`;
    out.push({
      id: `endpoint-failed:${x.nodeId}:${e.role}:${e.requested ?? e.endpoint}`,
      rule: 'endpoint-failed',
      severity: 'error',
      message: `${name(x)} could not ${e.role} ${e.requested ?? e.endpoint}: ${e.error ?? 'failed'}. The program got an exception there, and the socket has no such endpoint. ${todo}`,
      endpoint: e.endpoint,
      nodeIds: nodes(x),
      edgeIds: [],
      ...at(e.site),
    });
  }
}

/** A finding's place in code from an agent's call site (1-based line → the 0-based CodeLocation). */
function at(site: CallSite | undefined): { location?: CodeLocation } {
  return site ? { location: { file: site.file, line: site.line - 1 } } : {};
}

/** How long ago, coarse enough that a finding's text changes at most every 10 s. */
function ago(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return 'just now';
  if (s < 60) return `${Math.floor(s / 10) * 10} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

function subNearMiss(
  ctx: Context,
  out: Diagnostic[],
  links: TopologySnapshot['agents']['links'],
  byNode: Map<string, AgentSocket>,
  name: (x: AgentSocket) => string,
): void {
  for (const l of links) {
    const a = byNode.get(l.connectSocket)!;
    const b = byNode.get(l.bindSocket)!;
    const [pub, sub] = isPublisher(a.type) && isSubscriber(b.type) ? [a, b] : isPublisher(b.type) && isSubscriber(a.type) ? [b, a] : [];
    if (!pub || !sub || sub.received.messages > 0 || sub.subscriptions.length === 0 || pub.unseenBy || sub.unseenBy) continue;
    if (sub.subscriptions.some((x) => x.topic.byteLength === 0)) continue;
    // the publisher has been sending since the subscriber joined and had time to subscribe
    const joined = Math.max(l.sinceTs, ...sub.subscriptions.map((x) => x.ts));
    if (pub.sent.messages < ctx.o.minPublishedForTopicCheck || pub.sent.lastTs < joined + ctx.o.subscribeGraceMs) continue;
    const recent = [...pub.topicsSent].sort((x, y) => y.lastTs - x.lastTs);
    const subs = sub.subscriptions.map((x) => x.topic);
    const hint = nearMiss(subs, recent.map((t) => t.topic), recent.filter((t) => t.multipart).map((t) => t.topic));
    if (!hint) continue;
    out.push({
      id: `sub-near-miss:${l.id}`,
      rule: 'sub-near-miss',
      severity: 'warning',
      message:
        `${name(sub)} subscribes to ${quoteTopics(subs)} and has received nothing, while ${name(pub)} kept publishing (topics sent: ${quoteTopics(recent.map((t) => t.topic))}${pub.topicsOverflow ? ', …' : ''}).${hint} ` +
        `Subscribe to a prefix of what the publisher sends: matching is byte for byte, case-sensitive, and on the first frame only.`,
      endpoint: l.endpoint,
      nodeIds: [sub.nodeId, pub.nodeId, sub.processNodeId],
      edgeIds: [l.id],
      ...at(sub.subscriptions.find((x) => x.site)?.site ?? sub.site),
    });
  }
}

/**
 * A live finding about an endpoint also points at the code that binds (or, for
 * retrying connects, connects) it, so that it shows on that line.
 */
function attachCodeLocations(s: TopologySnapshot, out: Diagnostic[]): void {
  if (s.code.length === 0) return;
  for (const d of out) {
    if (d.location || !d.endpoint) continue;
    const k = portKey(d.endpoint);
    const sites = s.code.filter((c) => c.file && portKey(c.endpoint) === k);
    const preferred = d.rule === 'connect-retrying' ? 'connect' : 'bind';
    const ordered = [...sites.filter((c) => c.role === preferred), ...sites.filter((c) => c.role !== preferred)];
    if (!ordered.length) continue;
    d.location = loc(ordered[0]);
    const rest = ordered.slice(1, 6).map((c) => ({ location: loc(c)!, message: `${c.role}s ${c.endpoint}` }));
    if (rest.length) d.related = rest;
  }
}

function capitalize(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}
