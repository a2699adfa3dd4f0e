/**
 * The composer's sender against independent pyzmq peers: PUSH → PULL, PUB → SUB
 * (both connect and bind), REQ → REP with the reply, DEALER and PAIR; clear
 * errors for bad frames, no peer and no reply; every socket closed on dispose.
 */
import * as assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { encodeFrames, Sender, SendError } from '../../src/core/zmq/sender';
import { freePort, killAllPython, runPython } from './helpers/peers';

/** A pyzmq socket of `kind` that binds (or connects, with argv[3] == 'connect'), prints "ready", then each message as hex frames. */
const PEER = `
import sys, zmq
kind, port, mode = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = zmq.Context()
s = ctx.socket(getattr(zmq, kind))
if kind == 'SUB':
    s.setsockopt(zmq.SUBSCRIBE, b'')
addr = 'tcp://127.0.0.1:' + port
(s.connect if mode == 'connect' else s.bind)(addr)
print('ready', flush=True)
while True:
    frames = s.recv_multipart()
    print('got ' + ' '.join(f.hex() or '-' for f in frames), flush=True)
    if kind in ('REP', 'ROUTER'):
        if frames[-1] == b'silent':
            continue
        s.send_multipart(frames[:-1] + [b'reply:' + frames[-1]])
    if kind == 'PAIR':
        s.send_multipart([b'pair-echo'])
`;

const hex = (s: string) => Buffer.from(s).toString('hex');

describe('Sender', function () {
  this.timeout(20000);
  let sender: Sender;

  beforeEach(() => {
    sender = new Sender(1500);
  });
  afterEach(async () => {
    sender.dispose();
    await killAllPython();
  });

  it('encodes frames from text, hex and JSON, naming the bad frame', () => {
    const frames = encodeFrames([
      { format: 'text', value: 'héllo' },
      { format: 'hex', value: '0x00 ff 10' },
      { format: 'json', value: ' { "a" : [1, 2] } ' },
      { format: 'hex', value: '' },
    ]);
    assert.deepEqual(frames.map((f) => f.toString('hex')), [Buffer.from('héllo').toString('hex'), '00ff10', hex('{"a":[1,2]}'), '']);
    assert.throws(() => encodeFrames([{ format: 'text', value: 'ok' }, { format: 'hex', value: 'abc' }]), /Frame 2: expected an even number of hex digits/);
    assert.throws(() => encodeFrames([{ format: 'json', value: '{oops' }]), (e: Error) => e instanceof SendError && /Frame 1: not valid JSON/.test(e.message));
  });

  it('PUSH (connect) reaches a pyzmq PULL; the socket is reused for the next send', async () => {
    const port = await freePort();
    const pull = runPython(PEER, ['PULL', port, 'bind']);
    await pull.waitFor('ready');
    const r = await sender.send({ socketType: 'PUSH', mode: 'connect', endpoint: `tcp://127.0.0.1:${port}`, frames: [Buffer.from('job'), Buffer.from([0, 1])] });
    assert.match(r.message, /^Sent 2 frames from PUSH/);
    await pull.waitFor(`got ${hex('job')} 0001`);
    await sender.send({ socketType: 'PUSH', mode: 'connect', endpoint: `tcp://127.0.0.1:${port}`, frames: [Buffer.from('second')] });
    await pull.waitFor(`got ${hex('second')}`);
    assert.equal(sender.openSockets, 1);
  });

  it('PUB (connect) reaches a pyzmq SUB that binds: it waits for the subscription instead of dropping the first message', async () => {
    const port = await freePort();
    const sub = runPython(PEER, ['SUB', port, 'bind']);
    await sub.waitFor('ready');
    const r = await sender.send({ socketType: 'PUB', mode: 'connect', endpoint: `tcp://127.0.0.1:${port}`, frames: [Buffer.from('10001'), Buffer.from('21 55')] });
    assert.match(r.message, /^Sent 2 frames from PUB/);
    await sub.waitFor(`got ${hex('10001')} ${hex('21 55')}`);
  });

  it('PUB (bind) reaches a pyzmq SUB that connects; with no subscriber it says the message was dropped', async () => {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    const lonely = await sender.send({ socketType: 'PUB', mode: 'bind', endpoint, frames: [Buffer.from('nobody')] });
    assert.match(lonely.message, /no subscriber was connected/);
    const sub = runPython(PEER, ['SUB', port, 'connect']);
    await sub.waitFor('ready');
    // the first send waits for the subscriber's handshake and subscription
    for (let i = 0; i < 20 && !sub.stdout().includes('got'); i++) {
      await sender.send({ socketType: 'PUB', mode: 'bind', endpoint, frames: [Buffer.from('hello')] });
      await new Promise((r) => setTimeout(r, 100));
    }
    await sub.waitFor(`got ${hex('hello')}`);
  });

  it('REQ gets the reply of a pyzmq REP; no reply gives a clear error and a fresh socket', async () => {
    const port = await freePort();
    const rep = runPython(PEER, ['REP', port, 'bind']);
    await rep.waitFor('ready');
    const endpoint = `tcp://127.0.0.1:${port}`;
    const r = await sender.send({ socketType: 'REQ', mode: 'connect', endpoint, frames: [Buffer.from('ping')] });
    assert.deepEqual(r.reply?.map(String), ['reply:ping']);
    assert.match(r.message, /reply of 1 frame/);
    await assert.rejects(sender.send({ socketType: 'REQ', mode: 'connect', endpoint, frames: [Buffer.from('silent')] }), /no reply came within 1\.5 s/);
    assert.equal(sender.openSockets, 0, 'the stuck REQ socket was closed');
    // pyzmq's REP still waits to send its reply for 'silent'; a fresh REP takes the next request
    await rep.kill();
    const port2 = await freePort();
    const rep2 = runPython(PEER, ['REP', port2, 'bind']);
    await rep2.waitFor('ready');
    const again = await sender.send({ socketType: 'REQ', mode: 'connect', endpoint: `tcp://127.0.0.1:${port2}`, frames: [Buffer.from('again')] });
    assert.deepEqual(again.reply?.map(String), ['reply:again']);
  });

  it('DEALER reaches a pyzmq ROUTER (identity prepended) and PAIR a pyzmq PAIR, each showing the reply; no reply is no error', async () => {
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const router = runPython(PEER, ['ROUTER', p1, 'bind']);
    const pair = runPython(PEER, ['PAIR', p2, 'bind']);
    const silentDealer = runPython(PEER, ['DEALER', p3, 'bind']);
    await Promise.all([router.waitFor('ready'), pair.waitFor('ready'), silentDealer.waitFor('ready')]);
    const dealer = await sender.send({ socketType: 'DEALER', mode: 'connect', endpoint: `tcp://127.0.0.1:${p1}`, frames: [Buffer.alloc(0), Buffer.from('work')] });
    await router.waitFor(new RegExp(`got [0-9a-f]+ - ${hex('work')}`));
    assert.deepEqual(dealer.reply?.map(String), ['', 'reply:work'], 'the ROUTER took its identity off again');
    assert.match(dealer.message, /reply of 2 frames/);
    const p = await sender.send({ socketType: 'PAIR', mode: 'connect', endpoint: `tcp://127.0.0.1:${p2}`, frames: [Buffer.from('pair')] });
    await pair.waitFor(`got ${hex('pair')}`);
    assert.deepEqual(p.reply?.map(String), ['pair-echo']);
    // a DEALER peer that never answers: delivered, nothing comes back, and that is said plainly
    const quiet = await sender.send({ socketType: 'DEALER', mode: 'connect', endpoint: `tcp://127.0.0.1:${p3}`, frames: [Buffer.from('one-way')] });
    await silentDealer.waitFor(`got ${hex('one-way')}`);
    assert.equal(quiet.reply, undefined);
    assert.match(quiet.message, /no reply within 1 s/);
  });

  it('DEALER: a reply that comes after the wait is not taken for the next one, and is counted', async () => {
    const port = await freePort();
    // a ROUTER that answers its first request after 1.5 s, the next at once
    const slow = runPython(
      `
import sys, time, zmq
s = zmq.Context().socket(zmq.ROUTER)
s.bind('tcp://127.0.0.1:' + sys.argv[1])
print('ready', flush=True)
first = True
while True:
    ident, body = s.recv_multipart()
    if first: time.sleep(1.5)
    first = False
    s.send_multipart([ident, b'answer:' + body])
`,
      [port],
    );
    await slow.waitFor('ready');
    const endpoint = `tcp://127.0.0.1:${port}`;
    const first = await sender.send({ socketType: 'DEALER', mode: 'connect', endpoint, frames: [Buffer.from('a')] });
    assert.match(first.message, /no reply within 1 s/);
    await new Promise((r) => setTimeout(r, 800)); // the late answer arrives meanwhile
    const second = await sender.send({ socketType: 'DEALER', mode: 'connect', endpoint, frames: [Buffer.from('b')] });
    assert.deepEqual(second.reply?.map(String), ['answer:b']);
    assert.match(second.message, /1 late reply to earlier sends skipped/);
  });

  it('reports a PUSH nobody takes, a bad endpoint and a busy port clearly; dispose closes every socket and frees the port', async () => {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    await assert.rejects(sender.send({ socketType: 'PUSH', mode: 'connect', endpoint, frames: [Buffer.from('x')] }), /No peer took the message within 1\.5 s: is anything listening on/);
    await assert.rejects(sender.send({ socketType: 'PUSH', mode: 'connect', endpoint: '127.0.0.1:5', frames: [Buffer.from('x')] }), /no transport; did you mean tcp:\/\/127\.0\.0\.1:5/);
    await assert.rejects(sender.send({ socketType: 'PUSH', mode: 'connect', endpoint, frames: [] }), /at least one frame/);
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const busyPort = (busy.address() as { port: number }).port;
    await assert.rejects(sender.send({ socketType: 'PAIR', mode: 'bind', endpoint: `tcp://127.0.0.1:${busyPort}`, frames: [Buffer.from('x')] }), /Cannot bind tcp:\/\/127\.0\.0\.1:\d+: .*in use/i);
    busy.close();
    const bindPort = await freePort();
    const pull = runPython(PEER, ['PULL', bindPort, 'connect']);
    await pull.waitFor('ready');
    await sender.send({ socketType: 'PUSH', mode: 'bind', endpoint: `tcp://127.0.0.1:${bindPort}`, frames: [Buffer.from('bound')] });
    await pull.waitFor(`got ${hex('bound')}`);
    assert.ok(sender.openSockets >= 1);
    sender.dispose();
    assert.equal(sender.openSockets, 0);
    await assert.rejects(sender.send({ socketType: 'PUSH', mode: 'bind', endpoint, frames: [Buffer.from('x')] }), /closed/);
    // the bound port is free again (libzmq closes the listener on its I/O thread, so allow it a moment)
    const listens = () =>
      new Promise<boolean>((resolve) => {
        const again = createServer();
        again.once('error', () => resolve(false));
        again.listen(bindPort, '127.0.0.1', () => again.close(() => resolve(true)));
      });
    const deadline = Date.now() + 3000;
    let free = await listens();
    while (!free && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      free = await listens();
    }
    assert.ok(free, `port ${bindPort} is still bound 3 s after dispose`);
  });
});
