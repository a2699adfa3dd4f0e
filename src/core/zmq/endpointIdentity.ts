/**
 * "Is this the same endpoint?": the one answer the topology, the agents' links,
 * discovery and the prober share.
 *
 * - tcp: every name of this machine is one host (`localhost`, `127.x`, `::1`,
 *   the wildcards `*`, `0.0.0.0` and `::`, the host name and the addresses of
 *   its interfaces): `tcp://localhost:5556` and `tcp://*:5556` are one key,
 *   `tcp://*:5556`. Other hosts are kept, lower-cased.
 * - ipc: a relative path is relative to the program's working directory, so
 *   with a `cwd` it is resolved; an abstract socket (`@name`) stays as it is.
 * - inproc: an address inside one process (one zmq context), so with a `pid`
 *   the key names the session and the process.
 *
 * Without a context (the topology of what is seen from outside), ipc paths and
 * inproc names are keyed as written.
 */
import { hostname, networkInterfaces } from 'node:os';
import * as path from 'node:path';
import { bracketHost, parseEndpoint } from './endpoint';

/** Where an endpoint string was written: the program (and its session) that bound or connected it. */
export interface EndpointContext {
  session?: string;
  pid?: number;
  /** The program's working directory (ipc:// paths are relative to it). */
  cwd?: string;
}

const LOOPBACK_AND_WILDCARD = ['localhost', '127.0.0.1', '::1', '0.0.0.0', '*', '::'];
let localHosts: Set<string> | undefined;

/** True for the names and addresses of this machine (a connect to one of them reaches a bind on `*`). */
export function isLocalHost(host: string): boolean {
  if (!localHosts) {
    localHosts = new Set(LOOPBACK_AND_WILDCARD);
    try {
      localHosts.add(hostname().toLowerCase());
      for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) localHosts.add(a.address.toLowerCase());
    } catch {
      // no interfaces known: loopback only
    }
  }
  const h = host.toLowerCase();
  return localHosts.has(h) || h.startsWith('127.');
}

/** Keys of context-free calls: the topology asks for every record, so each distinct string is parsed once. */
const keyCache = new Map<string, string>();
const KEY_CACHE_SIZE = 4096;

/**
 * The key two endpoints share exactly when they are the same endpoint (see
 * the file comment). An endpoint that does not parse is its own key (trimmed).
 */
export function endpointKey(endpoint: string, context?: EndpointContext): string {
  if (context) return computeKey(endpoint, context);
  let k = keyCache.get(endpoint);
  if (k === undefined) {
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.clear();
    k = computeKey(endpoint, undefined);
    keyCache.set(endpoint, k);
  }
  return k;
}

function computeKey(endpoint: string, context: EndpointContext | undefined): string {
  let ep;
  try {
    ep = parseEndpoint(endpoint);
  } catch {
    return endpoint.trim();
  }
  switch (ep.transport) {
    case 'tcp':
      return isLocalHost(ep.host) ? `tcp://*:${ep.port}` : `tcp://${bracketHost(ep.host.toLowerCase())}:${ep.port}`;
    case 'ipc': {
      const cwd = context?.cwd;
      // abstract sockets (@name) and absolute paths as they are; a relative path is the process's
      return cwd && !ep.path.startsWith('@') && !path.isAbsolute(ep.path) ? `ipc://${path.resolve(cwd, ep.path)}` : ep.text;
    }
    case 'inproc':
      return context?.pid !== undefined ? `inproc://${ep.name}@${context.session ?? ''}:${context.pid}` : ep.text;
  }
}

/** The port of a tcp endpoint; undefined for other transports and for what does not parse. */
export function endpointPort(endpoint: string): number | undefined {
  try {
    const ep = parseEndpoint(endpoint);
    return ep.transport === 'tcp' ? ep.port : undefined;
  } catch {
    return undefined;
  }
}
