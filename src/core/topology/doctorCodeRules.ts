/** Doctor rules over the endpoints found in the workspace's code: connects nobody binds, pairs that cannot talk. */
import { canTalk, compatiblePeers, normalizeSocketType } from '../zmq/socketTypes';
import type { CodeLocation } from './topologyFacts';
import { endpointKey } from '../zmq/endpointIdentity';
import { codeNode, Context, type Diagnostic, ep, loc, portKey, where } from './doctorContext';

export function codeRules(ctx: Context, out: Diagnostic[]): void {
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
