/** Doctor rules over the traffic spies and taps see: publishers without subscribers, topics that match nothing, requests without (timely) replies. */
import { isPublisher, isSubscriber } from '../zmq/socketTypes';
import type { ConnectionFacts } from './topologyFacts';
import { endpointKey } from '../zmq/endpointIdentity';
import { capitalize, Context, type Diagnostic, edge, ep, ms, nearMiss, peer, quoteTopics, rate, secs, who } from './doctorContext';

export function pubNoSubscriber(ctx: Context, out: Diagnostic[]): void {
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

export function subNoMatchingTopic(ctx: Context, out: Diagnostic[]): void {
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

export function reqNoReply(ctx: Context, out: Diagnostic[]): void {
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

export function requestLatencyHigh(ctx: Context, out: Diagnostic[]): void {
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
