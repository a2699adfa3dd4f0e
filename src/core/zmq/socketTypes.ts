/**
 * ZeroMQ socket types and which pairs may talk (23/ZMTP "socket type
 * compatibility", plus the draft types libzmq accepts). The one table the
 * doctor, the topology model and the tap share.
 */

export const SOCKET_TYPES = [
  'PAIR',
  'PUB',
  'SUB',
  'REQ',
  'REP',
  'DEALER',
  'ROUTER',
  'PULL',
  'PUSH',
  'XPUB',
  'XSUB',
  'STREAM',
  'SERVER',
  'CLIENT',
  'RADIO',
  'DISH',
  'GATHER',
  'SCATTER',
  'PEER',
  'CHANNEL',
] as const;
export type SocketType = (typeof SOCKET_TYPES)[number];

const PEERS: Record<string, readonly string[]> = {
  PAIR: ['PAIR'],
  PUB: ['SUB', 'XSUB'],
  XPUB: ['SUB', 'XSUB'],
  SUB: ['PUB', 'XPUB'],
  XSUB: ['PUB', 'XPUB'],
  REQ: ['REP', 'ROUTER'],
  REP: ['REQ', 'DEALER'],
  DEALER: ['REP', 'DEALER', 'ROUTER'],
  ROUTER: ['REQ', 'DEALER', 'ROUTER'],
  PULL: ['PUSH'],
  PUSH: ['PULL'],
  SERVER: ['CLIENT'],
  CLIENT: ['SERVER'],
  RADIO: ['DISH'],
  DISH: ['RADIO'],
  GATHER: ['SCATTER'],
  SCATTER: ['GATHER'],
  PEER: ['PEER'],
  CHANNEL: ['CHANNEL'],
};

/**
 * Other spellings of the socket types, upper-cased: zeromq.js and NetMQ class
 * names (Publisher, Request), pyzmq's legacy names (XREP, XREQ) and the 2.x
 * names (UPSTREAM, DOWNSTREAM). The one alias table of the project.
 */
const SOCKET_TYPE_ALIASES: Record<string, string> = {
  PUBLISHER: 'PUB',
  SUBSCRIBER: 'SUB',
  XPUBLISHER: 'XPUB',
  XSUBSCRIBER: 'XSUB',
  REQUEST: 'REQ',
  REPLY: 'REP',
  RESPONSE: 'REP',
  PUSHER: 'PUSH',
  PULLER: 'PULL',
  PAIRSOCKET: 'PAIR',
  XREP: 'ROUTER',
  XREQ: 'DEALER',
  UPSTREAM: 'PULL',
  DOWNSTREAM: 'PUSH',
};

/** Upper-cases and maps zeromq.js / pyzmq spellings (Publisher, zmq.PUB, Request) to the ZMTP name. */
export function normalizeSocketType(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const n = name.trim().replace(/^zmq\./i, '').replace(/^ZMQ_/i, '').toUpperCase();
  const t = SOCKET_TYPE_ALIASES[n] ?? n;
  return t || undefined;
}

/** The ZMTP name of a known socket type under any spelling; undefined for anything else. */
export function knownSocketType(name: string | undefined): SocketType | undefined {
  const t = normalizeSocketType(name);
  return isKnownSocketType(t) ? (t as SocketType) : undefined;
}

export function isKnownSocketType(t: string | undefined): boolean {
  return !!t && (SOCKET_TYPES as readonly string[]).includes(t);
}

/**
 * True when ZeroMQ lets sockets of types `a` and `b` connect; undefined when
 * one of them is unknown (not decided).
 */
export function canTalk(a: string | undefined, b: string | undefined): boolean | undefined {
  const x = normalizeSocketType(a);
  const y = normalizeSocketType(b);
  if (!x || !y || !PEERS[x] || !PEERS[y]) return undefined;
  return PEERS[x].includes(y);
}

/** The socket types `t` may talk to (empty for an unknown type). */
export function compatiblePeers(t: string | undefined): readonly string[] {
  const x = normalizeSocketType(t);
  return (x && PEERS[x]) || [];
}

/** Which way messages flow between a socket of type `a` and one of type `b`. */
export function flowBetween(a: string | undefined, b: string | undefined): 'aToB' | 'bToA' | 'both' | 'unknown' {
  const x = normalizeSocketType(a);
  const y = normalizeSocketType(b);
  const sends = (t: string | undefined) => t !== undefined && !['SUB', 'XSUB', 'PULL', 'DISH', 'GATHER'].includes(t);
  const receives = (t: string | undefined) => t !== undefined && !['PUB', 'PUSH', 'RADIO', 'SCATTER'].includes(t);
  // XSUB sends subscriptions, not messages; XPUB receives subscriptions only
  if (!x && !y) return 'unknown';
  if (x && y) {
    const ab = sends(x) && receives(y);
    const ba = sends(y) && receives(x);
    if (ab && ba) return 'both';
    if (ab) return 'aToB';
    if (ba) return 'bToA';
    return 'unknown';
  }
  const known = (x ?? y)!;
  const knownSendsOnly = !receives(known);
  const knownReceivesOnly = !sends(known);
  if (knownSendsOnly) return x ? 'aToB' : 'bToA';
  if (knownReceivesOnly) return x ? 'bToA' : 'aToB';
  return 'both';
}

export function isPublisher(t: string | undefined): boolean {
  return t === 'PUB' || t === 'XPUB';
}

export function isSubscriber(t: string | undefined): boolean {
  return t === 'SUB' || t === 'XSUB';
}
