/** Doctor rules only the inside sees (zmq-debug agents): failures by errno, envelopes, joins, subscriptions, devices inside libzmq. */
import { isPublisher, isSubscriber } from '../zmq/socketTypes';
import type { TopologySnapshot } from './topologyFacts';
import { ADDR_IN_USE, type AgentSocket, ago, at, Context, type Diagnostic, ms, nearMiss, quoteTopics } from './doctorContext';

/** Rules over what agents inside programs reported: failures by errno, envelopes, joins, subscriptions. */
export function insideRules(ctx: Context, out: Diagnostic[]): void {
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
        unseenWhy(list[0].unseenBy),
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

/** Why a device's loop stayed libzmq's, by who ran it: pyzmq's functions have dots, libzmq's C functions (the native agent) underscores. */
function unseenWhy(unseenBy: string | undefined): string {
  if (unseenBy === 'zmq.proxy_steerable') return 'The agent sees the traffic of zmq.proxy, zmq.device, zmq.devices and monitored_queue; zmq.proxy_steerable keeps libzmq’s own loop.';
  if (unseenBy === 'zmq_proxy' || unseenBy === 'zmq_proxy_steerable')
    return 'The native agent runs zmq_proxy’s and zmq_proxy_steerable’s loop itself on libzmq 4.3; it keeps libzmq’s loop when ZMQ_DEBUG_AGENT_DEVICES=native is set, on another libzmq version, and for a steerable proxy with a control socket on libzmq 4.3.5 or later.';
  return 'ZMQ_DEBUG_AGENT_DEVICES=native is set: unset it to have the agent run the device’s loop where it sees each message.';
}
