import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { Capture } from '../../src/core/capture/capture';
import { recordToLine } from '../../src/core/capture/exportFormat';
import type { CaptureRecord, CapturedMessage, CommandRecord, ConnectionRecord, GreetingRecord } from '../../src/core/capture/records';
import { ZmtpTap, type ZmtpTapOptions } from '../../src/core/sessions/tap';
import { freePort, killAllPython, runPython, until } from './helpers/peers';
import * as z from './helpers/zmtpBytes';

/** Python side: the digest of a list of multipart messages, the same as `digest()` below. */
const PY_DIGEST = `
import hashlib, struct, random, json, sys, time, zmq
def digest(msgs):
    h = hashlib.sha256()
    for m in msgs:
        h.update(struct.pack('>I', len(m)))
        for f in m:
            h.update(struct.pack('>I', len(f)))
            h.update(f)
    return h.hexdigest()
def connect(s, port):
    # wait for the handshake: libzmq drops what is queued for a connection still
    # in its handshake when the process exits
    from zmq.utils.monitor import recv_monitor_message
    mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    s.connect('tcp://127.0.0.1:' + port)
    recv_monitor_message(mon)
def payloads(seed, n):
    r = random.Random(seed)
    out = []
    for i in range(n):
        nf = r.choice([1, 1, 2, 3])
        out.append([r.randbytes(r.choice([0, 1, 5, 16, 255, 256, 300, 4000])) for _ in range(nf)])
    return out
`;

function digest(msgs: Uint8Array[][]): string {
  const h = createHash('sha256');
  const n = Buffer.alloc(4);
  for (const m of msgs) {
    n.writeUInt32BE(m.length);
    h.update(n);
    for (const f of m) {
      n.writeUInt32BE(f.length);
      h.update(n);
      h.update(f);
    }
  }
  return h.digest('hex');
}

/** Python: a pyzmq socket `s` of `kind` bound to 127.0.0.1:argv[1] that prints "bound", then `body` (PY_DIGEST's helpers at hand). */
function boundPeer(kind: string, body: string): string {
  return `${PY_DIGEST}
ctx = zmq.Context()
s = ctx.socket(zmq.${kind})
s.bind('tcp://127.0.0.1:' + sys.argv[1])
print('bound')
${body}`;
}

describe('ZmtpTap', function () {
  this.timeout(30000);
  const taps: ZmtpTap[] = [];
  const captures: Capture[] = [];
  const sockets: (net.Socket | net.Server)[] = [];

  /**
   * A tap on `target` whose records land in `records`: by default through a real
   * Capture, as in the product (messages take the wire path into its store and
   * are read back from there), or handed to a plain function (`sink: 'function'`).
   */
  async function startTap(target: number, records: CaptureRecord[], extra: Partial<ZmtpTapOptions> = {}, sink: 'capture' | 'function' = 'capture'): Promise<ZmtpTap> {
    let tap: ZmtpTap;
    if (sink === 'function') tap = new ZmtpTap({ target: `127.0.0.1:${target}`, ...extra }, (r) => records.push(r));
    else {
      const capture = new Capture({ maxRecords: 1_000_000, maxBytes: 1024 ** 3 });
      captures.push(capture);
      // each record as the capture holds it (read back from its store), at once
      const sink: Pick<Capture, 'append' | 'appendWire'> = {
        append: (r) => {
          records.push(capture.get(capture.append(r).seq)!);
          return r;
        },
        appendWire: (...args) => {
          const before = capture.stats().lastSeq;
          const last = capture.appendWire(...args);
          for (let seq = before + 1; seq <= last; seq++) records.push(capture.get(seq)!);
          return last;
        },
      };
      tap = new ZmtpTap({ target: `127.0.0.1:${target}`, ...extra }, sink);
    }
    taps.push(tap);
    await tap.listen();
    return tap;
  }

  afterEach(async () => {
    await killAllPython();
    for (const s of sockets.splice(0)) {
      if (s instanceof net.Server) s.close();
      else s.destroy();
    }
    await Promise.all(taps.splice(0).map((t) => t.stop()));
    for (const c of captures.splice(0)) c.dispose();
  });

  const messages = (rs: CaptureRecord[], direction?: string, connection?: number) =>
    rs.filter((r): r is CapturedMessage => r.kind === 'message' && (!direction || r.direction === direction) && (connection === undefined || r.connection === connection));
  const commands = (rs: CaptureRecord[], name?: string) => rs.filter((r): r is CommandRecord => r.kind === 'command' && (!name || r.name === name));
  const connectionRecords = (rs: CaptureRecord[], state?: string) =>
    rs.filter((r): r is ConnectionRecord => r.kind === 'connection' && (!state || r.state === state));

  it('relays REQ/REP byte-exact (one client, two servers) and decodes greetings, READY and both directions', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const recs1: CaptureRecord[] = [];
    const recs2: CaptureRecord[] = [];
    const tap1 = await startTap(p1, recs1);
    const tap2 = await startTap(p2, recs2);
    const servers = runPython(
      PY_DIGEST +
        `
import zmq
ctx = zmq.Context()
socks = []
for p in sys.argv[1:3]:
    s = ctx.socket(zmq.REP); s.bind('tcp://127.0.0.1:' + p); socks.append(s)
print('bound')
got = {0: [], 1: []}
poller = zmq.Poller()
for s in socks: poller.register(s, zmq.POLLIN)
while len(got[0]) + len(got[1]) < 20:
    for s, _ in poller.poll(10000):
        i = socks.index(s)
        m = s.recv()
        got[i].append([m])
        s.send(b'rep%d:' % i + m)
print('server0', digest(got[0]), len(got[0]))
print('server1', digest(got[1]), len(got[1]))
`,
      [p1, p2],
    );
    await servers.waitFor('bound');
    const client = runPython(
      PY_DIGEST +
        `
import zmq
ctx = zmq.Context()
s = ctx.socket(zmq.REQ)
s.connect('tcp://127.0.0.1:' + sys.argv[1]); s.connect('tcp://127.0.0.1:' + sys.argv[2])
time.sleep(0.5)
r = random.Random(7)
sent = []
for i in range(20):
    m = r.randbytes(r.choice([0, 3, 100, 1000]))
    s.send(m); sent.append(m)
    rep = s.recv()
    assert rep[5:] == m and rep[:3] == b'rep', rep
print('client', digest([[m] for m in sent]))
`,
      [tap1.port, tap2.port],
    );
    await client.waitFor(/client \w{64}\n/);
    await servers.waitFor(/server1 \w{64} \d+\n/);
    const sent = /client (\w+)/.exec(client.stdout())![1];
    // byte-exact: each server received exactly what went through its tap
    for (const [i, recs] of [recs1, recs2].entries()) {
      const toTarget = messages(recs, 'toTarget');
      assert.ok(toTarget.length >= 5, `tap ${i + 1} saw ${toTarget.length} requests: REQ round-robins over both`);
      const serverDigest = new RegExp(`server${i} (\\w+) (\\d+)`).exec(servers.stdout())!;
      assert.equal(Number(serverDigest[2]), toTarget.length);
      assert.equal(digest(toTarget.map((m) => m.frames.slice(1))), serverDigest[1]);
      for (const m of toTarget) {
        assert.equal(m.frames[0].length, 0, 'REQ puts an empty delimiter first on the wire');
        assert.equal(m.envelopeFrames, 1);
        assert.equal(m.socketType, 'REQ');
        assert.equal(m.peerSocketType, 'REP');
        assert.equal(m.source, 'tap');
        assert.equal(m.endpoint, `tcp://127.0.0.1:${i === 0 ? p1 : p2}`);
      }
      const replies = messages(recs, 'fromTarget');
      assert.equal(replies.length, toTarget.length);
      assert.deepEqual([replies[0].socketType, replies[0].peerSocketType], ['REP', 'REQ'], 'sender → receiver');
      replies.forEach((r, k) => assert.deepEqual(Buffer.from(r.frames[1]), Buffer.concat([Buffer.from(`rep${i}:`), toTarget[k].frames[1]])));
      const greetings = recs.filter((r): r is GreetingRecord => r.kind === 'greeting');
      assert.deepEqual(
        greetings.map((g) => [g.direction, g.version, g.mechanism, g.asServer]).sort(),
        [
          ['fromTarget', '3.1', 'NULL', false],
          ['toTarget', '3.1', 'NULL', false],
        ],
      );
      const ready = commands(recs, 'READY');
      assert.equal(Buffer.from(ready.find((c) => c.direction === 'toTarget')!.properties!['Socket-Type']).toString(), 'REQ');
      assert.equal(Buffer.from(ready.find((c) => c.direction === 'fromTarget')!.properties!['Socket-Type']).toString(), 'REP');
      assert.equal(connectionRecords(recs, 'open').length, 1);
    }
    // the union, in request order, is what the client sent
    const all = [...messages(recs1, 'toTarget'), ...messages(recs2, 'toTarget')].sort((a, b) => a.ts - b.ts);
    assert.equal(all.length, 20);
    assert.equal(digest(interleave(messages(recs1, 'toTarget'), messages(recs2, 'toTarget')).map((m) => m.frames.slice(1))), sent);
    await killAllPython();
    await until(() => connectionRecords(recs1, 'closed').length === 1 && connectionRecords(recs2, 'closed').length === 1, 'closed records');
  });

  /** Round robin through one tap, checked byte-exact against what PUSH sent and each PULL got. */
  async function relaysRoundRobin(sink: 'capture' | 'function'): Promise<void> {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs, {}, sink);
    const pusher = runPython(
      PY_DIGEST +
        `
import zmq
from zmq.utils.monitor import recv_monitor_message
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
s.bind('tcp://127.0.0.1:' + sys.argv[1])
print('bound')
for i in range(2): recv_monitor_message(mon)
msgs = payloads(11, 200)
for m in msgs: s.send_multipart(m)
print('each', ','.join(digest([m])[:16] for m in msgs))
print('sent', digest(msgs))
s.close(linger=5000)
`,
      [port],
    );
    await pusher.waitFor('bound');
    const puller = `
import zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PULL)
s.connect('tcp://127.0.0.1:' + sys.argv[1])
got = []
s.RCVTIMEO = 1500
try:
    while True: got.append(s.recv_multipart())
except zmq.Again: pass
print('got', len(got), digest(got))
`;
    const a = runPython(PY_DIGEST + puller, [tap.port]);
    const b = runPython(PY_DIGEST + puller, [tap.port]);
    await pusher.waitFor(/sent \w{64}\n/);
    await Promise.all([a.waitFor(/got \d+ \w{64}\n/), b.waitFor(/got \d+ \w{64}\n/)]);
    const sent = /sent (\w+)/.exec(pusher.stdout())![1];
    const [c1, c2] = [...new Set(messages(recs, 'fromTarget').map((m) => m.connection))];
    assert.ok(c1 && c2, 'two connections');
    const byConn = [messages(recs, 'fromTarget', c1), messages(recs, 'fromTarget', c2)];
    assert.ok(Math.abs(byConn[0].length - byConn[1].length) <= 2, `round robin: ${byConn[0].length} vs ${byConn[1].length}`);
    assert.equal(byConn[0].length + byConn[1].length, 200);
    // each PULL got exactly what the tap saw on its connection, and together what PUSH sent
    const gots = [a, b].map((p) => /got (\d+) (\w+)/.exec(p.stdout())!);
    const capturedDigests = byConn.map((ms) => digest(ms.map((m) => m.frames)));
    assert.deepEqual(gots.map((g) => g[2]).sort(), [...capturedDigests].sort());
    // together, in the order PUSH sent them on each connection, they are what PUSH sent
    const each = /each (\S+)/.exec(pusher.stdout())![1].split(',');
    const per = byConn.map((ms) => ms.map((m) => digest([m.frames]).slice(0, 16)));
    assert.deepEqual([...per[0], ...per[1]].sort(), [...each].sort());
    for (const list of per) assert.ok(isSubsequence(list, each), 'per connection in send order');
    assert.ok(sent);
    for (const m of messages(recs)) {
      assert.equal(m.socketType, 'PUSH', 'the sender');
      assert.equal(m.peerSocketType, 'PULL', 'the receiver');
      assert.equal(m.truncated, undefined);
    }
    assert.equal(new Set(commands(recs, 'READY').map((c) => c.connection)).size, 2, 'two decoded connections (later ones are PULL reconnects after PUSH exited)');
  }

  for (const sink of ['capture', 'function'] as const) {
    it(`relays PUSH/PULL round robin over two connections of one tap, random binary multipart, byte-exact (records into a ${sink})`, () => relaysRoundRobin(sink));
  }

  it('relays 20 concurrent connections, each decoded on its own', async () => {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs);
    const pull = runPython(
      boundPeer('PULL', `
got = {}
for _ in range(20 * 30):
    k, v = s.recv_multipart()
    got.setdefault(k, []).append(int(v))
print('ok' if all(got[k] == list(range(30)) for k in got) and len(got) == 20 else 'bad %r' % got)
`),
      [port],
    );
    await pull.waitFor('bound');
    runPython(
      PY_DIGEST +
        `
socks = []
ctx = zmq.Context()
for i in range(20):
    s = ctx.socket(zmq.PUSH); connect(s, sys.argv[1]); socks.append(s)
for n in range(30):
    for i, s in enumerate(socks): s.send_multipart([b'p%d' % i, b'%d' % n])
time.sleep(10)
`,
      [tap.port],
    );
    await pull.waitFor(/ok|bad/);
    assert.match(pull.stdout(), /ok/);
    assert.equal(tap.connections.length, 20);
    assert.ok(tap.connections.every((c) => c.state === 'open' && c.clientSocketType === 'PUSH' && c.targetSocketType === 'PULL' && c.messagesToTarget === 30));
    for (let c = 1; c <= 20; c++) {
      const ms = messages(recs, 'toTarget', c);
      assert.equal(ms.length, 30);
      const key = Buffer.from(ms[0].frames[0]).toString();
      assert.deepEqual(
        ms.map((m) => `${Buffer.from(m.frames[0])} ${Buffer.from(m.frames[1])}`),
        Array.from({ length: 30 }, (_, n) => `${key} ${n}`),
      );
    }
  });

  it('relays DEALER/ROUTER with the identity from READY', async () => {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs);
    const router = runPython(
      boundPeer('ROUTER', `
while True:
    m = s.recv_multipart()
    s.send_multipart(m + [b'echo'])
`),
      [port],
    );
    await router.waitFor('bound');
    const dealer = runPython(
      PY_DIGEST +
        `
import zmq
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.setsockopt(zmq.IDENTITY, b'dealer-1')
s.connect('tcp://127.0.0.1:' + sys.argv[1])
msgs = payloads(3, 30)
back = []
for m in msgs:
    s.send_multipart(m)
    r = s.recv_multipart()
    assert r == m + [b'echo']
    back.append(r)
print('ok', digest(msgs), digest(back))
`,
      [tap.port],
    );
    await dealer.waitFor(/ok \w{64} \w{64}\n/);
    const [, sentDigest, backDigest] = /ok (\w+) (\w+)/.exec(dealer.stdout())!;
    assert.equal(digest(messages(recs, 'toTarget').map((m) => m.frames)), sentDigest);
    assert.equal(digest(messages(recs, 'fromTarget').map((m) => m.frames)), backDigest);
    const m = messages(recs, 'toTarget')[0];
    assert.equal(Buffer.from(m.identity!).toString(), 'dealer-1');
    assert.equal(m.socketType, 'DEALER');
    assert.equal(m.peerSocketType, 'ROUTER');
    const back = messages(recs, 'fromTarget')[0];
    assert.deepEqual([back.socketType, back.peerSocketType, back.identity], ['ROUTER', 'DEALER', undefined]);
    assert.equal(m.envelopeFrames, undefined);
  });

  it('relays PAIR both ways byte-exact', async () => {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs);
    const server = runPython(
      boundPeer('PAIR', `
got = [s.recv_multipart() for _ in range(50)]
mine = payloads(5, 50)
for m in mine: s.send_multipart(m)
print('server', digest(got), digest(mine))
time.sleep(1)
`),
      [port],
    );
    await server.waitFor('bound');
    const client = runPython(
      PY_DIGEST +
        `
import zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PAIR)
s.connect('tcp://127.0.0.1:' + sys.argv[1])
mine = payloads(6, 50)
for m in mine: s.send_multipart(m)
got = [s.recv_multipart() for _ in range(50)]
print('client', digest(mine), digest(got))
`,
      [tap.port],
    );
    await client.waitFor(/client \w{64} \w{64}\n/);
    await server.waitFor(/server \w{64} \w{64}\n/);
    const [, serverGot, serverSent] = /server (\w+) (\w+)/.exec(server.stdout())!;
    const [, clientSent, clientGot] = /client (\w+) (\w+)/.exec(client.stdout())!;
    assert.equal(serverGot, clientSent);
    assert.equal(clientGot, serverSent);
    assert.equal(digest(messages(recs, 'toTarget').map((m) => m.frames)), clientSent);
    assert.equal(digest(messages(recs, 'fromTarget').map((m) => m.frames)), serverSent);
    assert.equal(messages(recs)[0].socketType, 'PAIR');
  });

  it('decodes 3.1 SUBSCRIBE and CANCEL commands of a SUB', async () => {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs);
    const pub = runPython(
      boundPeer('PUB', `
i = 0
while True:
    s.send_multipart([b'A', b'%d' % i]); s.send_multipart([b'\\x00\\xffbin', b'x']); i += 1
    time.sleep(0.005)
`),
      [port],
    );
    await pub.waitFor('bound');
    const sub = runPython(
      `
import zmq, sys, time
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
s.connect('tcp://127.0.0.1:' + sys.argv[1])
s.subscribe(b'A'); s.subscribe(b'\\x00\\xffbin')
seen = set()
while len(seen) < 2:
    seen.add(s.recv_multipart()[0])
print('got both')
s.unsubscribe(b'A')
time.sleep(0.5)
print('done')
`,
      [tap.port],
    );
    await sub.waitFor('done');
    const subs = commands(recs, 'SUBSCRIBE');
    assert.deepEqual(subs.map((c) => Buffer.from(c.topic!).toString('latin1')).sort(), ['A', '\x00\xffbin'].sort());
    for (const c of subs) {
      assert.equal(c.direction, 'toTarget');
      assert.equal(c.detail, undefined, '3.1 command form');
    }
    const cancels = commands(recs, 'CANCEL');
    assert.deepEqual(cancels.map((c) => Buffer.from(c.topic!).toString()), ['A']);
    assert.ok(messages(recs, 'fromTarget').length >= 2);
    assert.equal(messages(recs, 'toTarget').length, 0, 'subscriptions are not messages');
    const json = JSON.parse(recordToLine(cancels[0]));
    assert.equal(json.topic, Buffer.from('A').toString('base64'));
  });

  it('decodes 3.0-style subscription messages (0x01/0x00) from a ZMTP 3.0 SUB as SUBSCRIBE/CANCEL', async () => {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs);
    const pub = runPython(
      boundPeer('PUB', `
while True:
    s.send(b'Ahello'); s.send(b'Bnope'); time.sleep(0.01)
`),
      [port],
    );
    await pub.waitFor('bound');
    // a hand-made ZMTP 3.0 SUB: libzmq answers 3.0 peers with the 3.0 rules
    const raw = net.connect(tap.port, '127.0.0.1');
    sockets.push(raw);
    let fromPub = Buffer.alloc(0);
    raw.on('data', (d) => (fromPub = Buffer.concat([fromPub, d])));
    // like a real peer, wait for the other side's greeting before going on (libzmq stalls
    // when the whole handshake arrives in its first read)
    raw.write(z.greeting({ minor: 0 }));
    await until(() => fromPub.length >= 64, "the PUB's greeting");
    raw.write(Buffer.concat([z.ready({ 'Socket-Type': 'SUB' }), z.message([Buffer.from('\x01A')])]));
    await until(() => fromPub.includes('Ahello'), 'PUB delivering the subscribed topic');
    raw.write(z.message([Buffer.from('\x00A')]));
    await until(() => commands(recs, 'CANCEL').length === 1, 'the CANCEL');
    const sub = commands(recs, 'SUBSCRIBE');
    assert.equal(sub.length, 1);
    assert.equal(Buffer.from(sub[0].topic!).toString(), 'A');
    assert.match(sub[0].detail!, /3\.0 message form/);
    assert.equal(Buffer.from(commands(recs, 'CANCEL')[0].topic!).toString(), 'A');
    assert.equal(messages(recs, 'toTarget').length, 0);
    assert.ok(!fromPub.includes('Bnope'), 'the PUB filtered by our subscription');
    assert.ok(recs.some((r) => r.kind === 'greeting' && r.direction === 'toTarget' && r.version === '3.0'));
  });

  it('decodes PLAIN (pyzmq ThreadAuthenticator): user name shown, password stored nowhere', async () => {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs);
    const PASSWORD = 'S3cr3t-pw-9f1c';
    const server = runPython(
      `
import zmq, sys
from zmq.auth.thread import ThreadAuthenticator
ctx = zmq.Context()
auth = ThreadAuthenticator(ctx); auth.start()
auth.allow('127.0.0.1')
auth.configure_plain(domain='*', passwords={'alice': sys.argv[2]})
s = ctx.socket(zmq.REP)
s.plain_server = True
s.bind('tcp://127.0.0.1:' + sys.argv[1])
print('bound')
while True:
    s.send(b'hi ' + s.recv())
`,
      [port, PASSWORD],
    );
    await server.waitFor('bound');
    const client = runPython(
      `
import zmq, sys
ctx = zmq.Context()
s = ctx.socket(zmq.REQ)
s.plain_username = b'alice'; s.plain_password = sys.argv[2].encode()
s.connect('tcp://127.0.0.1:' + sys.argv[1])
for i in range(3):
    s.send(b'req%d' % i); print(s.recv())
print('done')
`,
      [tap.port, PASSWORD],
    );
    await client.waitFor('done');
    assert.ok(recs.filter((r) => r.kind === 'greeting').every((g) => (g as GreetingRecord).mechanism === 'PLAIN'));
    const hello = commands(recs, 'HELLO');
    assert.equal(hello.length, 1);
    assert.match(hello[0].detail!, /user "alice", password \*\*\*/);
    assert.deepEqual(
      commands(recs).map((c) => `${c.direction} ${c.name}`),
      ['toTarget HELLO', 'fromTarget WELCOME', 'toTarget INITIATE', 'fromTarget READY'],
    );
    assert.equal(Buffer.from(commands(recs, 'INITIATE')[0].properties!['Socket-Type']).toString(), 'REQ');
    assert.equal(messages(recs, 'toTarget')[0].socketType, 'REQ');
    assert.equal(messages(recs, 'toTarget')[0].peerSocketType, 'REP');
    assert.equal(Buffer.from(messages(recs, 'fromTarget')[2].frames[1]).toString(), 'hi req2');
    // not in any record, its JSON, nor any byte store a record points into
    // (not Buffer.from: a pooled copy of the password made by the test itself would be found)
    const pw = Uint8Array.from(PASSWORD, (c) => c.charCodeAt(0));
    for (const r of recs) {
      assert.ok(!recordToLine(r).includes(PASSWORD) && !recordToLine(r).includes(btoa(PASSWORD).slice(0, 12)));
      for (const b of bytesOf(r)) assert.equal(Buffer.from(b.buffer).indexOf(pw), -1, `password bytes behind a ${r.kind} record`);
    }
  });

  it('shows the CURVE handshake and counts encrypted messages with their sizes', async () => {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs);
    const server = runPython(
      `
import zmq, sys
ctx = zmq.Context()
pub, sec = zmq.curve_keypair()
s = ctx.socket(zmq.REP)
s.curve_server = True; s.curve_secretkey = sec; s.curve_publickey = pub
s.bind('tcp://127.0.0.1:' + sys.argv[1])
print('key', pub.decode())
while True:
    s.send(b'r' * 50 + s.recv())
`,
      [port],
    );
    await server.waitFor(/key \S{40}/);
    const serverKey = /key (\S{40})/.exec(server.stdout())![1];
    const client = runPython(
      `
import zmq, sys
ctx = zmq.Context()
pub, sec = zmq.curve_keypair()
s = ctx.socket(zmq.REQ)
s.curve_serverkey = sys.argv[2].encode(); s.curve_publickey = pub; s.curve_secretkey = sec
s.connect('tcp://127.0.0.1:' + sys.argv[1])
for n in (10, 1000, 100000):
    s.send(b'q' * n); assert s.recv() == b'r' * 50 + b'q' * n
print('done')
`,
      [tap.port, serverKey],
    );
    await client.waitFor('done');
    assert.deepEqual(
      commands(recs).map((c) => `${c.direction} ${c.name}`),
      ['toTarget HELLO', 'fromTarget WELCOME', 'toTarget INITIATE', 'fromTarget READY'],
    );
    for (const c of commands(recs)) {
      assert.equal(c.properties, undefined, 'CURVE metadata is encrypted');
      assert.ok(c.detail);
    }
    assert.match(commands(recs, 'HELLO')[0].detail!, /client transient key 32 B/);
    const enc = messages(recs);
    assert.ok(enc.length >= 6);
    for (const m of enc) {
      assert.equal(m.encrypted, true);
      assert.ok(m.frames.every((f) => f.length === 0), 'no ciphertext kept');
    }
    // REQ/REP messages are [empty delimiter, body]; libzmq puts the MORE flag inside the
    // box, so each encrypted frame is a record of its own, with its plaintext size
    const sizes = (dir: string) => enc.filter((m) => m.direction === dir).map((m) => (assert.equal(m.frames.length, 1), m.truncated?.[0] ?? 0));
    assert.deepEqual(sizes('toTarget'), [0, 10, 0, 1000, 0, 100000]);
    assert.deepEqual(sizes('fromTarget'), [0, 60, 0, 1050, 0, 100050]);
    const keyB64 = Buffer.from(serverKey).toString('base64');
    for (const r of recs) assert.ok(!recordToLine(r).includes(keyB64));
  });

  it('says so when a close cuts a message in flight (relayed in part, not captured)', async () => {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs);
    const target = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
      s.resume(); // read (and drop) what arrives, so the FIN is seen and the socket closes, as libzmq's would
      s.write(Buffer.concat([z.greeting(), z.ready({ 'Socket-Type': 'PULL' })]));
    });
    sockets.push(target);
    await new Promise<void>((r) => target.listen(port, '127.0.0.1', r));
    const client = net.connect(tap.port, '127.0.0.1');
    sockets.push(client);
    client.on('error', () => {});
    const msg = z.message([Buffer.from('whole first frame'), Buffer.alloc(1000, 1)]);
    client.write(Buffer.concat([z.greeting(), z.ready({ 'Socket-Type': 'PUSH' }), z.message([Buffer.from('complete')]), msg.subarray(0, msg.length - 10)]));
    await until(() => recs.some((r) => r.kind === 'message'), 'the complete message');
    await new Promise((r) => setTimeout(r, 100));
    client.destroy();
    await until(() => connectionRecords(recs, 'closed').length === 1, 'the closed record');
    assert.match(connectionRecords(recs, 'closed')[0].reason ?? '', /a message in flight toTarget was cut off by the close and not captured/);
    assert.equal(recs.filter((r) => r.kind === 'message').length, 1, 'the cut message is not made up');
  });

  it('marks a garbage connection undecodable and keeps relaying, without disturbing a good one', async () => {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs);
    const target = net.createServer((s) => {
      sockets.push(s);
      let got = Buffer.alloc(0);
      s.on('data', (d) => {
        got = Buffer.concat([got, d]);
        if (got.length === garbage.length) s.end(Buffer.concat([Buffer.from('echo:'), createHash('sha256').update(got).digest()]));
      });
    });
    // a raw target for the garbage stream, the pyzmq PULL for the good one: two taps would hide
    // interference, so both go through one tap to one python PULL... except garbage would make
    // libzmq close early. Use the raw server for byte-exactness and a second tap check below.
    sockets.push(target);
    await new Promise<void>((r) => target.listen(port, '127.0.0.1', r));
    const garbage = Buffer.concat([Buffer.from('GET / HTTP/1.1\r\n\r\n'), randomBytes(200_000)]);
    const raw = net.connect(tap.port, '127.0.0.1');
    sockets.push(raw);
    let back = Buffer.alloc(0);
    raw.on('data', (d) => (back = Buffer.concat([back, d])));
    raw.write(garbage);
    await until(() => back.length === 5 + 32, 'the echo of the garbage');
    assert.deepEqual(back.subarray(5), createHash('sha256').update(garbage).digest());
    const und = connectionRecords(recs, 'undecodable');
    assert.equal(und.length, 2, 'both directions are not ZMTP');
    assert.match(und.find((r) => r.reason!.startsWith('toTarget'))!.reason!, /not ZMTP: stream starts with 47 45 54 20/);
  });

  it('keeps a good connection decoding while a garbage one shares the tap to a pyzmq PULL', async () => {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs);
    const pull = runPython(
      boundPeer('PULL', `
got = [s.recv_multipart() for _ in range(100)]
print('got', digest(got))
`),
      [port],
    );
    await pull.waitFor('bound');
    const bad = net.connect(tap.port, '127.0.0.1');
    sockets.push(bad);
    bad.on('error', () => {});
    bad.write(Buffer.concat([Buffer.from([0xff, 1, 2, 3, 4, 5, 6, 7, 8, 0x7f, 3, 1]), randomBytes(5000)]));
    const push = runPython(
      PY_DIGEST +
        `
import zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
connect(s, sys.argv[1])
msgs = payloads(21, 100)
for m in msgs: s.send_multipart(m)
print('sent', digest(msgs))
time.sleep(10)
`,
      [tap.port],
    );
    await push.waitFor(/sent \w{64}\n/);
    await pull.waitFor(/got \w{64}\n/).catch((e) => {
      console.log(recs.map((r) => recordToLine(r).slice(0, 200)).join('\n'), tap.connections);
      throw e;
    });
    const sent = /sent (\w+)/.exec(push.stdout())![1];
    assert.equal(/got (\w+)/.exec(pull.stdout())?.[1], sent, pull.stdout());
    const good = messages(recs, 'toTarget');
    assert.equal(digest(good.map((m) => m.frames)), sent);
    const und = connectionRecords(recs, 'undecodable');
    assert.ok(und.length >= 1);
    assert.ok(und.every((r) => r.connection !== good[0].connection));
    assert.match(und[0].reason!, /toTarget: not ZMTP: bad mechanism/);
  });

  it('relays a ZMTP 2.0 peer undecoded ("not decoded: version 2.0") and keeps relaying', async () => {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs);
    const pull = runPython(
      boundPeer('PULL', `
print('got', s.recv())
`),
      [port],
    );
    await pull.waitFor('bound');
    const raw = net.connect(tap.port, '127.0.0.1');
    sockets.push(raw);
    let back = Buffer.alloc(0);
    raw.on('data', (d) => (back = Buffer.concat([back, d])));
    // ZMTP 2.0: signature, revision 1, socket type PUSH (8), empty identity frame, then a message frame
    raw.write(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 1, 8, 0, 0]));
    raw.write(Buffer.concat([Buffer.from([0, 7]), Buffer.from('zmtp2.0')]));
    await pull.waitFor("got b'zmtp2.0'");
    await until(() => back.length >= 10, 'the greeting of libzmq relayed back');
    assert.equal(back[0], 0xff);
    const und = connectionRecords(recs, 'undecodable');
    assert.ok(und.some((r) => r.reason === 'toTarget: not decoded: version 2.0'), JSON.stringify(und));
    assert.equal(messages(recs).length, 0);
  });

  it('applies backpressure to a fast sender when the receiver is slow, then delivers every byte', async () => {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    let targetSocket: net.Socket | undefined;
    const received: Buffer[] = [];
    const target = net.createServer((s) => {
      targetSocket = s;
      sockets.push(s);
      s.pause(); // a receiver that does not read
      s.on('data', (d) => received.push(d));
    });
    sockets.push(target);
    await new Promise<void>((r) => target.listen(port, '127.0.0.1', r));
    const tap = await startTap(port, recs, { maxCapturedFrameBytes: 100 });
    const frameBody = randomBytes(1024 * 1024);
    const stream = Buffer.concat([z.greeting(), z.ready({ 'Socket-Type': 'PUSH' }), ...Array.from({ length: 64 }, () => z.message([frameBody]))]);
    const client = net.connect(tap.port, '127.0.0.1');
    sockets.push(client);
    await new Promise<void>((r) => client.once('connect', () => r()));
    client.write(stream);
    await until(() => targetSocket !== undefined, 'target accepted');
    await new Promise((r) => setTimeout(r, 1500));
    const info = tap.connections[0];
    assert.ok(info.bufferedBytes < 1024 * 1024, `tap holds ${info.bufferedBytes} B`);
    assert.ok(client.writableLength > 24 * 1024 * 1024, `sender held back: ${client.writableLength} B still queued at the sender`);
    assert.ok(info.bytesToTarget < 40 * 1024 * 1024, `relayed so far ${info.bytesToTarget}`);
    targetSocket!.resume();
    await until(() => received.reduce((n, b) => n + b.length, 0) === stream.length, 'every byte at the target');
    assert.ok(Buffer.concat(received).equals(stream), 'byte-exact');
    const ms = messages(recs);
    assert.equal(ms.length, 64);
    for (const m of ms) {
      assert.equal(m.frames[0].length, 100);
      assert.deepEqual(m.truncated, { 0: 1024 * 1024 });
      assert.ok(Buffer.from(m.frames[0]).equals(frameBody.subarray(0, 100)));
    }
  });

  it('truncates a huge frame in the capture but relays it whole (pyzmq PAIR, 8 MiB)', async () => {
    const port = await freePort();
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs, { maxCapturedFrameBytes: 1024 });
    const server = runPython(
      boundPeer('PAIR', `
m = s.recv_multipart()
print('got', [len(f) for f in m], hashlib.sha256(m[1]).hexdigest())
`),
      [port],
    );
    await server.waitFor('bound');
    const client = runPython(
      PY_DIGEST +
        `
import zmq, hashlib
ctx = zmq.Context()
s = ctx.socket(zmq.PAIR)
connect(s, sys.argv[1])
big = random.Random(1).randbytes(8 * 1024 * 1024)
s.send_multipart([b'head', big])
print('sent', hashlib.sha256(big).hexdigest(), big[:1024].hex())
time.sleep(10)
`,
      [tap.port],
    );
    await client.waitFor(/sent \w{64} \w{2048}\n/);
    await server.waitFor(/got \[.*\] \w{64}\n/);
    const [, sentHash, head] = /sent (\w+) (\w+)/.exec(client.stdout())!;
    assert.match(server.stdout(), new RegExp(`got \\[4, ${8 * 1024 * 1024}\\] ${sentHash}`));
    await until(() => messages(recs).length === 1, 'the captured message');
    const m = messages(recs)[0];
    assert.equal(Buffer.from(m.frames[0]).toString(), 'head');
    assert.equal(Buffer.from(m.frames[1]).toString('hex'), head);
    assert.deepEqual(m.truncated, { 1: 8 * 1024 * 1024 });
  });

  it('rejects with "port N in use" when the listening port is taken', async () => {
    const busy = net.createServer();
    sockets.push(busy);
    const port = await freePort();
    await new Promise<void>((r) => busy.listen(port, '127.0.0.1', r));
    const tap = new ZmtpTap({ target: '127.0.0.1:1', listen: `127.0.0.1:${port}` }, () => {});
    taps.push(tap);
    await assert.rejects(tap.listen(), { message: `port ${port} in use` });
    assert.equal(tap.state, 'error');
    assert.equal(tap.error, `port ${port} in use`);
  });

  it('closes the client with a reason when the target refuses', async () => {
    const recs: CaptureRecord[] = [];
    const dead = await freePort();
    const tap = await startTap(dead, recs);
    const client = net.connect(tap.port, '127.0.0.1');
    sockets.push(client);
    await new Promise((r) => client.on('close', r));
    const closed = connectionRecords(recs, 'closed');
    assert.equal(closed.length, 1);
    assert.equal(closed[0].reason, `target 127.0.0.1:${dead} refused the connection`);
    assert.equal(tap.connections.length, 0);
  });

  it('dispose closes the listening port and every relayed connection', async () => {
    const port = await freePort();
    const target = net.createServer((s) => sockets.push(s));
    sockets.push(target);
    await new Promise<void>((r) => target.listen(port, '127.0.0.1', r));
    const recs: CaptureRecord[] = [];
    const tap = await startTap(port, recs);
    const changes: string[] = [];
    tap.onDidChangeState((s) => changes.push(s));
    const clients = [net.connect(tap.port, '127.0.0.1'), net.connect(tap.port, '127.0.0.1')];
    sockets.push(...clients);
    const closed = clients.map((c) => new Promise((r) => c.on('close', r)));
    await until(() => tap.connections.filter((c) => c.state === 'open').length === 2, 'two open relays');
    assert.equal(tap.state, 'receiving');
    const tapPort = tap.port;
    tap.dispose();
    await Promise.all(closed);
    assert.deepEqual(
      connectionRecords(recs, 'closed').map((r) => r.reason),
      ['tap stopped', 'tap stopped'],
    );
    assert.equal(tap.state, 'stopped');
    assert.deepEqual(changes, ['receiving', 'stopped']);
    const probe = net.connect(tapPort, '127.0.0.1');
    sockets.push(probe);
    await assert.rejects(new Promise((resolve, reject) => probe.on('connect', resolve).on('error', reject)), { code: 'ECONNREFUSED' });
  });
});

/** Merges two per-connection lists by capture time (REQ alternates, PUSH round-robins). */
function interleave(a: CapturedMessage[], b: CapturedMessage[]): CapturedMessage[] {
  return [...a.map((m, i) => ({ m, k: i * 2 + (a[0].ts <= (b[0]?.ts ?? Infinity) ? 0 : 1) })), ...b.map((m, i) => ({ m, k: i * 2 + (a[0].ts <= (b[0]?.ts ?? Infinity) ? 1 : 0) }))]
    .sort((x, y) => x.k - y.k)
    .map((x) => x.m);
}

function isSubsequence(sub: string[], of: string[]): boolean {
  let i = 0;
  for (const x of of) if (i < sub.length && sub[i] === x) i++;
  return i === sub.length;
}

/** Every byte array a record holds. */
function bytesOf(r: CaptureRecord): Uint8Array[] {
  switch (r.kind) {
    case 'message':
      return [...r.frames, ...(r.identity ? [r.identity] : [])];
    case 'command':
      return [...(r.topic ? [r.topic] : []), ...Object.values(r.properties ?? {})];
    default:
      return [];
  }
}
