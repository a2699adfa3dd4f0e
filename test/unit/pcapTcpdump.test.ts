/**
 * Real captures: pyzmq REQ/REP and PUB/SUB pairs (Debian's python3-zmq)
 * captured on `lo` by tcpdump (Ethernet, Linux cooked SLL and SLL2) and tshark
 * (pcapng), over IPv4 and IPv6, read back with every message byte-exact, in
 * order, both directions, as the peers themselves sent and received them.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CapturedMessage, CaptureRecord, CommandRecord } from '../../src/core/capture/records';
import { recordFromJson } from '../../src/core/capture/exportFormat';
import { readCaptureFile } from '../../src/core/pcap/captureFileReader';
import { runCli } from './helpers/cli';
import { killAllPython } from './helpers/peers';
import { captureOnLo, killCaptureTools } from './helpers/tcpdump';

const PAIRS = String.raw`
import json, os, sys, time, zmq
host, go = sys.argv[1], sys.argv[2]
ctx = zmq.Context()
def sock(t):
    s = ctx.socket(t)
    s.setsockopt(zmq.IPV6, 1)
    s.setsockopt(zmq.LINGER, 2000)
    return s
addr = 'tcp://[%s]' % host if ':' in host else 'tcp://%s' % host
rep = sock(zmq.REP); p1 = rep.bind_to_random_port(addr)
pub = sock(zmq.PUB); p2 = pub.bind_to_random_port(addr)
print(json.dumps({'ports': [p1, p2]}), flush=True)
while not os.path.exists(go): time.sleep(0.02)
req = sock(zmq.REQ); req.connect('%s:%d' % (addr, p1))
sub = sock(zmq.SUB); sub.connect('%s:%d' % (addr, p2)); sub.setsockopt(zmq.SUBSCRIBE, b'weather')
requests = [[b'hello %d' % i, bytes(range(256)) * (i + 1)] for i in range(5)] + [[b'big', os.urandom(200000)]]
replies = []
for r in requests:
    req.send_multipart(r)
    m = rep.recv_multipart()
    assert m == r
    rep.send_multipart([b'ok', m[0], os.urandom(1000)])
    replies.append(req.recv_multipart())
# publish until the subscription has reached the PUB (earlier messages are dropped by the PUB, never sent)
received = []
while True:
    pub.send_multipart([b'weather', b'sync'])
    if sub.poll(50):
        received.append(sub.recv_multipart())
        break
for i in range(20):
    pub.send_multipart([b'weather', os.urandom(i * 37), b'%d' % i])
    pub.send_multipart([b'sports', b'not subscribed'])
while not (received and received[-1][-1:] == [b'19']):
    if not sub.poll(5000): raise SystemExit('sub got no more: %r' % received[-1:])
    received.append(sub.recv_multipart())
for s in (req, sub, rep, pub): s.close()
ctx.term()
hx = lambda ms: [[f.hex() for f in m] for m in ms]
print(json.dumps({'requests': hx(requests), 'replies': hx(replies), 'received': hx(received), 'done': True}), flush=True)
`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcap-tcpdump-'));
afterEach(async () => {
  killCaptureTools();
  await killAllPython();
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Expected {
  ports: [number, number];
  requests: Buffer[][];
  replies: Buffer[][];
  received: Buffer[][];
}

const unhex = (ms: string[][]) => ms.map((m) => m.map((f) => Buffer.from(f, 'hex')));

/** Runs the pairs on `host` while `tool` captures on lo into `file`; returns what the peers sent and received. */
async function capture(tool: 'tcpdump' | 'tshark', toolArgs: string[], host: string, file: string): Promise<Expected> {
  const { ports, result } = await captureOnLo(tool, toolArgs, PAIRS, [host], file);
  const hexes = (k: string) => unhex(result[k] as string[][]);
  return { ports: ports as [number, number], requests: hexes('requests'), replies: hexes('replies'), received: hexes('received') };
}

async function readAll(file: string): Promise<CaptureRecord[]> {
  const records: CaptureRecord[] = [];
  // the 200 kB frame whole (64 KiB are kept per frame by default, as the tap does)
  await readCaptureFile(file, (rs) => void records.push(...rs), { maxCapturedFrameBytes: 1 << 20 });
  return records;
}

const frames = (ms: CapturedMessage[]) => ms.map((m) => m.frames.map((f) => Buffer.from(f)));

/** Checks the records of both pairs against what the peers sent and received. */
function checkPairs(records: CaptureRecord[], e: Expected, host: string): void {
  const bracketed = host.includes(':') ? `[${host}]` : host;
  const reqEndpoint = `tcp://${bracketed}:${e.ports[0]}`;
  const pubEndpoint = `tcp://${bracketed}:${e.ports[1]}`;
  const msgs = (endpoint: string, direction: string) => records.filter((r): r is CapturedMessage => r.kind === 'message' && r.endpoint === endpoint && r.direction === direction);
  // REQ puts an empty delimiter before each request, REP before each reply
  assert.deepEqual(frames(msgs(reqEndpoint, 'toTarget')), e.requests.map((m) => [Buffer.alloc(0), ...m]), 'requests');
  assert.deepEqual(frames(msgs(reqEndpoint, 'fromTarget')), e.replies.map((m) => [Buffer.alloc(0), ...m]), 'replies');
  assert.deepEqual(frames(msgs(pubEndpoint, 'fromTarget')), e.received, 'published messages');
  assert.deepEqual(msgs(pubEndpoint, 'toTarget'), []);
  const first = msgs(reqEndpoint, 'toTarget')[0];
  assert.deepEqual([first.socketType, first.peerSocketType, first.envelopeFrames], ['REQ', 'REP', 1]);
  const sub = records.find((r): r is CommandRecord => r.kind === 'command' && r.name === 'SUBSCRIBE')!;
  assert.equal(Buffer.from(sub.topic!).toString(), 'weather');
  assert.equal(sub.endpoint, pubEndpoint);
  const ready = records.filter((r): r is CommandRecord => r.kind === 'command' && r.name === 'READY').map((r) => `${r.endpoint} ${r.direction} ${Buffer.from(r.properties!['Socket-Type']).toString()}`);
  assert.deepEqual(ready.sort(), [`${pubEndpoint} fromTarget PUB`, `${pubEndpoint} toTarget SUB`, `${reqEndpoint} fromTarget REP`, `${reqEndpoint} toTarget REQ`].sort());
  for (const ep of [reqEndpoint, pubEndpoint]) {
    const states = records.filter((r) => r.kind === 'connection' && r.endpoint === ep).map((r) => (r.kind === 'connection' ? r.state : ''));
    assert.deepEqual(states, ['open', 'closed'], ep);
  }
}

describe('pcap reading: real tcpdump and tshark captures of pyzmq peers on lo', function () {
  this.timeout(90000);

  it('tcpdump -i lo -w (Ethernet, IPv4): every message byte-exact, in order, both directions; zmq-debug read --json prints the same', async () => {
    const file = path.join(dir, 'lo.pcap');
    const e = await capture('tcpdump', ['-i', 'lo'], '127.0.0.1', file);
    assert.equal(fs.readFileSync(file).readUInt32LE(20), 1, 'link type Ethernet');
    const records = await readAll(file);
    checkPairs(records, e, '127.0.0.1');

    const cli = runCli(['read', file, '--json', '--max-frame-bytes', String(1 << 20)]);
    assert.equal(await cli.code, 0, cli.err());
    const printed = cli
      .out()
      .trim()
      .split('\n')
      .map((l) => recordFromJson(JSON.parse(l)) as CaptureRecord);
    checkPairs(printed, e, '127.0.0.1');
    assert.deepEqual(
      printed.map((r) => r.seq),
      printed.map((_, i) => i + 1),
    );
    assert.match(cli.err(), /^latency lo\.pcap#1: 6 requests, p50 /m);
    // by default a frame is kept up to 64 KiB, as the tap keeps it, and says so
    const cut = runCli(['read', file, '--json', '--text', 'big', '--direction', 'toTarget', '--kind', 'message']);
    assert.equal(await cut.code, 0, cut.err());
    const big = recordFromJson(JSON.parse(cut.out().trim())) as CapturedMessage;
    assert.deepEqual([big.frames[2].length, big.truncated], [65536, { 2: 200000 }]);
    assert.match(cli.err(), /^pcap: \d+ packet\(s\), 2 ZMTP connection\(s\), \d+ record\(s\)/m);
  });

  it('tcpdump -i any (Linux cooked SLL2) and -y LINUX_SLL (SLL)', async () => {
    for (const [args, linkType] of [
      [['-i', 'any'], 276],
      [['-i', 'any', '-y', 'LINUX_SLL'], 113],
    ] as [string[], number][]) {
      const file = path.join(dir, `any-${linkType}.pcap`);
      const e = await capture('tcpdump', args, '127.0.0.1', file);
      assert.equal(fs.readFileSync(file).readUInt32LE(20), linkType);
      checkPairs(await readAll(file), e, '127.0.0.1');
    }
  });

  it('tshark -w (pcapng) over IPv6 on ::1', async () => {
    const file = path.join(dir, 'lo6.pcapng');
    const e = await capture('tshark', ['-i', 'lo'], '::1', file);
    assert.equal(fs.readFileSync(file).readUInt32LE(0), 0x0a0d0d0a, 'pcapng');
    checkPairs(await readAll(file), e, '::1');
  });
});
