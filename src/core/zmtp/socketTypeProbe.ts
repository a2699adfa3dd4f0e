/**
 * Asks a bound ZeroMQ socket for its type without joining it: connect, send a
 * ZMTP 3.0 NULL greeting, read the socket's greeting and READY (libzmq sends
 * its READY without waiting for ours), then hang up before sending READY. The
 * handshake never completes, so the socket never routes a message to us.
 *
 * Needed because libzmq rejects an incompatible peer as soon as it reads the
 * peer's READY, usually before sending its own: a tap between PUB and PULL
 * often sees only the connecting side's Socket-Type.
 */
import * as net from 'node:net';
import { connectAddressFor, parseHostPort } from '../zmq/endpoint';
import { ZmtpDecoder } from './decoder';
import { zmtpGreeting } from './greeting';

export interface ProbeResult {
  /** Socket-Type from the socket's READY (undefined when it did not send one). */
  socketType?: string;
  /** Security mechanism from its greeting. */
  mechanism?: string;
  version?: string;
  /** Why no answer came (refused, timeout, not ZMTP...). */
  error?: string;
}

/** Probes `endpoint` (tcp://host:port or host:port); resolves, never rejects. */
export function probeSocketType(endpoint: string, timeoutMs = 2000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let target: { host: string; port: number };
    try {
      // where a connect reaches it (a bind on `*`, `0.0.0.0` or `::` is reached on loopback), as every observer connects
      target = parseHostPort(endpoint.includes('://') ? connectAddressFor(endpoint) : endpoint);
    } catch (err) {
      resolve({ error: (err as Error).message });
      return;
    }
    const result: ProbeResult = {};
    let done = false;
    const socket = net.connect(target.port, target.host === '0.0.0.0' ? '127.0.0.1' : target.host);
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error && !result.socketType) result.error = error;
      resolve(result);
    };
    const timer = setTimeout(() => finish(`no READY within ${timeoutMs} ms`), timeoutMs);
    const decoder = new ZmtpDecoder({
      greeting(g) {
        result.mechanism = g.mechanism;
        result.version = g.version;
        // only a NULL socket sends READY to an unauthenticated peer
        if (g.mechanism !== 'NULL') finish(`the socket requires ${g.mechanism}`);
      },
      command(c) {
        if (c.name === 'READY') {
          for (const [k, v] of Object.entries(c.properties ?? {})) {
            if (k.toLowerCase() === 'socket-type') result.socketType = Buffer.from(v).toString('latin1');
          }
          finish();
        } else if (c.name === 'ERROR') finish(`ERROR ${c.detail ?? ''}`.trim());
      },
      message() {
        finish();
      },
      undecodable(reason) {
        finish(`not ZMTP 3: ${reason}`);
      },
    });
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(zmtpGreeting({ minor: 0 })));
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNREFUSED' ? 'connection refused' : err.message));
    socket.on('close', () => finish('closed before READY'));
  });
}
