/**
 * The native agent (src/core/agents/native/zmq_debug_agent.c, LD_PRELOAD):
 * real C and C++ programs on Debian's libzmq, built here with gcc/g++, run
 * with and without it. With it they print the same and exit the same, and
 * the capture holds every socket and every message they printed, byte for
 * byte; the doctor finds the EFSM and the EAGAIN at the high-water mark of the
 * C program. pyzmq on the same shared libzmq is reported once (the Python
 * agent tells the interposer to stand back), zeromq.js (a static libzmq) runs
 * untouched under it, and no collector means no output.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capture } from '../../src/core/capture/capture';
import { parseJsonLines } from '../../src/core/capture/exportFormat';
import { CapturedEvent, CapturedMessage, CaptureRecord, ProcessRecord, SocketRecord } from '../../src/core/capture/records';
import { Collector } from '../../src/core/sessions/collector';
import { compileNativeAgent, NATIVE_AGENT_FILE, nativeAgentLibrary, withNativeAgent } from '../../src/core/sessions/nativeAgent';
import { diagnose } from '../../src/core/topology/doctor';
import { TopologyModel } from '../../src/core/topology/topology';
import { killAllRuns, run } from './helpers/agentRun';
import { CLI } from './helpers/cli';
import { PYTHON, until } from './helpers/peers';

const HERE = join(__dirname, 'fixtures', 'native');
const ROOT = join(__dirname, '..', '..');

/** A frame as the fixtures print it: hex, '-' when empty, a long one as its length and checksum. */
function frameText(f: Uint8Array, original = f.byteLength): string {
  if (original > 1000) {
    // the C fixture's 70,000-byte frame: byte i is i*7; the capture keeps its first 64 KiB
    const full = Buffer.alloc(original);
    for (let i = 0; i < original; i++) full[i] = (i * 7) & 0xff;
    assert.deepEqual(Buffer.from(f), full.subarray(0, f.byteLength), 'the kept bytes of a long frame are its first bytes');
    let sum = 0n;
    for (const b of full) sum = (sum * 31n + BigInt(b)) & 0xffffffffffffffffn;
    return `[${original} bytes sum ${sum}]`;
  }
  return f.byteLength ? Buffer.from(f).toString('hex') : '-';
}

const NAMES: Record<string, string> = { pub: 'PUB', sub: 'SUB', req: 'REQ', rep: 'REP', push: 'PUSH', pull: 'PULL', fork: 'PULL' };

/** The fixture's "<socket> <out|in> <frames>" lines as "<TYPE> <out|in> <frames>", sorted. */
function printedMessages(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => /^(\w+) (out|in) (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => `${NAMES[m[1]]} ${m[2]} ${m[3]}`)
    .sort();
}

function capturedMessages(records: CaptureRecord[], pid: number): string[] {
  return records
    .filter((r): r is CapturedMessage => r.kind === 'message' && r.pid === pid)
    .map((m) => `${m.socketType} ${m.direction} ${m.frames.map((f, i) => frameText(f, m.truncated?.[i])).join('|')}`)
    .sort();
}

describe('native agent (LD_PRELOAD interposer of libzmq)', function () {
  this.timeout(120000);
  let dir: string;
  let cProgram: string;
  let cppProgram: string;
  let eventsProgram: string;

  before(() => {
    assert.ok(nativeAgentLibrary(), 'the build made dist/native/linux-x64/libzmq-debug-agent.so (node esbuild.mjs)');
    dir = mkdtempSync(join(tmpdir(), 'zmq-native-'));
    cProgram = join(dir, 'zmq_all');
    cppProgram = join(dir, 'zmq_cpp');
    execFileSync('gcc', ['-O1', '-Wall', '-o', cProgram, join(HERE, 'zmq_all.c'), '-lzmq', '-lpthread']);
    execFileSync('g++', ['-O1', '-std=c++17', '-o', cppProgram, join(HERE, 'zmq_cpp.cpp'), '-lzmq', '-lpthread']);
    eventsProgram = join(dir, 'zmq_events');
    execFileSync('gcc', ['-O1', '-Wall', '-o', eventsProgram, join(HERE, 'zmq_events.c'), '-lzmq', '-lpthread']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(killAllRuns);

  it('the build: linux-x64 and linux-arm64 libraries that import no libzmq; LD_PRELOAD chained after what is set, never twice', () => {
    for (const [arch, machine] of [['x64', 62], ['arm64', 183]] as const) {
      const elf = readFileSync(join(ROOT, 'dist', 'native', `linux-${arch}`, NATIVE_AGENT_FILE));
      assert.equal(elf.toString('latin1', 1, 4), 'ELF');
      assert.equal(elf.readUInt16LE(18), machine, `linux-${arch} is built for its machine`);
      const needed = execFileSync('readelf', ['-d', join(ROOT, 'dist', 'native', `linux-${arch}`, NATIVE_AGENT_FILE)], { encoding: 'utf8' });
      assert.match(needed, /NEEDED.*libc\.so/);
      assert.doesNotMatch(needed, /NEEDED.*libzmq/, `linux-${arch} needs no libzmq to load (a program without one is left alone)`);
    }
    const lib = nativeAgentLibrary()!;
    assert.equal(withNativeAgent(undefined, lib), lib);
    assert.equal(withNativeAgent('/opt/libasan.so', lib), `/opt/libasan.so:${lib}`);
    assert.equal(withNativeAgent(`/old/${NATIVE_AGENT_FILE} /opt/x.so`, lib), `/opt/x.so:${lib}`);
  });

  it('found without blocking: ensureNativeAgent (called while the extension activates) checks the prebuilt library in a process it does not wait for', () => {
    // a fresh process: the load check's answer is cached per library
    const script = `const cp = require('node:child_process');
      let sync = 0;
      const orig = cp.spawnSync;
      cp.spawnSync = (...a) => (sync++, orig(...a));
      const na = require(${JSON.stringify(join(ROOT, 'src', 'core', 'sessions', 'nativeAgent.ts'))});
      const p = na.ensureNativeAgent(${JSON.stringify(tmpdir())});
      const during = sync;
      p.then((s) => console.log(JSON.stringify({ during, library: s.library, again: na.nativeAgentLibrary(), after: sync })));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' })) as Record<string, unknown>;
    assert.equal(out.during, 0, 'the load check ran synchronously (spawnSync) inside ensureNativeAgent');
    assert.equal(out.library, nativeAgentLibrary());
    // and its answer is the one the synchronous callers (the collector's environment) get, with no check of their own
    assert.equal(out.again, out.library);
    assert.equal(out.after, 0);
  });

  it('compiled on first use with the user\'s cc into a cache folder (reused after), and a clear reason without a compiler', async () => {
    const cache = join(dir, 'cache with no space'.replace(/ /g, '-'));
    const made = await compileNativeAgent(cache);
    assert.equal(made.library !== undefined && made.compiled, true, JSON.stringify(made));
    const lib = made.library!;
    assert.ok(lib.startsWith(join(cache, 'native', 'linux-x64')) && lib.endsWith(NATIVE_AGENT_FILE));
    const again = await compileNativeAgent(cache, '/no/such/cc');
    assert.equal(again.library, lib, 'the compiled library is reused: no compiler needed the second time');
    // the compiled one works as the prebuilt one does
    const capture = new Capture();
    const collector = await Collector.start({ capture });
    try {
      const env = { ...collector.environment({}), LD_PRELOAD: lib };
      const r = await run(cppProgram, [dir], env);
      assert.equal(r.code, 5, r.stderr);
      await until(() => capture.peekSince(0).some((x) => x.kind === 'process' && x.state === 'exited'), 'the exit', 10000);
      assert.equal(capture.peekSince(0).filter((x) => x.kind === 'message').length, 19);
    } finally {
      await collector.stop();
      collector.dispose();
    }
    const none = await compileNativeAgent(join(dir, 'other-cache'), '/no/such/cc');
    assert.equal(none.library, undefined);
    assert.match((none as { reason: string }).reason, /^the native agent could not be compiled \(no C compiler \(\/no\/such\/cc\)\); C\/C\+\+ programs are observed on the wire only$/);
  });

  it('a C program: the same output and exit code with it; every socket and every message byte-exact in `zmq-debug run --json`', async () => {
    const plain = await run(cProgram, [dir]);
    assert.equal(plain.code, 7, plain.stderr);
    const r = await run(process.execPath, [CLI, 'run', '--json', '--', cProgram, dir]);
    assert.equal(r.code, 7, r.stderr);
    // with --json the program's stdout goes to stderr; after it, only run's closing doctor report
    const [programOut, doctor] = r.stderr.split(/^(?=zmq-debug run: the doctor found)/m);
    assert.equal(programOut, plain.stdout);
    assert.match(doctor ?? '', /^zmq-debug run: the doctor found 1 error and 2 warnings:\n/);
    const { records, errors } = parseJsonLines(r.stdout);
    assert.deepEqual(errors, []);
    const procs = records.filter((x): x is ProcessRecord => x.kind === 'process');
    const main = procs.find((p) => p.state === 'started' && p.process === 'zmq_all' && p.argv?.[1] === dir)!;
    assert.ok(main, 'the program is reported');
    assert.match(main.runtime!, /^native libzmq 4\.\d+\.\d+$/);
    // the forked child is a process of its own, with its parent
    const child = procs.find((p) => p.state === 'started' && p.ppid === main.pid)!;
    assert.ok(child, `the forked child: ${JSON.stringify(procs)}`);
    assert.deepEqual(
      procs.filter((p) => p.state === 'exited').map((p) => p.pid).sort(),
      [main.pid, child.pid].sort(),
      'both exits reported (the parent without closing anything)',
    );

    // every socket of the program, its type and its endpoints
    const socks = records.filter((x): x is SocketRecord => x.kind === 'socket' && x.pid === main.pid);
    const opens = socks.filter((s) => s.op === 'open');
    assert.deepEqual(opens.map((s) => s.socketType).sort(), ['PUB', 'PULL', 'PULL', 'PULL', 'PUSH', 'PUSH', 'PUSH', 'REP', 'REQ', 'SUB']);
    const tcpBind = socks.find((s) => s.op === 'bind' && s.requested === 'tcp://127.0.0.1:0')!;
    assert.match(tcpBind.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/, 'the real port of tcp://127.0.0.1:0');
    assert.ok(socks.some((s) => s.op === 'connect' && s.socketType === 'PUSH' && s.endpoint === tcpBind.endpoint));
    assert.ok(socks.some((s) => s.op === 'bind' && s.socketType === 'REP' && s.endpoint === `ipc://${dir}/rep.sock`));
    assert.ok(socks.some((s) => s.op === 'subscribe' && s.socketType === 'SUB' && Buffer.from(s.topic!).toString() === 'w'));
    assert.ok(socks.some((s) => s.op === 'option' && s.option === 'sndhwm' && s.value === 1));
    assert.deepEqual(socks.filter((s) => s.op === 'close').map((s) => s.socketType).sort(), ['PUSH', 'REP'], 'the threads closed theirs; main closed none');

    // every message the program printed, frame by frame, and no other
    assert.deepEqual(capturedMessages(records, main.pid!), printedMessages(plain.stdout));
    assert.deepEqual(capturedMessages(records, child.pid!), [`PUSH out ${Buffer.from('from child').toString('hex')}`]);

    // failed calls by errno, counted as the program counted them
    const events = records.filter((x): x is CapturedEvent => x.kind === 'event' && x.pid === main.pid);
    const fails = events.filter((e) => /^(send|recv):error$/.test(e.type));
    const [, sent, refused] = /full sent (\d+) refused (\d+)/.exec(plain.stdout)!.map(Number);
    assert.ok(sent > 0 && refused > 0);
    assert.deepEqual(
      fails.map((e) => `${e.endpoint} ${e.type} ${e.code} ${e.count}`).sort(),
      [`inproc://nobody send:error EAGAIN 5`, `inproc://slow send:error EAGAIN ${refused}`, `ipc://${dir}/rep.sock send:error EFSM 1`].sort(),
    );

    // monitor events (of the sockets still open when they happened: a socket's monitor stops when it closes): the
    // REQ's connection, the PULL's accept of the TCP PUSH, with the PUSH's address, its handshake and its end
    const socketType = (e: CapturedEvent) => opens.find((o) => o.socket === e.socket)?.socketType;
    const connect = events.find((e) => e.type === 'connect' && socketType(e) === 'REQ');
    assert.equal(connect?.address, `ipc://${dir}/rep.sock`, events.map((e) => `${socketType(e)} ${e.type} ${e.address}`).join(', '));
    const accept = events.find((e) => e.type === 'accept' && e.socket === tcpBind.socket)!;
    assert.ok(accept, 'the PULL accepted it');
    // the peer is read from the connection when the event is read: a connection already gone by then has none
    if (accept.peer) {
      assert.match(accept.peer, /^tcp:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(accept.peer, tcpBind.endpoint, "the peer of an accepted connection is the connecting side's address");
    }
    assert.ok(events.some((e) => e.type === 'handshake' && e.socket === tcpBind.socket));
    // the PUSH's connection ends while the program runs on: when its disconnect is read in time, it has the same peer
    for (const d of events.filter((e) => e.type === 'disconnect' && e.socket === tcpBind.socket)) assert.equal(d.peer, accept.peer);
    // the PUSH closed (by its thread): its monitor stopped with it, and no `end` of the agent's own monitor is reported
    assert.ok(!events.some((e) => e.type === 'end'));
  });

  it('the doctor on the C program: REQ out of turn (EFSM) and sends refused at the high-water mark and with no peer (EAGAIN)', async () => {
    const capture = new Capture();
    const collector = await Collector.start({ capture });
    const model = new TopologyModel(capture, undefined, { throttleMs: 10 });
    try {
      const r = await run(cProgram, [dir], collector.environment({}));
      assert.equal(r.code, 7, r.stderr || `no exit code: signal ${r.signal}, stdout ${JSON.stringify(r.stdout)}`);
      await until(() => model.snapshot().agents.processes.filter((p) => p.state === 'exited').length === 2, 'both processes to exit', 10000);
      const found = diagnose(model.snapshot());
      const efsm = found.filter((d) => d.rule === 'req-rep-out-of-turn');
      assert.equal(efsm.length, 1, found.map((d) => d.message).join('\n'));
      assert.match(efsm[0].message, /^REQ \S+ in zmq_all \(pid \d+[^)]*\) sent a request before receiving the reply to the previous one: 1 send call failed with EFSM/);
      const dropped = found.filter((d) => d.rule === 'send-dropped').map((d) => d.message);
      const refused = /full sent \d+ refused (\d+)/.exec(r.stdout)![1];
      assert.equal(dropped.length, 2, dropped.join('\n'));
      assert.ok(
        dropped.some((m) => new RegExp(`^${refused} sends on PUSH \\S+ in zmq_all .* failed with EAGAIN, at the high-water mark: the queue to its peer PULL .* \\(SNDHWM 1, the peer's RCVHWM 1\\)`).test(m)),
        dropped.join('\n'),
      );
      assert.ok(dropped.some((m) => /^5 sends on PUSH .* failed with EAGAIN, with no peer connected/.test(m)), dropped.join('\n'));
    } finally {
      model.dispose();
      await collector.stop();
      collector.dispose();
    }
  });

  /** `zmq-debug run --json` of the events fixture in `mode`: its output the same as without the agent, its records. */
  async function eventsRun(mode: string): Promise<{ records: CaptureRecord[]; pid: number; stdout: string }> {
    const plain = await run(eventsProgram, [mode]);
    assert.equal(plain.code, 0, plain.stderr);
    const r = await run(process.execPath, [CLI, 'run', '--json', '--', eventsProgram, mode]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.split(/^(?=zmq-debug run: )/m)[0], plain.stdout, 'the same output with the agent');
    const { records, errors } = parseJsonLines(r.stdout);
    assert.deepEqual(errors, []);
    const main = records.find((x): x is ProcessRecord => x.kind === 'process' && x.state === 'started')!;
    assert.ok(records.some((x) => x.kind === 'process' && x.state === 'exited'), 'the exit reported');
    return { records, pid: main.pid!, stdout: plain.stdout };
  }

  it('a program that monitors its own socket gets its events unchanged; the agent reports none for that socket', async () => {
    const { records, stdout } = await eventsRun('own');
    // listening, accepted, handshake succeeded, disconnected, monitor stopped: as libzmq numbers them
    assert.equal(stdout, ['event 8', 'event 32', 'event 4096', 'event 512', 'event 1024', ''].join('\n'));
    const opens = records.filter((x): x is SocketRecord => x.kind === 'socket' && x.op === 'open');
    const pull = opens.find((o) => o.socketType === 'PULL')!;
    const push = opens.find((o) => o.socketType === 'PUSH')!;
    const events = records.filter((x): x is CapturedEvent => x.kind === 'event');
    assert.deepEqual(events.filter((e) => e.socket === pull.socket), [], 'the program monitors the PULL: the agent does not');
    // the PUSH is the agent's to monitor: its connection, with the peer (read before the PUSH closes)
    const bind = records.find((x): x is SocketRecord => x.kind === 'socket' && x.op === 'bind' && x.socket === pull.socket)!;
    const connect = events.find((e) => e.type === 'connect' && e.socket === push.socket);
    assert.equal(connect?.address, bind.endpoint);
    assert.equal(connect?.peer, bind.endpoint);
  });

  it('2,000 sockets opened and closed, then 60 at once in a context of 64: the program runs as without the agent, no hang, no EMFILE', async () => {
    const { records } = await eventsRun('many');
    const socks = records.filter((x): x is SocketRecord => x.kind === 'socket');
    assert.equal(socks.filter((s) => s.op === 'open').length, 2061, 'only the program\'s sockets are reported, not the agent\'s');
    assert.equal(socks.filter((s) => s.op === 'close').length, 2061);
    // the hub (the first socket, open to the end) accepted the PUSHes and saw them go
    const hub = socks.find((s) => s.op === 'open')!.socket;
    const hubEvents = records.filter((x): x is CapturedEvent => x.kind === 'event' && x.socket === hub).map((e) => e.type);
    assert.ok(hubEvents.includes('accept') && hubEvents.includes('disconnect'), [...new Set(hubEvents)].join(', '));
  });

  it('zmq_proxy between a PULL and a PUSH: what it forwards is reported received by the one and sent by the other', async () => {
    const { records, pid } = await eventsRun('proxy');
    const opens = records.filter((x): x is SocketRecord => x.kind === 'socket' && x.op === 'open');
    // the frontend PULL and backend PUSH (made first), then the program's PUSH in and PULL out
    const [front, back, up, down] = opens.map((o) => o.socket!);
    const msgs = records.filter((x): x is CapturedMessage => x.kind === 'message' && x.pid === pid);
    const on = (socket: string, direction: string) =>
      msgs.filter((m) => m.socket === socket && m.direction === direction).map((m) => m.frames.map((f) => Buffer.from(f).toString()).join('|'));
    const jobs = Array.from({ length: 50 }, (_, i) => `k|job ${i}`);
    assert.deepEqual(on(up, 'out'), jobs);
    assert.deepEqual(on(front, 'in'), jobs, 'the proxy\'s frontend received each message');
    assert.deepEqual(on(back, 'out'), jobs, 'and its backend sent it');
    assert.deepEqual(on(down, 'in'), jobs);
    assert.equal(msgs.length, 200);
    assert.ok(!records.some((x) => x.kind === 'event' && (x as CapturedEvent).type === 'device:unseen'), 'nothing unseen: the direction is known');
  });

  it('a C++ program on cppzmq (threads, multipart, std::exit without closing): the same output and exit code; every message byte-exact', async () => {
    const plain = await run(cppProgram, [dir]);
    assert.equal(plain.code, 5, plain.stderr);
    const r = await run(process.execPath, [CLI, 'run', '--json', '--', cppProgram, dir]);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stderr, plain.stdout);
    const { records } = parseJsonLines(r.stdout);
    const main = records.find((x): x is ProcessRecord => x.kind === 'process' && x.state === 'started')!;
    assert.equal(main.process, 'zmq_cpp');
    const opens = records.filter((x): x is SocketRecord => x.kind === 'socket' && x.op === 'open');
    assert.deepEqual(opens.map((s) => s.socketType).sort(), ['PUB', 'PULL', 'PUSH', 'REP', 'REQ', 'SUB']);
    const printed = printedMessages(plain.stdout);
    assert.equal(printed.length, 19);
    assert.deepEqual(capturedMessages(records, main.pid!), printed);
    assert.ok(records.some((x) => x.kind === 'process' && x.state === 'exited'));
  });

  it('pyzmq on the shared libzmq with both agents: each message once, from the Python agent; without it (python -I), from the interposer', async () => {
    const script = join(dir, 'pz.py');
    writeFileSync(
      script,
      [
        'import zmq',
        'c = zmq.Context()',
        'a = c.socket(zmq.PUSH); a.bind("inproc://p")',
        'b = c.socket(zmq.PULL); b.connect("inproc://p")',
        'for i in range(50):',
        '    a.send_multipart([b"k", b"v%d" % i])',
        '    b.recv_multipart()',
        'a.close(); b.close(); c.term()',
        'print("done")',
      ].join('\n'),
    );
    for (const [flags, runtime] of [[[], /^python /], [['-I'], /^native libzmq/]] as const) {
      const r = await run(process.execPath, [CLI, 'run', '--json', '--', PYTHON, ...flags, script]);
      assert.equal(r.code, 0, r.stderr);
      const { records } = parseJsonLines(r.stdout);
      const procs = records.filter((x): x is ProcessRecord => x.kind === 'process' && x.state === 'started');
      assert.equal(procs.length, 1, `one reporter in the process: ${procs.map((p) => p.runtime).join(', ')}`);
      assert.match(procs[0].runtime!, runtime);
      const msgs = records.filter((x): x is CapturedMessage => x.kind === 'message');
      assert.equal(msgs.length, 100, `50 out and 50 in, none twice (python ${flags.join(' ')})`);
      assert.equal(new Set(msgs.map((m) => `${m.direction} ${Buffer.from(m.frames[1]).toString()}`)).size, 100);
      assert.equal(records.filter((x) => x.kind === 'socket' && x.op === 'open').length, 2);
    }
  });

  it('zeromq.js (libzmq linked into its addon) runs unchanged under it, reported by the Node agent alone', async () => {
    const script = join(dir, 'zjs.js');
    writeFileSync(
      script,
      `const zmq = require(${JSON.stringify(join(ROOT, 'node_modules', 'zeromq'))});
(async () => {
  const a = new zmq.Push(); await a.bind('inproc://x');
  const b = new zmq.Pull(); b.connect('inproc://x');
  for (let i = 0; i < 5; i++) { await a.send(['hi', String(i)]); await b.receive(); }
  a.close(); b.close(); console.log('ok');
})().catch((e) => { console.error(e); process.exit(1); });`,
    );
    const r = await run(process.execPath, [CLI, 'run', '--json', '--', process.execPath, script]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'ok\n');
    const { records } = parseJsonLines(r.stdout);
    const procs = records.filter((x): x is ProcessRecord => x.kind === 'process' && x.state === 'started');
    assert.deepEqual(procs.map((p) => p.runtime!.split(' ')[0]), ['node']);
    assert.equal(records.filter((x) => x.kind === 'message').length, 10);
  });

  it('silent without a collector: the same output, nothing on stderr, the same exit code', async () => {
    const plain = await run(cProgram, [dir]);
    const lib = nativeAgentLibrary()!;
    // a collector address nothing listens on (port 1), and no address at all
    const envs: Record<string, string>[] = [{ LD_PRELOAD: lib, ZMQ_DEBUG_COLLECTOR: '127.0.0.1:1', ZMQ_DEBUG_TOKEN: 'x' }, { LD_PRELOAD: lib }];
    for (const env of envs) {
      const r = await run(cProgram, [dir], env);
      assert.deepEqual([r.code, r.stdout, r.stderr], [plain.code, plain.stdout, ''], JSON.stringify(env));
    }
  });
});
