/**
 * Reading pcap files written byte by byte here (test/unit/helpers/pcapBytes.ts):
 * TCP put back in order through reordering, duplicates, overlapping
 * retransmissions and sequence wrap-around; gaps marked and never decoded
 * across; link types, IPv6, streams without a SYN; cut and foreign files.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CapturedMessage, CaptureRecord, ConnectionRecord } from '../../src/core/capture/records';
import { CaptureFileError, readCaptureFile } from '../../src/core/pcap/captureFileReader';
import { PcapngEncoder, TcpStreamWriter } from '../../src/core/pcap/pcapngWriter';
import { pcapFile, tcpConversation, type Endpoint, type Link, type Seg } from './helpers/pcapBytes';
import { message, nullStream } from './helpers/zmtpBytes';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcap-reassembly-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
async function read(bytes: Buffer, chunkBytes?: number, name = `f${fileNo++}.pcap`) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  const records: CaptureRecord[] = [];
  const result = await readCaptureFile(file, (rs) => void records.push(...rs), { chunkBytes });
  return { records, result };
}

/** A deterministic pseudo-random generator (xorshift32). */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

function randomBytes(n: number, r: () => number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

const client: Endpoint = { ip: '10.0.0.2', port: 51234 };
const server: Endpoint = { ip: '10.0.0.1', port: 5555 };

/** A REQ/REP exchange: the client's and the server's streams, and the messages each carries (with the REQ delimiter). */
function reqRep(r: () => number) {
  const requests = [0, 1, 2, 3].map((i) => [Buffer.alloc(0), Buffer.from(`request ${i}`), randomBytes(300 + i * 1500, r)]);
  const replies = [0, 1, 2, 3].map((i) => [Buffer.alloc(0), randomBytes(50 + i * 2000, r)]);
  const sends: { fromClient: boolean; bytes: Uint8Array }[] = [
    { fromClient: true, bytes: nullStream('REQ', []) },
    { fromClient: false, bytes: nullStream('REP', []) },
  ];
  for (let i = 0; i < requests.length; i++) {
    sends.push({ fromClient: true, bytes: message(requests[i]) });
    sends.push({ fromClient: false, bytes: message(replies[i]) });
  }
  return { requests, replies, sends };
}

function messages(records: CaptureRecord[], direction: string): Buffer[][] {
  return records.filter((x): x is CapturedMessage => x.kind === 'message' && x.direction === direction).map((m) => m.frames.map((f) => Buffer.from(f)));
}

describe('pcap reading: TCP reassembly and ZMTP streams (files written by the test)', () => {
  it('reads an in-order REQ/REP conversation: greetings, READY, every message byte-exact both ways, open and close', async () => {
    const { requests, replies, sends } = reqRep(rng(1));
    const { records, result } = await read(pcapFile('ethernet', tcpConversation(client, server, sends, { mss: 700 })));
    assert.deepEqual(messages(records, 'toTarget'), requests);
    assert.deepEqual(messages(records, 'fromTarget'), replies);
    const kinds = records.map((x) => (x.kind === 'command' ? `${x.kind}:${x.name}:${x.direction}` : x.kind === 'greeting' ? `greeting:${x.direction}` : x.kind));
    assert.deepEqual(kinds.slice(0, 5), ['connection', 'greeting:toTarget', 'command:READY:toTarget', 'greeting:fromTarget', 'command:READY:fromTarget']);
    const conns = records.filter((x): x is ConnectionRecord => x.kind === 'connection');
    assert.deepEqual(
      conns.map((c) => [c.state, c.peer, c.endpoint, c.reason]),
      [
        ['open', '10.0.0.2:51234', 'tcp://10.0.0.1:5555', undefined],
        ['closed', '10.0.0.2:51234', 'tcp://10.0.0.1:5555', undefined],
      ],
    );
    const req = records.find((x): x is CapturedMessage => x.kind === 'message' && x.direction === 'toTarget')!;
    assert.equal(req.socketType, 'REQ');
    assert.equal(req.peerSocketType, 'REP');
    assert.equal(req.envelopeFrames, 1);
    assert.equal(req.source, 'tap');
    assert.equal(result.stats!.zmtpConnections, 1);
    assert.equal(result.stats!.gaps, 0);
  });

  it('puts reordered, duplicated and overlapping retransmitted segments back in order: the same messages, nothing invented', async () => {
    const { requests, replies, sends } = reqRep(rng(2));
    const segs = tcpConversation(client, server, sends, { mss: 400 });
    const r = rng(3);
    const head = segs.slice(0, 3);
    const data = segs.slice(3, -2);
    // overlapping retransmissions: a segment spanning the end of one and the start of the next, with the same bytes
    const extra: Seg[] = [];
    for (let i = 0; i + 1 < data.length; i += 3) {
      const a = data[i];
      const b = data[i + 1];
      if (a.from !== b.from || !a.payload || !b.payload) continue;
      const both = Buffer.concat([a.payload, b.payload]);
      extra.push({ ...a, seq: a.seq + 200, payload: both.subarray(200, 600) });
    }
    // exact duplicates (as `tcpdump -i any` gives for loopback) and a shuffle within windows of 6 segments
    const dup = data.filter((_, i) => i % 4 === 0).map((s) => ({ ...s }));
    const all = [...data, ...extra, ...dup];
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.max(0, i - Math.floor(r() * 6));
      [all[i], all[j]] = [all[j], all[i]];
    }
    const { records, result } = await read(pcapFile('ethernet', [...head, ...all, ...segs.slice(-2)]));
    assert.deepEqual(messages(records, 'toTarget'), requests);
    assert.deepEqual(messages(records, 'fromTarget'), replies);
    assert.equal(records.filter((x) => x.kind === 'connection' && x.state === 'undecodable').length, 0);
    assert.ok(result.stats!.retransmitted >= dup.length, `retransmitted ${result.stats!.retransmitted}`);
    assert.ok(result.stats!.reordered > 0);
  });

  it('a reset closes the connection; a message it cut in half is said, not captured', async () => {
    const { requests, sends } = reqRep(rng(15));
    const segs = tcpConversation(client, server, sends.slice(0, 3), { fin: false, mss: 10_000 });
    // half of the next request, then the server resets
    const half = message(requests[1]).subarray(0, 100);
    const last = segs[segs.length - 1];
    const cs = last.seq + (last.payload?.length ?? 0);
    segs.push({ from: client, to: server, seq: cs, ack: 0, payload: half, t: last.t + 0.001 });
    segs.push({ from: server, to: client, seq: 0, flags: { rst: true }, t: last.t + 0.002 });
    // the reset's sequence number does not matter to the reader: any RST of the connection ends it
    const { records } = await read(pcapFile('ethernet', segs));
    assert.deepEqual(messages(records, 'toTarget'), requests.slice(0, 1));
    const closed = records.find((x): x is ConnectionRecord => x.kind === 'connection' && x.state === 'closed')!;
    assert.equal(closed.reason, 'reset (RST) by the server; a message in flight toTarget was cut off by the close and not captured');
  });

  it('follows sequence numbers across the 2^32 wrap', async () => {
    const { requests, replies, sends } = reqRep(rng(4));
    const { records } = await read(pcapFile('ethernet', tcpConversation(client, server, sends, { mss: 500, isn: [0xffffff00, 0xfffffff0] })));
    assert.deepEqual(messages(records, 'toTarget'), requests);
    assert.deepEqual(messages(records, 'fromTarget'), replies);
  });

  it('marks a gap (a segment the capture lost) and decodes nothing of that direction past it', async () => {
    const { requests, replies, sends } = reqRep(rng(5));
    const segs = tcpConversation(client, server, sends, { mss: 500 });
    // the replies: lose the 3rd data segment of the server's direction (inside reply 1 or 2)
    const serverData = segs.filter((s) => s.from === server && s.payload?.length);
    const lost = serverData[3];
    const { records, result } = await read(pcapFile('ethernet', segs.filter((s) => s !== lost)));
    assert.deepEqual(messages(records, 'toTarget'), requests, 'the other direction is whole');
    const got = messages(records, 'fromTarget');
    assert.ok(got.length < replies.length);
    assert.deepEqual(got, replies.slice(0, got.length), 'what came before the gap is exact');
    const gap = records.find((x): x is ConnectionRecord => x.kind === 'connection' && x.state === 'undecodable')!;
    assert.match(gap.reason!, /^fromTarget: 500 byte\(s\) missing from the capture after byte \d+ of this direction/);
    assert.match(gap.reason!, /a message in flight was cut off/);
    assert.equal(result.stats!.gaps, 1);
    assert.equal(result.stats!.missingBytes, 500);
  });

  it('a packet cut by the snap length is a gap too', async () => {
    const { requests, sends } = reqRep(rng(6));
    const segs = tcpConversation(client, server, sends, { mss: 1000 });
    const victim = segs.filter((s) => s.from === client && s.payload?.length)[2];
    victim.snap = 14 + 20 + 20 + 100;
    const { records } = await read(pcapFile('ethernet', segs));
    const gap = records.find((x): x is ConnectionRecord => x.kind === 'connection' && x.state === 'undecodable')!;
    assert.match(gap.reason!, new RegExp(`^toTarget: ${victim.payload!.length - 100} byte\\(s\\) missing`));
    const got = messages(records, 'toTarget');
    assert.deepEqual(got, requests.slice(0, got.length));
  });

  it('finds a stream whose SYN is not in the capture by its greeting; the lower port is taken for the server', async () => {
    const { requests, replies, sends } = reqRep(rng(7));
    const { records } = await read(pcapFile('ethernet', tcpConversation(client, server, sends, { syn: false, fin: false })));
    assert.deepEqual(messages(records, 'toTarget'), requests);
    assert.deepEqual(messages(records, 'fromTarget'), replies);
    assert.equal(records[0].endpoint, 'tcp://10.0.0.1:5555');
    assert.ok(!records.some((x) => x.kind === 'connection' && x.state === 'closed'), 'no close invented for a connection still open at the end');
  });

  it('skips a connection the capture joined after its greeting (not guessed), and non-ZMTP TCP', async () => {
    const { sends } = reqRep(rng(8));
    const segs = tcpConversation(client, server, sends, { syn: false, mss: 300 });
    const http = tcpConversation({ ip: '10.0.0.3', port: 40000 }, { ip: '10.0.0.1', port: 80 }, [{ fromClient: true, bytes: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n') }]);
    const { records, result } = await read(pcapFile('ethernet', [...segs.slice(2), ...http]));
    assert.deepEqual(records, []);
    assert.equal(result.stats!.otherConnections, 2);
  });

  for (const [link, ipClient, ipServer] of [
    ['sll', '127.0.0.1', '127.0.0.1'],
    ['null', '127.0.0.1', '127.0.0.1'],
    ['ethernet', '::1', '::1'],
    ['sll', 'fe80::1:2', '2001:db8::5'],
  ] as [Link, string, string][]) {
    it(`reads ${link} link headers with ${ipClient.includes(':') ? 'IPv6' : 'IPv4'}`, async () => {
      const { requests, replies, sends } = reqRep(rng(9));
      const c = { ip: ipClient, port: 41000 };
      const s = { ip: ipServer, port: 5600 };
      const { records } = await read(pcapFile(link, tcpConversation(c, s, sends)));
      assert.deepEqual(messages(records, 'toTarget'), requests);
      assert.deepEqual(messages(records, 'fromTarget'), replies);
      assert.equal(records[0].endpoint, `tcp://[${ipServer}]:5600`.replace(/^tcp:\/\/\[(\d+\.\d+\.\d+\.\d+)\]/, 'tcp://$1'));
    });
  }

  it('reads a pcapng (the writer of the exports) as it reads a pcap', async () => {
    const { requests, replies, sends } = reqRep(rng(14));
    const blocks: Buffer[] = [];
    const tcp = new TcpStreamWriter(new PcapngEncoder((b) => blocks.push(b)), { host: client.ip, port: client.port }, { host: server.ip, port: server.port });
    for (const x of sends) tcp.data(x.fromClient, x.bytes, 1_700_000_000_000);
    tcp.close(1_700_000_000_001);
    const { records, result } = await read(Buffer.concat(blocks));
    assert.equal(result.kind, 'pcapng');
    assert.deepEqual(messages(records, 'toTarget'), requests);
    assert.deepEqual(messages(records, 'fromTarget'), replies);
  });

  it('reads the same records whatever the read chunk size (blocks straddling chunks)', async () => {
    const { sends } = reqRep(rng(10));
    const bytes = pcapFile('ethernet', tcpConversation(client, server, sends, { mss: 333 }));
    const whole = await read(bytes, undefined, 'chunks.pcap');
    const small = await read(bytes, 64, 'chunks.pcap');
    assert.ok(whole.records.length > 10);
    assert.deepEqual(small.records, whole.records);
  });

  it('a file cut inside a packet: the records before it, then an error saying where', async () => {
    const { sends } = reqRep(rng(11));
    const bytes = pcapFile('ethernet', tcpConversation(client, server, sends, { mss: 500 }));
    const cut = bytes.subarray(0, bytes.length - 30);
    const file = path.join(dir, 'cut.pcap');
    fs.writeFileSync(file, cut);
    const records: CaptureRecord[] = [];
    await assert.rejects(
      readCaptureFile(file, (rs) => void records.push(...rs)),
      (e: Error) => e instanceof CaptureFileError && /truncated: the file ends inside a packet record at byte \d+/.test(e.message),
    );
    assert.ok(records.some((x) => x.kind === 'message'));
  });

  it('never fails otherwise than with a CaptureFileError on corrupted pcap and pcapng files (300 random mutations)', async () => {
    const { sends } = reqRep(rng(12));
    const pcap = pcapFile('ethernet', tcpConversation(client, server, sends, { mss: 400 }));
    // a pcapng of the same conversation (written by the export's writer)
    const blocks: Buffer[] = [];
    const tcp = new TcpStreamWriter(new PcapngEncoder((b) => blocks.push(b)), { host: client.ip, port: client.port }, { host: server.ip, port: server.port });
    for (const x of sends) tcp.data(x.fromClient, x.bytes, 1_700_000_000_000);
    tcp.close(1_700_000_000_001);
    const pcapng = Buffer.concat(blocks);
    const r = rng(13);
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.from(i % 2 ? pcap : pcapng);
      // a few random bytes overwritten (headers, lengths, payload), sometimes the file cut short
      for (let k = 0; k < 1 + Math.floor(r() * 8); k++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
      const cut = r() < 0.3 ? bytes.subarray(0, Math.floor(r() * bytes.length)) : bytes;
      const file = path.join(dir, 'fuzz.pcap');
      fs.writeFileSync(file, cut);
      try {
        await readCaptureFile(file, () => undefined, { chunkBytes: 256 });
      } catch (e) {
        assert.ok(e instanceof CaptureFileError, `mutation ${i}: ${(e as Error).stack}`);
      }
    }
  });

  it('refuses files that are not captures, with the reason', async () => {
    for (const [bytes, re] of [
      [Buffer.from('hello world, not a capture'), /not a capture file: neither pcap, pcapng nor the JSON Lines export/],
      [Buffer.alloc(0), /the file is empty/],
      [Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0]), /truncated: the file ends inside its 6-byte header/],
    ] as [Buffer, RegExp][]) {
      const file = path.join(dir, `bad${fileNo++}`);
      fs.writeFileSync(file, bytes);
      await assert.rejects(readCaptureFile(file, () => undefined), (e: Error) => e instanceof CaptureFileError && re.test(e.message));
    }
  });
});
