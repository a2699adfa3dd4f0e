/** Doctor rules over connections: incompatible socket types, failed handshakes, connects retrying, a port bound twice. */
import { canTalk, compatiblePeers } from '../zmq/socketTypes';
import type { ConnectionFacts } from './topologyFacts';
import { endpointKey } from '../zmq/endpointIdentity';
import { ADDR_IN_USE, Context, type Diagnostic, edge, ep, peer, secs, who } from './doctorContext';

export function socketTypesAndHandshakes(ctx: Context, out: Diagnostic[]): void {
  const { incompatible, failedByEndpoint } = incompatibleTypes(ctx, out);
  for (const [key, list] of failedByEndpoint) if (!incompatible.has(key)) out.push(handshakeFailed(ctx, key, list));
  spyHandshakeErrors(ctx, out, failedByEndpoint);
}

/** Reports incompatible socket types; returns those endpoints and the connections whose handshake failed, by endpoint. */
function incompatibleTypes(ctx: Context, out: Diagnostic[]): { incompatible: Set<string>; failedByEndpoint: Map<string, ConnectionFacts[]> } {
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
  return { incompatible, failedByEndpoint };
}

/** The handshake-failed finding for the connections to `key` whose handshake failed: what went wrong, as far as the facts tell, and what to do. */
function handshakeFailed(ctx: Context, key: string, list: ConnectionFacts[]): Diagnostic {
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
  return {
    id: `handshake-failed:${key}`,
    rule: 'handshake-failed',
    severity: 'error',
    message: `The handshake with ${where} failed${list.length > 1 ? ` on ${list.length} connections` : ''}: ${what}; nothing passes. ${todo}`,
    endpoint: where,
    nodeIds: [ep(key), ...open.map(peer)],
    edgeIds: open.map(edge),
  };
}

/** Our own sockets' handshake events (spies), for endpoints the connections above did not already explain. */
function spyHandshakeErrors(ctx: Context, out: Diagnostic[], failedByEndpoint: Map<string, ConnectionFacts[]>): void {
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

export function connectRetrying(ctx: Context, out: Diagnostic[]): void {
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

export function portBoundTwice(ctx: Context, out: Diagnostic[]): void {
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
