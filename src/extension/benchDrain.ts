/**
 * Bench only (bench/hostSpy.ts, the `spy_in_host_ceiling_*` keys): the best
 * possible reader inside this extension host. Started only when the extension
 * host's environment has ZMQ_DEBUG_BENCH_DRAIN (set by the bench when it starts
 * code-server; never by a setting or a command): a plain TCP connection that
 * does the ZMTP 3.1 NULL handshake as a SUB, subscribes to everything and then
 * only counts the bytes it reads into one reused buffer (no decode, no
 * capture, no view) — bench/peers/drain_sub.py, in this process. What it gets
 * of a flooding publisher, while code-server and Chromium share the machine
 * as they do for the spy, is the most any reader in this host could get.
 *
 *   ZMQ_DEBUG_BENCH_DRAIN=<port>     the publisher on 127.0.0.1
 *   ZMQ_DEBUG_BENCH_DRAIN_GO=<file>  connect once this file exists (polled)
 *   ZMQ_DEBUG_BENCH_DRAIN_OUT=<file> "bytes N" written after 1.5 s of silence
 */
import { existsSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';

const SILENCE_MS = 1500;

/** Starts the bench's drain when the environment asks for it; returns its stop (or nothing). */
export function startBenchDrain(env: NodeJS.ProcessEnv = process.env): (() => void) | undefined {
  const port = Number(env.ZMQ_DEBUG_BENCH_DRAIN);
  const go = env.ZMQ_DEBUG_BENCH_DRAIN_GO;
  const out = env.ZMQ_DEBUG_BENCH_DRAIN_OUT;
  if (!port || !go || !out) return undefined;
  let socket: net.Socket | undefined;
  const poll = setInterval(() => {
    if (!existsSync(go)) return;
    clearInterval(poll);
    socket = drain(port, (bytes) => writeFileSync(out, `bytes ${bytes}\n`));
  }, 50);
  return () => {
    clearInterval(poll);
    socket?.destroy();
  };
}

/** Connects, handshakes, counts what follows the peer's READY; `done(bytes)` after SILENCE_MS without data (also bench/peers/nodeDrain.ts). */
export function drain(port: number, done: (bytes: number) => void): net.Socket {
  const buffer = Buffer.allocUnsafe(4 << 20);
  let head = Buffer.alloc(0);
  let handshaken = false;
  let bytes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.destroy();
    done(bytes);
  };
  const socket = net.connect({
    host: '127.0.0.1',
    port,
    onread: {
      buffer,
      callback: (n: number) => {
        if (handshaken) bytes += n;
        else {
          // the peer's greeting (64 bytes) and its short READY command (2 + size bytes)
          head = Buffer.concat([head, buffer.subarray(0, n)]);
          if (head.length < 66 || head.length < 66 + head[65]) return true;
          handshaken = true;
          bytes = head.length - (66 + head[65]);
          const ready = Buffer.concat([Buffer.from('\x05READY\x0bSocket-Type', 'latin1'), Buffer.from([0, 0, 0, 3]), Buffer.from('SUB')]);
          // our READY, then a subscription to everything (a 1-byte message 0x01)
          socket.write(Buffer.concat([Buffer.from([0x04, ready.length]), ready, Buffer.from([0x00, 0x01, 0x01])]));
        }
        if (handshaken) {
          clearTimeout(timer);
          timer = setTimeout(finish, SILENCE_MS);
        }
        return true;
      },
    },
  });
  socket.on('connect', () => socket.write(Buffer.concat([Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1]), Buffer.from('NULL'.padEnd(20, '\0'), 'latin1'), Buffer.alloc(32)])));
  // a publisher gone (or never there) ends the count too
  socket.on('error', finish);
  socket.on('close', finish);
  return socket;
}
