/**
 * The ZMTP-native spy against real peers: Debian's libzmq 4.3.4 (pyzmq, ZMTP
 * 3.1), zeromq.js's bundled libzmq 4.3.5 (a Node publisher), and a ZMTP 3.0
 * publisher emulated by a Python raw-socket server (no libzmq 4.1 at hand),
 * plus peers that are not publishers, that speak garbage or an older ZMTP.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Capture } from '../../src/core/capture/capture';
import { CapturedEvent, CapturedMessage } from '../../src/core/capture/records';
import { BEHIND_TEXT, PubSpy } from '../../src/core/sessions/spy';
import { freePort, killAllPython, runPython, until } from './helpers/peers';

const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const messages = (c: Capture) => [...c.records()].filter((r): r is CapturedMessage => r.kind === 'message');
const events = (c: Capture) => [...c.records()].filter((r): r is CapturedEvent => r.kind === 'event');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pyzmq XPUB (libzmq 4.3.4) that prints every subscription change and sends what the test asks for on stdin-less cues. */
const XPUB = `
import sys, time, zmq
port, mode = int(sys.argv[1]), sys.argv[2]
ctx = zmq.Context()
s = ctx.socket(zmq.XPUB)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.SNDHWM, 0)
if mode == 'heartbeat':
    s.setsockopt(zmq.HEARTBEAT_IVL, 100)
    s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 300)
    s.setsockopt(zmq.HEARTBEAT_TTL, 1000)
mon = s.get_monitor_socket()
s.bind('tcp://127.0.0.1:%d' % port)
print('bound', flush=True)
from zmq.utils.monitor import recv_monitor_message
names = {getattr(zmq, n): n for n in dir(zmq) if n.startswith('EVENT_')}
poller = zmq.Poller()
poller.register(s, zmq.POLLIN)
poller.register(mon, zmq.POLLIN)
n = 0
def drain():
    while True:
        ev = dict(poller.poll(0))
        if not ev: return
        if s in ev:
            m = s.recv()
            print('sub' if m[:1] == b'\\x01' else 'unsub', m[1:].hex() or '-', n, flush=True)
        if mon in ev:
            print('event', names.get(recv_monitor_message(mon)['event']), flush=True)
if mode in ('topics', 'heartbeat'):
    # numbered messages on topics a, b and a binary one, forever
    while True:
        drain()
        for t in (b'a', b'b', b'\\x00\\xff'):
            s.send_multipart([t, str(n).encode()])
        n += 1
        time.sleep(0.002)
elif mode == 'count':
    # after the first subscription: COUNT numbered messages, then 'done', then slowly on until killed
    count, run = int(sys.argv[3]), sys.argv[4]
    while True:
        m = s.recv()
        if m[:1] == b'\\x01': break
    for i in range(count):
        s.send_multipart([run.encode(), str(i).encode()])
    s.send_multipart([b'done', run.encode()])
    print('sent', flush=True)
    while True:
        drain()
        time.sleep(0.05)
elif mode == 'big':
    while True:
        m = s.recv()
        if m[:1] == b'\\x01': break
    big = bytes(range(256)) * (64 * 4096)
    for i in range(3):
        s.send_multipart([b'big', big])
    s.send_multipart([b'done'])
    print('sent', flush=True)
    time.sleep(60)
elif mode == 'blast':
    while True:
        m = s.recv()
        if m[:1] == b'\\x01': break
    end = time.time() + float(sys.argv[3])
    payload = b'x' * 16
    while time.time() < end:
        for _ in range(1000): s.send(payload)
    s.send(b'END')
    print('sent', flush=True)
    time.sleep(60)
`;

/** A ZMTP 3.0 PUB emulated over a raw socket: prints what the subscriber sends, publishes "t <n>" to matching subscriptions. */
const ZMTP30_PUB = `
import socket, struct, sys, time, select
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', int(sys.argv[1])))
srv.listen(1)
print('bound', flush=True)
c, _ = srv.accept()
g = bytearray(64); g[0] = 0xff; g[9] = 0x7f; g[10] = 3; g[11] = 0; g[12:16] = b'NULL'
c.sendall(bytes(g))
def readn(n):
    b = b''
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x: sys.exit(0)
        b += x
    return b
peer = readn(64)
print('peer greeting', peer[10], peer[11], flush=True)
def frame():
    flags = readn(1)[0]
    size = struct.unpack('>Q', readn(8))[0] if flags & 2 else readn(1)[0]
    return flags, readn(size)
def cmd(name, data): 
    body = bytes([len(name)]) + name + data
    return bytes([4, len(body)]) + body
ready = b'\\x0bSocket-Type' + struct.pack('>I', 3) + b'PUB'
c.sendall(cmd(b'READY', ready))
subs = set()
n = 0
c.setblocking(False)
buf = b''
while True:
    r, _, _ = select.select([c], [], [], 0.005)
    if r:
        x = c.recv(65536)
        if not x: break
        buf += x
        while len(buf) >= 2:
            flags = buf[0]
            hl = 9 if flags & 2 else 2
            if len(buf) < hl: break
            size = struct.unpack('>Q', buf[1:9])[0] if flags & 2 else buf[1]
            if len(buf) < hl + size: break
            body = buf[hl:hl + size]; buf = buf[hl + size:]
            if flags & 4:
                print('command', body[1:1 + body[0]].decode(), flush=True)
            elif body[:1] == b'\\x01':
                subs.add(body[1:]); print('message-sub', body[1:].hex() or '-', n, flush=True)
            elif body[:1] == b'\\x00':
                subs.discard(body[1:]); print('message-unsub', body[1:].hex() or '-', n, flush=True)
    for t in (b'a', b'b'):
        m = t + b' ' + str(n).encode()
        if any(m.startswith(s) for s in subs):
            c.sendall(bytes([0, len(m)]) + m)
    n += 1
`;

/** A zeromq.js (bundled libzmq 4.3.5) publisher in its own Node process. */
const ZEROMQJS_PUB = `
const zmq = require('zeromq');
(async () => {
  const pub = new zmq.Publisher({ linger: 0 });
  await pub.bind('tcp://127.0.0.1:' + process.argv[1]);
  console.log('bound', zmq.version);
  for (let n = 0; ; n++) {
    await pub.send(['js', String(n)]);
    await new Promise((r) => setTimeout(r, 2));
  }
})();
`;

describe('PubSpy, ZMTP-native path, against real peers', function () {
  this.timeout(30000);
  const spies: PubSpy[] = [];
  const procs: { kill(signal?: NodeJS.Signals): unknown }[] = [];
  afterEach(async () => {
    await Promise.all(spies.splice(0).map((s) => s.stop()));
    for (const p of procs.splice(0)) p.kill('SIGKILL');
    await killAllPython();
  });

  function spy(port: number, extra: Partial<ConstructorParameters<typeof PubSpy>[0]> = {}, capture = new Capture()) {
    const s = new PubSpy({ id: 'spy', endpoints: [`tcp://127.0.0.1:${port}`], capture, ...extra });
    spies.push(s);
    return { s, capture };
  }

  it('libzmq 4.3.4 (ZMTP 3.1): SUBSCRIBE commands, binary topic filters, unsubscribe', async () => {
    const port = await freePort();
    const pub = runPython(XPUB, [port, 'topics']);
    await pub.waitFor('bound');
    const { s, capture } = spy(port, { topics: [Buffer.from('a'), Buffer.from([0, 0xff])] });
    await until(() => new Set(messages(capture).map((m) => text(m.frames[0]))).size === 2 && messages(capture).length > 20, 'messages on a and 00ff');
    const d = s.details.endpoints[0];
    assert.equal(d.path, 'native');
    assert.equal(d.zmtpVersion, '3.1');
    assert.equal(d.peerSocketType, 'XPUB');
    // the XPUB saw both subscriptions (as libzmq reads them from a 3.1 peer)
    await pub.waitFor(/sub 61 /);
    await pub.waitFor(/sub 00ff /);
    assert.ok(messages(capture).every((m) => ['a', '\x00\xff'].includes(text(m.frames[0]))), 'only the subscribed topics, binary one included');
    assert.ok(messages(capture).every((m) => m.socketType === 'SUB' && m.peerSocketType === undefined && m.source === 'spy' && m.session === 'spy'), 'records as the zeromq.js spy made them');
    assert.ok(capture.session('spy')!.topics.has('a') && capture.session('spy')!.topics.has('0x00ff'), 'counted by topic on the wire path');

    s.unsubscribe(Buffer.from('a'));
    await pub.waitFor(/unsub 61 (\d+)/);
    const cancelledAt = Number(/unsub 61 (\d+)/.exec(pub.stdout())![1]);
    const before = messages(capture).length;
    await until(() => messages(capture).length > before + 30, 'more messages after the unsubscribe');
    const lateA = messages(capture).filter((m) => text(m.frames[0]) === 'a' && Number(text(m.frames[1])) > cancelledAt);
    assert.deepEqual(lateA.map((m) => text(m.frames[1])), [], 'no message on a after the publisher applied the CANCEL');
    assert.match(s.label, /\[hex:00ff\]$/, 'the label shows the subscriptions left');
  });

  it('zeromq.js (libzmq 4.3.5): receives from a Node publisher', async () => {
    const port = await freePort();
    const proc = spawn(process.execPath, ['-e', ZEROMQJS_PUB, String(port)], { cwd: join(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(proc);
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    await until(() => out.includes('bound'), 'the zeromq.js publisher');
    assert.match(out, /bound 4\.3\.5/);
    const { s, capture } = spy(port);
    await until(() => messages(capture).length >= 20, '20 messages');
    assert.equal(s.details.endpoints[0].path, 'native');
    assert.equal(s.details.endpoints[0].zmtpVersion, '3.1');
    const seqs = messages(capture).map((m) => Number(text(m.frames[1])));
    assert.ok(seqs.every((n, i) => i === 0 || n === seqs[i - 1] + 1), 'in order, none lost');
  });

  it('a ZMTP 3.0 publisher gets 0x01/0x00-prefixed subscription messages, not commands', async () => {
    const port = await freePort();
    const pub = runPython(ZMTP30_PUB, [port]);
    await pub.waitFor('bound');
    const { s, capture } = spy(port, { topics: [Buffer.from('a')] });
    await pub.waitFor(/message-sub 61/);
    assert.match(pub.stdout(), /peer greeting 3 1/, 'the spy announced 3.1');
    assert.match(pub.stdout(), /command READY/);
    assert.doesNotMatch(pub.stdout(), /command SUBSCRIBE/);
    await until(() => messages(capture).length >= 10, '10 messages');
    assert.equal(s.details.endpoints[0].zmtpVersion, '3.0');
    assert.equal(s.details.endpoints[0].peerSocketType, 'PUB');
    assert.ok(messages(capture).every((m) => text(m.frames[0]).startsWith('a ')));
    s.subscribe(Buffer.from('b'));
    await pub.waitFor(/message-sub 62/);
    await until(() => messages(capture).some((m) => text(m.frames[0]).startsWith('b ')), 'messages on b');
    s.unsubscribe(Buffer.from('a'));
    await pub.waitFor(/message-unsub 61 (\d+)/);
    const at = Number(/message-unsub 61 (\d+)/.exec(pub.stdout())![1]);
    const n = messages(capture).length;
    await until(() => messages(capture).length > n + 10, 'more messages');
    assert.deepEqual(messages(capture).filter((m) => text(m.frames[0]).startsWith('a ') && Number(text(m.frames[0]).slice(2)) > at).length, 0);
  });

  it('a publisher that restarts: reconnects, no duplicate, no loss after the resubscribe', async () => {
    const port = await freePort();
    const run1 = runPython(XPUB, [port, 'count', 500, 'run1']);
    await run1.waitFor('bound');
    const { s, capture } = spy(port, { reconnectInterval: 20, reconnectIntervalMax: 200 });
    await until(() => messages(capture).some((m) => text(m.frames[0]) === 'done'), 'run 1 done');
    await run1.kill();
    await until(() => events(capture).some((e) => e.type === 'disconnect'), 'the disconnect');
    const run2 = runPython(XPUB, [port, 'count', 2000, 'run2']);
    await run2.waitFor('sent', 15000);
    await until(() => messages(capture).filter((m) => text(m.frames[0]) === 'done').length === 2, 'run 2 done');
    for (const run of ['run1', 'run2']) {
      const seqs = messages(capture).filter((m) => text(m.frames[0]) === run).map((m) => Number(text(m.frames[1])));
      assert.deepEqual(seqs, [...Array(run === 'run1' ? 500 : 2000).keys()], `${run}: every message once, in order`);
    }
    assert.equal(s.state, 'receiving');
    const types = events(capture).map((e) => e.type);
    assert.ok(types.filter((t) => t === 'handshake').length === 2, `two handshakes: ${types}`);
  });

  it('64 MiB frames are captured truncated, with memory bounded', async () => {
    const port = await freePort();
    const pub = runPython(XPUB, [port, 'big']);
    await pub.waitFor('bound');
    const before = process.memoryUsage().arrayBuffers;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5);
    const { capture } = spy(port);
    try {
      await until(() => messages(capture).some((m) => text(m.frames[0]) === 'done'), 'three 64 MiB messages', 25000);
    } finally {
      clearInterval(timer);
    }
    const big = messages(capture).filter((m) => text(m.frames[0]) === 'big');
    assert.equal(big.length, 3);
    for (const m of big) {
      assert.equal(m.frames[1].byteLength, 4 * 1024 * 1024, 'cut to the 4 MiB default');
      assert.deepEqual(m.truncated, { 1: 64 * 1024 * 1024 });
      assert.ok(Buffer.from(m.frames[1]).equals(Buffer.from(new Uint8Array(4 * 1024 * 1024).map((_, i) => i % 256))), 'the kept part is exact');
    }
    const grown = peak - before;
    assert.ok(grown < 40 * 1024 * 1024, `array buffers grew by ${(grown / 1048576).toFixed(1)} MiB while three 64 MiB frames passed`);
  });

  it('a peer that is not a publisher: a clear handshake error, retries counted, no crash', async () => {
    const port = await freePort();
    await runPython(`
import sys, time, zmq
s = zmq.Context().socket(zmq.REP)
s.bind('tcp://127.0.0.1:%s' % sys.argv[1])
print('bound', flush=True)
time.sleep(60)
`, [port]).waitFor('bound');
    await sleep(200);
    const { s, capture } = spy(port, { reconnectInterval: 10, reconnectIntervalMax: 10 });
    await until(() => (s.details.endpoints[0].retry?.attempts ?? 0) >= 10, '10 refused attempts');
    const errors = events(capture).filter((e) => e.type.startsWith('handshake:error'));
    assert.equal(errors.length, 1, 'the refusal is recorded once');
    assert.match(errors[0].error!, /is a REP, not a PUB or XPUB/);
    assert.match(s.details.endpoints[0].lastError!, /is a REP/);
    assert.equal(events(capture).filter((e) => e.type === 'connect:retry').length, 1);
    assert.equal(s.state, 'retrying');
    assert.equal(messages(capture).length, 0);
  });

  it('a server that speaks garbage: a clear error, no crash', async () => {
    const port = await freePort();
    const srv = runPython(`
import socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', int(sys.argv[1]))); srv.listen(5)
print('bound', flush=True)
while True:
    c, _ = srv.accept()
    c.sendall(b'HTTP/1.1 400 Bad Request\\r\\nContent-Length: 0\\r\\n\\r\\n' + bytes(range(256)) * 4)
    c.close()
`, [port]);
    await srv.waitFor('bound');
    const { s, capture } = spy(port, { reconnectInterval: 10, reconnectIntervalMax: 20 });
    await until(() => (s.details.endpoints[0].retry?.attempts ?? 0) >= 5, '5 attempts');
    const errors = events(capture).filter((e) => e.type.startsWith('handshake:error'));
    assert.equal(errors.length, 1);
    assert.match(errors[0].error!, /not a ZMTP 3 publisher: not ZMTP: stream starts with 48 54 54 50/);
    assert.equal(messages(capture).length, 0);
  });

  it('a publisher that speaks ZMTP 2.0: falls back to the zeromq.js subscriber and says why', async () => {
    const port = await freePort();
    const srv = runPython(`
import socket, sys, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', int(sys.argv[1]))); srv.listen(5)
print('bound', flush=True)
conns = []
while True:
    c, _ = srv.accept()
    c.sendall(b'\\xff' + bytes(8) + b'\\x7f\\x01\\x01')  # ZMTP 2.0 signature, revision 1, PUB
    conns.append(c)
    print('accepted', len(conns), flush=True)
`, [port]);
    await srv.waitFor('bound');
    const { s } = spy(port);
    await until(() => s.details.endpoints[0].path === 'zeromq.js', 'the fallback');
    assert.match(s.details.endpoints[0].pathReason!, /ZMTP 2\.0/);
    await srv.waitFor('accepted 2', 5000); // the zeromq.js subscriber connected after the native one
  });

  it('ipc:// endpoints are served by the zeromq.js subscriber', async () => {
    const path = `/tmp/zmq-debug-spy-${process.pid}.ipc`;
    const pub = runPython(`
import sys, time, zmq
s = zmq.Context().socket(zmq.PUB)
s.bind('ipc://' + sys.argv[1])
print('bound', flush=True)
n = 0
while True:
    s.send_string('ipc %d' % n); n += 1; time.sleep(0.005)
`, [path]);
    await pub.waitFor('bound');
    const capture = new Capture();
    const s = new PubSpy({ id: 'spy', endpoints: [`ipc://${path}`], capture });
    spies.push(s);
    await until(() => messages(capture).length >= 5, 'messages over ipc');
    assert.equal(s.details.endpoints[0].path, 'zeromq.js');
    assert.match(s.details.endpoints[0].pathReason!, /ipc:\/\/ is not TCP/);
  });

  it('answers PINGs: a publisher with ZMQ_HEARTBEAT_IVL 100 ms / timeout 300 ms keeps it connected', async () => {
    const port = await freePort();
    const pub = runPython(XPUB, [port, 'heartbeat']);
    await pub.waitFor('bound');
    const { s, capture } = spy(port, { topics: [Buffer.from('b')] });
    await until(() => s.state === 'receiving', 'receiving');
    await pub.waitFor('event EVENT_HANDSHAKE_SUCCEEDED');
    const n = messages(capture).length;
    await sleep(2000);
    assert.doesNotMatch(pub.stdout(), /EVENT_DISCONNECTED/, 'the publisher never timed the spy out');
    assert.ok(messages(capture).length > n + 100, 'still receiving');
    assert.equal(events(capture).filter((e) => e.type === 'disconnect').length, 0);
  });

  it('says when it falls behind, with the backlog, and when it caught up', async function () {
    if (process.platform !== 'linux') this.skip();
    const port = await freePort();
    const pub = runPython(XPUB, [port, 'blast', 3]);
    await pub.waitFor('bound');
    // A capture that costs 5 µs per message while \`slow\` (as in a loaded extension host): the
    // spy can take 200,000 msg/s, less than the publisher sends. Millions of messages pass, so the
    // window evicts the events: they are watched as they are appended.
    let slow = true;
    const seen: CapturedEvent[] = [];
    const capture = new (class extends Capture {
      override append<R extends Parameters<Capture['append']>[0]>(r: R): R {
        if (r.kind === 'event') seen.push(r);
        return super.append(r);
      }
      override appendWire(...args: Parameters<Capture['appendWire']>): number {
        if (slow) {
          const end = performance.now() + args[3].count * 0.005;
          while (performance.now() < end);
        }
        return super.appendWire(...args);
      }
    })();
    const { s } = spy(port, {}, capture);
    await until(() => seen.some((e) => e.type === 'spy:behind'), 'a spy:behind record', 20000);
    slow = false;
    const behind = seen.find((e) => e.type === 'spy:behind')!;
    assert.equal(behind.error, BEHIND_TEXT);
    assert.ok(behind.backlog! > 64 * 1024, `backlog ${behind.backlog}`);
    assert.ok(s.details.behind && s.details.endpoints[0].behind, 'details say so');
    await until(() => seen.some((e) => e.type === 'spy:caught-up'), 'caught up', 20000);
    assert.equal(s.details.behind, undefined);
    assert.equal(seen.find((e) => e.type === 'spy:caught-up')!.since, behind.since);
  });
});

describe('a spy on a publisher that went away', function () {
  this.timeout(30000);
  afterEach(killAllPython);

  for (const native of [true, false]) {
    it(`${native ? 'native' : 'zeromq.js'} path: keeps what it captured, retries as one line with its count, backs off`, async () => {
      const port = await freePort();
      const pub = runPython(XPUB, [port, 'count', 300, 'before']);
      await pub.waitFor('bound');
      const capture = new Capture();
      const s = new PubSpy({ id: 'spy', endpoints: [`tcp://127.0.0.1:${port}`], capture, native, reconnectInterval: 5, reconnectIntervalMax: 5 });
      try {
        await until(() => messages(capture).some((m) => text(m.frames[0]) === 'done'), 'the 300 messages');
        await pub.kill();
        // 5 ms retries for 5 s: about a thousand attempts (the 60 s at 100 ms, faster)
        await sleep(5000);
        const d = s.details.endpoints[0];
        assert.ok(d.retry && d.retry.attempts > 50, `attempts: ${d.retry?.attempts}`);
        assert.equal(s.state, 'retrying');
        const seqs = messages(capture).filter((m) => text(m.frames[0]) === 'before').map((m) => Number(text(m.frames[1])));
        assert.deepEqual(seqs, [...Array(300).keys()], 'every message captured before is still there');
        const retries = events(capture).filter((e) => e.type === 'connect:retry');
        assert.equal(retries.length, 1, 'one line for the whole run of retries');
        assert.equal(retries[0].attempts, 1);
        const noise = events(capture).filter((e) => ['close', 'connect:delay'].includes(e.type));
        assert.deepEqual(noise, [], 'no close/connect:delay per attempt');
        assert.ok(events(capture).length < 10, `${events(capture).length} event records in all`);
        const attempts = s.details.retryAttempts;
        await s.stop();
        const summary = events(capture).filter((e) => e.type === 'connect:retried');
        assert.equal(summary.length, 1, 'a summary when the run ends');
        assert.ok(summary[0].attempts! >= attempts, `summary ${summary[0].attempts} ≥ live ${attempts}`);
        assert.equal(summary[0].since, retries[0].ts);
      } finally {
        await s.stop();
      }
    });
  }

  it('backs off like libzmq: intervals double up to the maximum', async () => {
    const port = await freePort();
    const capture = new Capture();
    const s = new PubSpy({ id: 'spy', endpoints: [`tcp://127.0.0.1:${port}`], capture, reconnectInterval: 10, reconnectIntervalMax: 160 });
    try {
      const seen: number[] = [];
      const sub = s.onDidChangeDetails(() => {
        const i = s.details.endpoints[0].retry?.interval;
        if (i !== undefined && seen[seen.length - 1] !== i) seen.push(i);
      });
      await sleep(1500);
      sub.dispose();
      assert.ok(seen.some((i) => i >= 160), `reached the maximum: ${seen}`);
      assert.ok(s.details.endpoints[0].retry!.attempts < 20, `backed off: ${s.details.endpoints[0].retry!.attempts} attempts in 1.5 s`);
    } finally {
      await s.stop();
    }
  });
});
