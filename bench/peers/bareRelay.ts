/**
 * The tap bench's ceiling in Node: the tap's own relay (reads into one reused
 * 256 KiB buffer per direction, each read written on at once, TCP_NODELAY,
 * pause on backpressure) with no ZMTP decoding and no capture. Whatever the tap
 * costs beyond this is the decoder's and the capture's; what this costs over a
 * direct connection is the extra hop's in Node. Bench-only code, not part of
 * the product.
 */
import * as net from 'node:net';

const READ_BYTES = 256 * 1024;

type OnRead = (n: number, buf: Buffer) => boolean;

/** A socket reading into a reused buffer (a new one when a pending write still holds it). */
function readingSocket(opts: net.SocketConstructorOpts, onRead: { fn: OnRead }, reads: { buf: Buffer }): net.Socket {
  return new net.Socket({ ...opts, allowHalfOpen: true, onread: { buffer: () => reads.buf, callback: (n: number, b: Uint8Array) => onRead.fn(n, b as Buffer) } } as net.SocketConstructorOpts);
}

function relay(a: net.Socket, b: net.Socket, onRead: { fn: OnRead }, reads: { buf: Buffer }): void {
  onRead.fn = (n, buf) => {
    const ok = b.write(buf.subarray(0, n));
    if (b.writableLength > 0) reads.buf = Buffer.allocUnsafeSlow(READ_BYTES);
    return ok;
  };
  b.on('drain', () => a.resume());
  a.on('end', () => b.end());
}

export async function startBareRelay(targetPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (accepted) => {
    const up = { buf: Buffer.allocUnsafeSlow(READ_BYTES) };
    const down = { buf: Buffer.allocUnsafeSlow(READ_BYTES) };
    const onClient = { fn: (() => true) as OnRead };
    const onTarget = { fn: (() => true) as OnRead };
    // net.Server has no onread: a new socket adopts the accepted handle (as ZmtpTap does)
    const handle = (accepted as unknown as { _handle: unknown })._handle;
    const client = readingSocket({ handle, readable: true, writable: true } as net.SocketConstructorOpts, onClient, up);
    client.pause();
    (accepted as unknown as { _handle: unknown })._handle = null;
    accepted.destroy();
    const target = readingSocket({}, onTarget, down);
    for (const s of [client, target]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    target.connect(targetPort, '127.0.0.1', () => {
      relay(client, target, onClient, up);
      relay(target, client, onTarget, down);
      client.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
