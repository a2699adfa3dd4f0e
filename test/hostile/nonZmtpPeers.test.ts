/**
 * Peers that are not ZeroMQ sockets, or stop being ZMTP after the handshake:
 * an HTTP server, a server that accepts and never speaks, a partial greeting,
 * a greeting with no READY, endless garbage (some shaped like a signature),
 * and fuzzed ZMTP after a valid greeting, to the spy and through the tap.
 * Each gets a clear message within bounded time (the handshake timeout is
 * 5 s), the CLI keeps to its --timeout and exit code, memory stays bounded
 * (RSS limit below), and the tap relays every byte unchanged.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { parseJsonLines } from '../../src/core/capture/exportFormat';
import { Capture } from '../../src/core/capture/capture';
import { CapturedEvent } from '../../src/core/capture/records';
import { PubSpy, spyDetailsOf } from '../../src/core/sessions/spy';
import { CLI } from '../unit/helpers/cli';
import { freePort, killAllPython, PYTHON, runPython, until } from '../unit/helpers/peers';
import { command, greeting, message, ready } from '../unit/helpers/zmtpBytes';
import { cliWithin } from './helpers/hostileCli';

/** The spy CLI's resident memory may not pass this while it reads an endless stream (it keeps nothing of it). */
const RSS_LIMIT_BYTES = 200 * 1024 * 1024;

const servers: net.Server[] = [];
/** A TCP server on 127.0.0.1 that runs `onConnection` for each peer; closed after each test. */
async function server(onConnection: (c: net.Socket, n: number) => void): Promise<number> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
    c.on('error', () => undefined);
    onConnection(c, n++);
  });
  srv.on('close', () => sockets.forEach((c) => c.destroy()));
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  (srv as net.Server & { sockets?: Set<net.Socket> }).sockets = sockets;
  return (srv.address() as net.AddressInfo).port;
}

async function closeServers(): Promise<void> {
  for (const srv of servers.splice(0)) {
    (srv as net.Server & { sockets?: Set<net.Socket> }).sockets?.forEach((c) => c.destroy());
    await new Promise((r) => srv.close(r));
  }
}

/** Writes `chunk` over and over while the peer reads (an endless stream). */
function endless(c: net.Socket, chunk: Buffer): void {
  const pump = () => {
    while (!c.destroyed && c.write(chunk));
  };
  c.on('drain', pump);
  pump();
}

/** A deterministic byte stream per seed. */
function fuzz(seed: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function events(stdout: string): CapturedEvent[] {
  const { records, errors } = parseJsonLines(stdout);
  assert.deepEqual(errors, []);
  return records.filter((r): r is CapturedEvent => r.kind === 'event');
}

describe('hostile input: peers that are not ZMTP', function () {
  this.timeout(60000);
  afterEach(async () => {
    await closeServers();
    await killAllPython();
  });

  describe('the spy CLI says what the peer is within the handshake timeout, and keeps to --timeout', () => {
    it("a real HTTP server (Python's http.server, waiting for a request line)", async () => {
      const port = await freePort();
      const http = runPython('import http.server, sys\nprint("bound", flush=True)\nhttp.server.test(HandlerClass=http.server.SimpleHTTPRequestHandler, port=int(sys.argv[1]), bind="127.0.0.1")', [port]);
      await http.waitFor('bound');
      await until(() => /Serving HTTP/.test(http.stdout() + http.stderr()), 'http.server listening', 10000).catch(() => undefined);
      const r = await cliWithin(['spy', `tcp://127.0.0.1:${port}`, '--timeout', '8'], 30000);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`event handshake:error:timeout tcp://127\\.0\\.0\\.1:${port}: no ZMTP greeting from tcp://127\\.0\\.0\\.1:${port} in 5 s: is this a ZeroMQ socket\\?`));
    });

    it('a server that accepts and never speaks (--json: the event record)', async () => {
      const port = await server(() => undefined);
      const r = await cliWithin(['spy', `tcp://127.0.0.1:${port}`, '--timeout', '8', '--json'], 30000);
      assert.equal(r.code, 0, r.stderr);
      const e = events(r.stdout).find((x) => x.type === 'handshake:error:timeout');
      assert.ok(e, r.stdout);
      assert.equal(e.error, `no ZMTP greeting from tcp://127.0.0.1:${port} in 5 s: is this a ZeroMQ socket?`);
    });

    it('a partial greeting (the first 11 bytes, then silence)', async () => {
      const port = await server((c) => c.write(greeting().subarray(0, 11)));
      const r = await cliWithin(['spy', `tcp://127.0.0.1:${port}`, '--timeout', '8'], 30000);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /only 11 of the 64 bytes of a ZMTP greeting from tcp:\/\/127\.0\.0\.1:\d+ in 5 s: is this a ZeroMQ socket\?/);
    });

    it('a whole greeting and no READY', async () => {
      const port = await server((c) => c.write(greeting()));
      const r = await cliWithin(['spy', `tcp://127.0.0.1:${port}`, '--timeout', '8'], 30000);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /no READY from tcp:\/\/127\.0\.0\.1:\d+ in 5 s after its ZMTP 3\.1 NULL greeting/);
    });

    const streams: [string, Buffer, RegExp][] = [
      ['endless "Z"s', Buffer.alloc(64 * 1024, 'Z'), /not a ZMTP 3 publisher: not ZMTP: stream starts with 5a 5a 5a 5a 5a 5a 5a 5a \("ZZZZZZZZ"\)/],
      ['endless 0xff bytes', Buffer.alloc(64 * 1024, 0xff), /not ZMTP: no greeting signature \(stream starts with ff ff ff ff ff ff ff ff ff ff\)/],
      ['a signature, then endless "Z"s', Buffer.concat([Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f]), Buffer.alloc(64 * 1024, 'Z')]), /not ZMTP: version 90 in the greeting/],
    ];
    for (const [what, chunk, error] of streams) {
      it(`${what}: said at once, never "requires the ZZZZ… security mechanism"; RSS stays under ${RSS_LIMIT_BYTES / 1048576} MiB`, async () => {
        let first = true;
        const port = await server((c) => {
          if (first) endless(c, chunk);
          else c.end(chunk.subarray(0, 64)); // later attempts: the same start, then a close
          first = false;
        });
        const cli = spawn(process.execPath, [CLI, 'spy', `tcp://127.0.0.1:${port}`, '--timeout', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        cli.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
        let rss = 0;
        const sampler = setInterval(() => {
          try {
            const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${cli.pid}/status`, 'utf8'));
            if (kb) rss = Math.max(rss, Number(kb[1]) * 1024);
          } catch {
            /* ended */
          }
        }, 100);
        const code = await new Promise<number | null>((r) => cli.on('exit', r));
        clearInterval(sampler);
        assert.equal(code, 0);
        assert.match(out, error);
        assert.doesNotMatch(out, /security mechanism/);
        assert.ok(rss > 0 && rss < RSS_LIMIT_BYTES, `RSS peaked at ${rss} B`);
      });
    }
  });

  it('the tap CLI between a real pyzmq DEALER and a silent target: says so at 5 s, the bytes still relayed', async () => {
    let relayed = 0;
    const target = await server((c) => c.on('data', (d: Buffer) => (relayed += d.length)));
    const listen = await freePort();
    const tap = spawn(process.execPath, [CLI, 'tap', '--listen', `127.0.0.1:${listen}`, '--target', `127.0.0.1:${target}`, '--timeout', '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    tap.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    tap.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const tapExit = new Promise<number | null>((r) => tap.on('exit', r));
    await until(() => err.includes('tap listening'), 'the tap listening', 15000);
    runPython('import sys, time, zmq\ns = zmq.Context().socket(zmq.DEALER)\ns.connect("tcp://127.0.0.1:" + sys.argv[1])\ns.send(b"hi")\ntime.sleep(20)', [listen]);
    assert.equal(await tapExit, 0, err);
    assert.match(out, /connection open from 127\.0\.0\.1:\d+/);
    // libzmq's first bytes of its greeting (the signature, then it waits for the target's) reached the target
    assert.ok(relayed >= 10, `${relayed} B relayed`);
    assert.match(out, new RegExp(`connection undecodable from 127\\.0\\.0\\.1:\\d+: fromTarget: no ZMTP greeting from the target 127\\.0\\.0\\.1:${target} in 5 s: is this a ZeroMQ socket\\? \\(bytes still relayed\\)`));
  });

  it('the Sessions view shows it: the spy retries, its details hold the reason (the tooltip and description lines)', async () => {
    const port = await server(() => undefined);
    const capture = new Capture();
    const s = new PubSpy({ id: 'spy', endpoints: [`tcp://127.0.0.1:${port}`], capture, handshakeTimeoutMs: 300, reconnectInterval: 50, reconnectIntervalMax: 50 });
    try {
      await until(() => (spyDetailsOf(s)?.endpoints[0].retry?.attempts ?? 0) >= 3, '3 timed-out attempts', 20000);
      assert.equal(spyDetailsOf(s)!.endpoints[0].lastError, `no ZMTP greeting from tcp://127.0.0.1:${port} in 300 ms: is this a ZeroMQ socket?`);
      assert.equal(s.state, 'retrying');
      // once: later attempts with the same reason are counted in the retry run
      assert.equal(capture.peekSince(0).filter((r) => r.kind === 'event' && r.type === 'handshake:error:timeout').length, 1);
    } finally {
      await s.stop();
      capture.dispose();
    }
  });

  it('fuzzed ZMTP after a valid greeting and READY: a clear error or messages, never a crash, and the spy keeps to --timeout', async () => {
    const port = await server((c, n) => {
      c.write(Buffer.concat([greeting(), ready({ 'Socket-Type': 'PUB' }), message([Buffer.from('ok')]), fuzz(n, 4096)]));
      setTimeout(() => c.destroy(), 50);
    });
    const r = await cliWithin(['spy', `tcp://127.0.0.1:${port}`, '--timeout', '4', '--json'], 30000);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at |Error/);
    const evs = events(r.stdout);
    assert.ok(evs.filter((e) => e.type === 'connect').length >= 3, 'it reconnected after each');
    const undecodable = evs.filter((e) => e.type === 'handshake:error:protocol');
    assert.ok(undecodable.length >= 1, r.stdout.slice(0, 1000));
    for (const e of undecodable) assert.match(e.error!, /the publisher's stream became undecodable: |the publisher sent ERROR|a message before/);
  });

  it("through the tap: fuzzed ZMTP both ways after valid greetings; the relay stays byte-exact, the tap reports and goes on", async () => {
    // the target: a valid PUSH greeting and READY, then 256 KiB of fuzz; it hashes what it received
    let received = createHash('sha256');
    let receivedBytes = 0;
    const fromTarget = Buffer.concat([greeting(), ready({ 'Socket-Type': 'PUSH' }), message([Buffer.from('ok')]), fuzz(7, 256 * 1024)]);
    const target = await server((c) => {
      c.on('data', (d: Buffer) => {
        received.update(d);
        receivedBytes += d.length;
      });
      c.end(fromTarget);
    });
    const listen = await freePort();
    const tap = spawn(process.execPath, [CLI, 'tap', '--listen', `127.0.0.1:${listen}`, '--target', `127.0.0.1:${target}`, '--timeout', '8', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    tap.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    tap.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const tapExit = new Promise<number | null>((r) => tap.on('exit', r));
    await until(() => err.includes('tap listening'), 'the tap listening', 15000);
    // the client: a Python process (a peer of its own) sends a PULL greeting and fuzz, reads all, prints the hash of what it got
    const toTarget = Buffer.concat([greeting(), ready({ 'Socket-Type': 'PULL' }), command('PING', Buffer.from([0, 10])), fuzz(11, 128 * 1024)]);
    const client = spawn(PYTHON, ['-c', `
import hashlib, socket, sys
data = sys.stdin.buffer.read()
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(data)
s.shutdown(socket.SHUT_WR)
h = hashlib.sha256(); n = 0
while True:
    b = s.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)
`, String(listen)], { stdio: ['pipe', 'pipe', 'pipe'] });
    client.stdin.end(toTarget);
    let clientOut = '';
    client.stdout.setEncoding('utf8').on('data', (d: string) => (clientOut += d));
    await new Promise((r) => client.on('exit', r));
    const [n, hash] = clientOut.trim().split(' ');
    assert.equal(Number(n), fromTarget.length, 'every byte of the target reached the client');
    assert.equal(hash, createHash('sha256').update(fromTarget).digest('hex'));
    await until(() => receivedBytes >= toTarget.length, 'every byte of the client at the target', 10000);
    assert.equal(receivedBytes, toTarget.length);
    assert.equal(received.digest('hex'), createHash('sha256').update(toTarget).digest('hex'));
    received = createHash('sha256');
    assert.equal(await tapExit, 0, err);
    assert.doesNotMatch(err, /\n\s+at /);
    const { records, errors } = parseJsonLines(out);
    assert.deepEqual(errors, []);
    const undecodable = records.filter((r) => r.kind === 'connection' && r.state === 'undecodable');
    assert.ok(undecodable.length >= 1, out.slice(0, 2000));
    assert.ok(records.some((r) => r.kind === 'message'), 'the messages before the fuzz were decoded');
  });
});
