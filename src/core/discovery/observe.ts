/** How a debugger observes an endpoint found in code: where it connects, and with which tool. */
import { connectAddressFor } from '../zmq/endpoint';
import type { DiscoveredEndpoint } from './discoveredEndpoint';

/**
 * Where a debugger connects to observe `endpoint`: bind forms and `localhost`
 * become 127.0.0.1, so a binder and its connectors share one address. Undefined
 * for invalid endpoints and inproc://.
 */
export function observableAddress(endpoint: string): string | undefined {
  try {
    return connectAddressFor(endpoint).replace(/^tcp:\/\/localhost:/, 'tcp://127.0.0.1:');
  } catch {
    return undefined;
  }
}

export type ObserveAction = 'spy' | 'monitor' | 'tap';

/**
 * How to observe what a bind/connect line carries: a spy for PUB/XPUB (and for
 * SUB/XSUB, whose peer is a publisher), the monitor spy for a monitored queue's
 * monitor PUB (or a SUB connected to one, when `monitorAddresses` lists its
 * address), a tap for every other pattern and when the type is unknown.
 * Undefined when it cannot be observed from another process (inproc://).
 */
export function observeActionFor(hit: Pick<DiscoveredEndpoint, 'endpoint' | 'address' | 'socketType' | 'monitor'>, monitorAddresses: ReadonlySet<string> = new Set()): ObserveAction | undefined {
  const address = hit.address ?? observableAddress(hit.endpoint);
  if (!address) return undefined;
  if (hit.monitor || (monitorAddresses.has(address) && (hit.socketType === 'SUB' || hit.socketType === 'XSUB' || hit.socketType === 'PUB'))) return 'monitor';
  switch (hit.socketType) {
    case 'PUB':
    case 'XPUB':
    case 'SUB':
    case 'XSUB':
      return 'spy';
    default:
      // a tap relays TCP only
      return address.startsWith('tcp://') ? 'tap' : undefined;
  }
}
