/**
 * `zmq-debug read` on the command line, and `tap --pcapng`: the export format
 * read back with --decode, exit 2 with the reason for what is not a capture or
 * is cut, filters and --count, the tap's pcapng read by tshark (its TCP payload
 * equals what the tap relayed) and by `read` (the same records as the tap
 * printed), and a big file streamed in bounded memory.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { recordFromJson, toJsonLines } from '../../src/core/capture/exportFormat';
import type { CapturedMessage, CaptureRecord } from '../../src/core/capture/records';
import { formatRecord } from '../../src/core/capture/recordText';
import { CLI, runCli, type CliRun } from './helpers/cli';
import { pcapFile, pcapHeader, tcpConversation } from './helpers/pcapBytes';
import { killAllPython, runPython } from './helpers/peers';
import { greeting, message, nullStream, ready } from './helpers/zmtpBytes';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-read-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const runs: CliRun[] = [];
afterEach(async () => {
  await killAllPython();
  for (const r of runs.splice(0)) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
});

function cli(args: string[]): CliRun {
  const r = runCli(args);
  runs.push(r);
  return r;
}

const parseLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Spy records as a live capture makes them: JSON payloads on a topic. */
function spyRecords(): CaptureRecord[] {
  return [0, 1, 2].map((i) => ({
    kind: 'message',
    seq: 10 + i,
    ts: 1_700_000_000_000 + i,
    session: 'spy',
    source: 'spy',
    endpoint: 'tcp://127.0.0.1:5556',
    direction: 'in',
    socketType: 'SUB',
    frames: [Buffer.from('prices'), Buffer.from(JSON.stringify({ symbol: 'ZMQ', price: 100 + i }))],
  }));
}

describe('zmq-debug read', function () {
  this.timeout(60000);

  it('prints an exported capture (JSON Lines) as a live one, with --decode, and says what the original capture lost', async () => {
    const records = spyRecords();
    const file = path.join(dir, 'spy.jsonl');
    fs.writeFileSync(file, toJsonLines(records, { evicted: 7, evictedBytes: 700, dropped: 2 }));
    const plain = cli(['read', file]);
    assert.equal(await plain.code, 0, plain.err());
    assert.equal(plain.out(), records.map((r) => formatRecord(r) + '\n').join(''));
    assert.match(plain.err(), /the original capture had evicted 7 record\(s\) and sources reported 2 message\(s\) lost/);

    const decoded = cli(['read', file, '--decode', 'json']);
    assert.equal(await decoded.code, 0, decoded.err());
    const lines = decoded.out().trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[2], /⇒ .*"price": ?102/);

    const json = cli(['read', file, '--decode', 'json', '--json']);
    assert.equal(await json.code, 0, json.err());
    const out = parseLines(json.out());
    assert.deepEqual(
      out.map((o) => [o.seq, (o.decoded as { value: { price: number } }).value.price]),
      [
        [10, 100],
        [11, 101],
        [12, 102],
      ],
    );
  });

  it('filters and --count', async () => {
    const file = path.join(dir, 'filter.jsonl');
    fs.writeFileSync(file, toJsonLines(spyRecords()));
    const one = cli(['read', file, '--json', '--count', '2', '--text', 'price']);
    assert.equal(await one.code, 0, one.err());
    assert.equal(parseLines(one.out()).length, 2);
    const none = cli(['read', file, '--topic', 'other']);
    assert.equal(await none.code, 0);
    assert.equal(none.out(), '');
    const bad = cli(['read', file, '--kind', 'nonsense']);
    assert.equal(await bad.code, 2);
    assert.match(bad.err(), /--kind must be one of/);
  });

  it('exits 2 with the reason: no file, not a capture, a cut pcap or pcapng, a bad export line', async () => {
    const client = { ip: '127.0.0.1', port: 50000 };
    const server = { ip: '127.0.0.1', port: 5555 };
    const pcap = pcapFile('ethernet', tcpConversation(client, server, [{ fromClient: false, bytes: Buffer.concat([greeting(), ready({ 'Socket-Type': 'PUB' }), message([Buffer.from('a'), Buffer.alloc(3000, 1)])]) }, { fromClient: true, bytes: Buffer.concat([greeting(), ready({ 'Socket-Type': 'SUB' })]) }]));
    const cases: [string, Buffer | undefined, RegExp][] = [
      ['missing.pcap', undefined, /missing\.pcap: no such file/],
      ['text.txt', Buffer.from('just some text\n'), /text\.txt: not a capture file: neither pcap, pcapng nor the JSON Lines export \(it starts with 0x6a75/],
      ['empty.pcap', Buffer.alloc(0), /the file is empty/],
      ['cut.pcap', pcap.subarray(0, pcap.length - 100), /cut\.pcap: truncated: the file ends inside a packet record at byte \d+ .* after packet \d+/],
      ['header.pcap', pcapHeader('ethernet').subarray(0, 10), /truncated: the file ends inside its 10-byte header/],
      ['bad.jsonl', Buffer.from(toJsonLines(spyRecords()) + '{"kind":"message","ts":"x"}\n{"kind":"mess'), /line 4: 'ts' must be a number[\s\S]*line 5: the file ends inside this record \(cut off\?\): not JSON/],
    ];
    for (const [name, bytes, re] of cases) {
      const file = path.join(dir, name);
      if (bytes) fs.writeFileSync(file, bytes);
      const r = cli(['read', file]);
      assert.equal(await r.code, 2, `${name}: ${r.err()}`);
      assert.match(r.err(), re, name);
      assert.doesNotMatch(r.err(), /\n\s+at /, 'no stack trace');
    }
    const usage = cli(['read']);
    assert.equal(await usage.code, 2);
    assert.match(usage.err(), /give one capture file/);
  });

  it('--doctor judges the capture as a topology frozen at its end (a REQ connected to a PUB)', async () => {
    const file = path.join(dir, 'req-pub.pcap');
    const client = { ip: '127.0.0.1', port: 50000 };
    const server = { ip: '127.0.0.1', port: 5555 };
    const sends = [
      { fromClient: true, bytes: Buffer.concat([nullStream('REQ', []), message([Buffer.alloc(0), Buffer.from('hi')])]) },
      { fromClient: false, bytes: nullStream('PUB', []) },
    ];
    fs.writeFileSync(file, pcapFile('ethernet', tcpConversation(client, server, sends, { fin: false })));
    const r = cli(['read', file, '--doctor']);
    assert.equal(await r.code, 0, r.err());
    assert.match(r.err(), /^doctor error: REQ 127\.0\.0\.1:50000 connected to PUB at tcp:\/\/127\.0\.0\.1:5555/m);
    const healthy = path.join(dir, 'healthy.jsonl');
    fs.writeFileSync(healthy, toJsonLines(spyRecords()));
    const fine = cli(['read', healthy, '--doctor']);
    assert.equal(await fine.code, 0, fine.err());
    assert.doesNotMatch(fine.err(), /doctor error/);
  });

  it('tap --pcapng: tshark reads the file and its TCP payload per direction is exactly what the tap relayed', async () => {
    const fromClient = crypto.randomBytes(700_000);
    const fromServer = crypto.randomBytes(300_000);
    let serverGot = Buffer.alloc(0);
    const server = net.createServer((s) => {
      const parts: Buffer[] = [];
      s.on('data', (d) => parts.push(d));
      s.on('end', () => {
        serverGot = Buffer.concat(parts);
        s.end();
      });
      s.write(fromServer);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const targetPort = (server.address() as net.AddressInfo).port;
    try {
      const file = path.join(dir, 'raw.pcapng');
      const tap = cli(['tap', '--target', `127.0.0.1:${targetPort}`, '--pcapng', file]);
      const tapPort = await listeningPort(tap);
      const clientGot: Buffer[] = [];
      const client = net.connect(tapPort, '127.0.0.1');
      await new Promise<void>((r) => client.once('connect', () => r()));
      const clientPort = client.localPort!;
      client.on('data', (d) => clientGot.push(d));
      client.end(fromClient);
      await new Promise<void>((r) => client.once('close', () => r()));
      assert.ok(Buffer.concat(clientGot).equals(fromServer), 'relayed to the client');
      assert.ok(serverGot.equals(fromClient), 'relayed to the server');
      assert.equal(await tap.stop(), 0, tap.err());
      assert.match(tap.err(), new RegExp(`wrote 1 connection\\(s\\) to ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

      const t = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.payload', '-e', 'frame.comment'], { encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal(t.status, 0, t.stderr);
      const dirs = new Map<string, string[]>();
      let comment = '';
      for (const line of t.stdout.split('\n').filter(Boolean)) {
        const [src, dst, payload, c] = line.split('\t');
        if (c) comment ||= c;
        const key = `${src}>${dst}`;
        dirs.set(key, [...(dirs.get(key) ?? []), (payload ?? '').replace(/:/g, '')]);
      }
      assert.deepEqual([...dirs.keys()].sort(), [`${clientPort}>${targetPort}`, `${targetPort}>${clientPort}`].sort(), 'the real ports: client → target');
      assert.ok(Buffer.from(dirs.get(`${clientPort}>${targetPort}`)!.join(''), 'hex').equals(fromClient), 'client → target payload');
      assert.ok(Buffer.from(dirs.get(`${targetPort}>${clientPort}`)!.join(''), 'hex').equals(fromServer), 'target → client payload');
      assert.match(comment, new RegExp(`zmq-debug tap connection #1: 127\\.0\\.0\\.1:${clientPort} → 127\\.0\\.0\\.1:${targetPort}`));
      // tshark's TCP analysis finds nothing wrong with the stream
      const a = spawnSync('tshark', ['-r', file, '-Y', 'tcp.analysis.flags'], { encoding: 'utf8' });
      assert.equal(a.stdout.trim(), '', 'no TCP analysis warnings');
    } finally {
      server.close();
    }
  });

  it('tap --pcapng of a pyzmq REQ/REP: zmq-debug read gives back the records the tap printed', async () => {
    const rep = runPython(
      `import zmq, sys
ctx = zmq.Context(); s = ctx.socket(zmq.REP); port = s.bind_to_random_port('tcp://127.0.0.1'); print(port, flush=True)
while True:
    m = s.recv_multipart(); s.send_multipart([b'reply'] + m)`,
    );
    await rep.waitFor(/\d+/);
    const file = path.join(dir, 'reqrep.pcapng');
    const tap = cli(['tap', '--target', `127.0.0.1:${rep.stdout().trim()}`, '--pcapng', file, '--json', '--count', '10']);
    const tapPort = await listeningPort(tap);
    const req = runPython(
      `import zmq, sys, os
ctx = zmq.Context(); s = ctx.socket(zmq.REQ); s.connect('tcp://127.0.0.1:%s' % sys.argv[1])
for i in range(5):
    s.send_multipart([b'request %d' % i, os.urandom(20000 * i)]); s.recv_multipart()
s.close(); ctx.term(); print('done', flush=True)`,
      [tapPort],
    );
    await req.waitFor('done', 20000);
    assert.equal(await tap.code, 0, tap.err());
    const read = cli(['read', file, '--json']);
    assert.equal(await read.code, 0, read.err());
    const comparable = (text: string) =>
      parseLines(text)
        .map((o) => recordFromJson(o) as CaptureRecord)
        .filter((r): r is CapturedMessage => r.kind === 'message')
        .map((r) => [r.direction, r.socketType, r.peerSocketType, r.envelopeFrames, r.endpoint, r.frames.map((f) => Buffer.from(f).toString('hex'))]);
    const tapped = comparable(tap.out());
    assert.equal(tapped.length, 10);
    assert.deepEqual(comparable(read.out()), tapped);
  });

  it(`streams a big capture in bounded memory (${process.env.BIG_PCAP_MB ?? 256} MB; the peak RSS stays under 200 MB)`, async function () {
    this.timeout(300000);
    const mb = Number(process.env.BIG_PCAP_MB ?? 256);
    const file = path.join(dir, 'big.pcap');
    const messages = writeBigCapture(file, mb * 1024 * 1024);
    const preload = path.join(dir, 'maxrss.js');
    fs.writeFileSync(preload, "process.on('exit', () => process.stderr.write(`maxrss ${process.resourceUsage().maxRSS}\\n`));\n");
    const proc = spawn(process.execPath, ['-r', preload, CLI, 'read', file, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let lines = 0;
    let tail = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    // a reader that counts lines and keeps nothing
    proc.stdout.on('data', (d: Buffer) => {
      for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++;
      tail = d.subarray(Math.max(0, d.length - 2000)).toString();
    });
    const code = await new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
    assert.equal(code, 0, err);
    const rssKb = Number(/maxrss (\d+)/.exec(err)![1]);
    console.log(`      read ${mb} MB: ${lines} records, peak RSS ${(rssKb / 1024).toFixed(0)} MB`);
    // the connection, two greetings, two READYs, the subscription, then every message
    assert.equal(lines, 6 + messages);
    assert.match(tail, /"frames":\["Zm9vZA==",/);
    assert.ok(rssKb < 200 * 1024, `peak RSS ${rssKb} kB`);
  });
});

/** Resolves with the port the tap listens on (from its first stderr line). */
async function listeningPort(run: CliRun): Promise<number> {
  const end = Date.now() + 15000;
  for (;;) {
    const m = /point your peer at port (\d+)/.exec(run.err());
    if (m) return Number(m[1]);
    if (Date.now() > end || run.proc.exitCode !== null) throw new Error(`the tap did not start: ${run.err()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Writes a pcap of about `bytes` bytes: one PUB → SUB connection carrying
 * 1 kB messages, 60 per 60 kB segment; returns the number of messages.
 */
function writeBigCapture(file: string, bytes: number): number {
  const client = { ip: '127.0.0.1', port: 40000 };
  const server = { ip: '127.0.0.1', port: 5556 };
  const hello = pcapFile(
    'ethernet',
    tcpConversation(
      client,
      server,
      [
        { fromClient: true, bytes: Buffer.concat([greeting(), ready({ 'Socket-Type': 'SUB' }), Buffer.from([0x04, 0x0a, 9, ...Buffer.from('SUBSCRIBE')])]) },
        { fromClient: false, bytes: Buffer.concat([greeting(), ready({ 'Socket-Type': 'PUB' })]) },
      ],
      { fin: false },
    ),
  );
  const serverSeq = 900001 + 64 + ready({ 'Socket-Type': 'PUB' }).length;
  const msg = message([Buffer.from('food'), crypto.randomBytes(1000)]);
  const payload = Buffer.concat(Array<Buffer>(60).fill(msg));
  // one packet as a template: record header, Ethernet, IPv4, TCP, payload; only the sequence number changes
  const [template] = [pcapFile('ethernet', [{ from: server, to: client, seq: 0, ack: 0, payload, t: 1_700_000_001 }]).subarray(24)];
  const seqAt = 16 + 14 + 20 + 4;
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, hello);
  const perChunk = 256;
  const chunk = Buffer.concat(Array<Buffer>(perChunk).fill(template));
  let seq = serverSeq;
  let written = hello.length;
  let packets = 0;
  while (written < bytes) {
    for (let i = 0; i < perChunk; i++) {
      chunk.writeUInt32BE(seq >>> 0, i * template.length + seqAt);
      seq += payload.length;
    }
    fs.writeSync(fd, chunk);
    written += chunk.length;
    packets += perChunk;
  }
  fs.closeSync(fd);
  return packets * 60;
}
