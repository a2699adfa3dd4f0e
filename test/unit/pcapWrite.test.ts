/**
 * Export to pcapng (Export Capture… to a .pcapng file): a real tap's records
 * (pyzmq REQ/REP relayed by ZmtpTap) re-encoded as a TCP connection that
 * tshark reads and `read` turns back into the same messages; agents' and
 * spies' messages with no TCP stream behind them as synthesised ZMTP streams
 * whose packet comments name endpoint, process and socket.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CapturedMessage, CaptureRecord } from '../../src/core/capture/records';
import { readCaptureFile } from '../../src/core/pcap/captureFileReader';
import { writeRecordsPcapng } from '../../src/core/pcap/recordsPcapng';
import { ZmtpTap } from '../../src/core/sessions/tap';
import { killAllPython, runPython, until } from './helpers/peers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcap-write-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => killAllPython());

async function toPcapng(records: CaptureRecord[], name: string) {
  const file = path.join(dir, name);
  const out = fs.createWriteStream(file);
  const result = await writeRecordsPcapng(records, out);
  await new Promise<void>((r) => out.end(() => r()));
  return { file, result };
}

async function readBack(file: string): Promise<CaptureRecord[]> {
  const records: CaptureRecord[] = [];
  await readCaptureFile(file, (rs) => void records.push(...rs), { maxCapturedFrameBytes: 1 << 20 });
  return records;
}

const messageView = (r: CapturedMessage) => [r.direction, r.socketType, r.peerSocketType, r.envelopeFrames, r.frames.map((f) => Buffer.from(f).toString('hex'))];

describe('pcapng export of a capture', function () {
  this.timeout(30000);

  it("re-encodes a real tap's connection: tshark reads it, read gives back the same messages and commands", async () => {
    const rep = runPython(`import zmq
ctx = zmq.Context(); s = ctx.socket(zmq.REP); port = s.bind_to_random_port('tcp://127.0.0.1'); print(port, flush=True)
while True:
    m = s.recv_multipart(); s.send_multipart([b'reply'] + m)`);
    await rep.waitFor(/\d+/);
    const records: CaptureRecord[] = [];
    const tap = new ZmtpTap({ target: `127.0.0.1:${rep.stdout().trim()}`, maxCapturedFrameBytes: 1 << 20 }, (r) => records.push(r));
    await tap.listen();
    const req = runPython(
      `import zmq, sys
ctx = zmq.Context(); s = ctx.socket(zmq.REQ); s.connect('tcp://127.0.0.1:%s' % sys.argv[1])
for i in range(4):
    s.send_multipart([b'request %d' % i, bytes(range(256)) * (i * 100)]); s.recv_multipart()
s.close(); ctx.term(); print('done', flush=True)`,
      [tap.port],
    );
    await req.waitFor('done', 15000);
    await until(() => records.some((r) => r.kind === 'connection' && r.state === 'closed'), 'the connection closed');
    await tap.stop();

    const { file, result } = await toPcapng(records, 'tap.pcapng');
    assert.equal(result.connections, 1);
    assert.equal(result.synthesized, 0);
    const t = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'tcp.stream', '-e', 'tcp.len'], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    assert.equal(new Set(t.stdout.trim().split('\n').map((l) => l.split('\t')[0])).size, 1, 'one TCP stream');
    const a = spawnSync('tshark', ['-r', file, '-Y', 'tcp.analysis.flags'], { encoding: 'utf8' });
    assert.equal(a.stdout.trim(), '', 'no TCP analysis warnings');

    const back = await readBack(file);
    const messages = (rs: CaptureRecord[]) => rs.filter((r): r is CapturedMessage => r.kind === 'message').map(messageView);
    assert.equal(messages(records).length, 8);
    assert.deepEqual(messages(back), messages(records));
    const commands = (rs: CaptureRecord[]) => rs.filter((r) => r.kind === 'command' || r.kind === 'greeting').map((r) => (r.kind === 'command' ? [r.direction, r.name, Object.keys(r.properties ?? {})] : r.kind === 'greeting' ? [r.direction, r.version, r.mechanism] : []));
    assert.deepEqual(commands(back), commands(records));
    const open = back.find((r) => r.kind === 'connection' && r.state === 'open');
    const tapOpen = records.find((r) => r.kind === 'connection' && r.state === 'open');
    assert.equal(open?.kind === 'connection' && open.peer, tapOpen?.kind === 'connection' && tapOpen.peer, "the connecting peer's real address and port");
    assert.equal(open?.endpoint, tap.endpoint);
  });

  it("writes agents' inproc/ipc messages and a spy's as synthesised ZMTP streams, named in packet comments; what was cut is said", async () => {
    const agent = (i: number, direction: 'in' | 'out', endpoint: string, frames: string[]): CapturedMessage => ({
      kind: 'message',
      seq: i,
      ts: 1_700_000_000_000 + i,
      source: 'agent',
      session: 'collector',
      endpoint,
      process: 'worker.py',
      pid: 4242,
      socket: '4242.3',
      direction,
      socketType: 'DEALER',
      peerSocketType: 'ROUTER',
      frames: frames.map((f) => Buffer.from(f)),
    });
    const records: CaptureRecord[] = [
      { kind: 'process', seq: 1, ts: 1_700_000_000_000, source: 'agent', endpoint: '', state: 'started', process: 'worker.py', pid: 4242 },
      agent(2, 'out', 'inproc://jobs', ['job', '1']),
      agent(3, 'in', 'inproc://jobs', ['done', '1']),
      agent(4, 'out', 'ipc:///tmp/x.sock', ['hello']),
      { kind: 'message', seq: 5, ts: 1_700_000_000_010, source: 'spy', session: 'spy-1', endpoint: 'tcp://127.0.0.1:5556', direction: 'in', socketType: 'SUB', frames: [Buffer.from('prices'), Buffer.alloc(100, 7)], truncated: { 1: 5000 } },
    ];
    const { file, result } = await toPcapng(records, 'agents.pcapng');
    assert.deepEqual([result.connections, result.synthesized, result.skipped], [0, 3, 1]);
    const t = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'ip.src', '-e', 'tcp.dstport', '-e', 'frame.comment'], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /agent collector, endpoint inproc:\/\/jobs, out, process worker\.py, pid 4242, socket 4242\.3/);
    assert.match(t.stdout, /endpoint ipc:\/\/\/tmp\/x\.sock/);
    assert.match(t.stdout, /frame 1: 5000 bytes on the wire, 100 kept by the capture/);
    assert.match(t.stdout, /^198\.18\.0\.2\t5556\t/m, "a spy's tcp endpoint keeps its port");
    const back = await readBack(file);
    const msgs = back.filter((r): r is CapturedMessage => r.kind === 'message');
    assert.deepEqual(
      msgs.map((m) => [m.direction, m.socketType, m.peerSocketType, m.frames.map((f) => Buffer.from(f).toString())]),
      [
        ['toTarget', 'DEALER', 'ROUTER', ['job', '1']],
        ['fromTarget', 'ROUTER', 'DEALER', ['done', '1']],
        ['toTarget', 'DEALER', 'ROUTER', ['hello']],
        ['fromTarget', undefined, 'SUB', ['prices', '\u0007'.repeat(100)]],
      ],
    );
  });
});
