/**
 * `zmq-debug run` as a sanitizer for ZeroMQ: real pyzmq programs that each make
 * one mistake run under the real CLI; the doctor names the mistake at the very
 * line of the program (from the agent's call sites), and `--check` turns an
 * error into the documented exit code unless the program failed by itself.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { parseJsonLines } from '../../src/core/capture/exportFormat';
import { CapturedEvent, SocketRecord } from '../../src/core/capture/records';
import { DOCTOR_ERROR_EXIT } from '../../src/cli/runDoctor';
import { Capture } from '../../src/core/capture/capture';
import { Collector } from '../../src/core/sessions/collector';
import { diagnose } from '../../src/core/topology/doctor';
import { TopologyModel } from '../../src/core/topology/topology';
import { AGENT_FIXTURES, killAllRuns, run } from './helpers/agentRun';
import { CLI } from './helpers/cli';
import { PYTHON, until } from './helpers/peers';

const HERE = join(__dirname, 'fixtures', 'sanitizer');
const fixture = (name: string) => join(HERE, name);

/** `zmq-debug run [options] -- python3 FILE args`, from the fixtures' folder (so that the findings name FILE relative to it). */
function sanitize(options: string[], file: string, ...args: string[]) {
  return run(process.execPath, [CLI, 'run', ...options, '--', PYTHON, fixture(file), ...args], {}, 60000);
}

/** The doctor's lines on stderr: `FILE:LINE: severity: message [rule]`. */
function findings(stderr: string): { file: string; line: number; severity: string; message: string; rule: string }[] {
  return [...stderr.matchAll(/^(\S+?):(\d+): (error|warning): (.*) \[([a-z-]+)\]$/gm)].map((m) => ({ file: m[1], line: Number(m[2]), severity: m[3], message: m[4], rule: m[5] }));
}

describe('zmq-debug run: the doctor at the end, findings at their lines, --check as a CI gate', function () {
  this.timeout(90000);
  afterEach(killAllRuns);

  it('a REQ sending out of turn: error at the line of the second send; --check exits with the doctor’s code, or the program’s own when it failed', async () => {
    const plain = await sanitize([], 'out_of_turn.py');
    assert.equal(plain.code, 0, 'without --check the program’s code, whatever the doctor says');
    assert.match(plain.stdout, /EFSM: True/);
    const [f, ...more] = findings(plain.stderr);
    assert.deepEqual(more, [], plain.stderr);
    assert.deepEqual([f.file, f.line, f.severity, f.rule], [fixture('out_of_turn.py'), 13, 'error', 'req-rep-out-of-turn']);
    assert.match(f.message, /^REQ \S+ in out_of_turn\.py \(pid \d+\) sent a request before receiving the reply to the previous one: 1 send call failed with EFSM/);
    assert.match(plain.stderr, /zmq-debug run: the doctor found 1 error:\n/);

    const gate = await sanitize(['--check'], 'out_of_turn.py');
    assert.equal(gate.code, DOCTOR_ERROR_EXIT, gate.stderr);
    assert.equal(DOCTOR_ERROR_EXIT, 66);
    const failed = await sanitize(['--check'], 'out_of_turn.py', '5');
    assert.equal(failed.code, 5, 'the program’s own failure comes first');
    assert.equal(findings(failed.stderr).length, 1);
  });

  it('a bind to a port in use: error (endpoint-failed) at the bind’s line; the bind record carries its site in the export format', async () => {
    const r = await sanitize(['--check', '--json'], 'bind_twice.py');
    assert.equal(r.code, DOCTOR_ERROR_EXIT, r.stderr);
    const [f] = findings(r.stderr);
    assert.deepEqual([f.line, f.severity, f.rule], [10, 'error', 'endpoint-failed']);
    assert.match(f.message, /^PULL \S+ in bind_twice\.py \(pid \d+\) could not bind tcp:\/\/127\.0\.0\.1:\d+: EADDRINUSE: Address already in use\./);
    const parsed = parseJsonLines(r.stdout);
    assert.deepEqual(parsed.errors, []);
    const binds = parsed.records.filter((x): x is SocketRecord => x.kind === 'socket' && x.op === 'bind');
    assert.equal(binds.length, 2);
    assert.deepEqual(binds[1].site, { file: fixture('bind_twice.py'), line: 10 });
    assert.equal(binds[1].code, 'EADDRINUSE');
    // the first bind went through bind_to_random_port (pyzmq's Python code): its site is still the program's line
    assert.deepEqual(binds[0].site, { file: fixture('bind_twice.py'), line: 7 });
    const opens = parsed.records.filter((x): x is SocketRecord => x.kind === 'socket' && x.op === 'open');
    assert.deepEqual(opens.map((o) => o.site?.line), [6, 8], 'each socket where ctx.socket() made it');
  });

  it('warnings do not fail --check: sends refused at the HWM (at the send’s line) and a subscription near-miss (at the subscribe’s line)', async () => {
    const hwm = await sanitize(['--check', '--json'], 'hwm.py');
    assert.equal(hwm.code, 0, hwm.stderr);
    assert.match(hwm.stderr, /refused 8/);
    const [h] = findings(hwm.stderr);
    assert.deepEqual([h.line, h.severity, h.rule], [15, 'warning', 'send-dropped']);
    assert.match(h.message, /^8 sends on PUSH \S+ in hwm\.py \(pid \d+\) failed with EAGAIN, at the high-water mark/);
    const fails = parseJsonLines(hwm.stdout).records.filter((x): x is CapturedEvent => x.kind === 'event' && x.type === 'send:error');
    assert.ok(fails.length >= 1 && fails.every((e) => e.site?.line === 15 && e.code === 'EAGAIN'), JSON.stringify(fails));

    const near = await sanitize(['--check'], 'near_miss.py');
    assert.equal(near.code, 0, near.stderr);
    const [n] = findings(near.stderr);
    assert.deepEqual([n.line, n.severity, n.rule], [11, 'warning', 'sub-near-miss']);
    assert.match(n.message, /subscribes to "Weather" and has received nothing/);
  });

  it('a healthy program: no finding, --check exits 0 and says so', async () => {
    const r = await sanitize(['--check'], 'clean.py');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(findings(r.stderr), []);
    assert.match(r.stderr, /zmq-debug run --check: the doctor found no error or warning\n/);
    const quiet = await sanitize([], 'clean.py');
    assert.doesNotMatch(quiet.stderr, /doctor/, 'without --check a clean run adds nothing');
  });

  it('the Node agent: sites of socket creation, bind, connect and subscribe at their lines, a failed receive at the line of the socket’s first receive', async () => {
    const file = join(AGENT_FIXTURES, 'node_pushpull.js');
    const r = await run(process.execPath, [CLI, 'run', '--json', '--', process.execPath, file]);
    assert.equal(r.code, 0, r.stderr);
    const recs = parseJsonLines(r.stdout).records;
    const socks = recs.filter((x): x is SocketRecord => x.kind === 'socket' && x.op !== 'close');
    assert.ok(socks.every((x) => x.site?.file === file), JSON.stringify(socks.map((x) => x.site)));
    assert.deepEqual(
      socks.map((x) => `${x.op} ${x.socketType} ${x.site!.line}`),
      ['open PUSH 5', 'bind PUSH 5', 'open PULL 7', 'connect PULL 7', 'open SUB 9', 'subscribe SUB 9', 'connect SUB 10', 'open PULL 15'],
    );
    const failed = recs.filter((x): x is CapturedEvent => x.kind === 'event' && x.type === 'recv:error');
    assert.deepEqual(failed.map((e) => [e.code, e.site]), [['EAGAIN', { file, line: 15 }]]);
  });
});

describe('findings of exited programs stay until the capture is cleared or the program runs again', function () {
  this.timeout(60000);
  let capture: Capture;
  let collector: Collector;
  let model: TopologyModel;
  beforeEach(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture });
    model = new TopologyModel(capture, undefined, { throttleMs: 10 });
  });
  afterEach(async () => {
    await killAllRuns();
    model.dispose();
    await collector.stop();
    collector.dispose();
    capture.dispose();
  });

  const outOfTurn = (now: number) => diagnose(model.snapshot(now)).filter((d) => d.rule === 'req-rep-out-of-turn');
  const runOnce = async () => {
    const r = await run(PYTHON, [fixture('out_of_turn.py')], collector.environment({}));
    assert.equal(r.code, 0, r.stderr);
    await until(() => model.snapshot().agents.processes.some((p) => p.pid === r.pid && p.state === 'exited'), 'the exit', 8000);
    return r.pid;
  };

  it('an hour after the exit the finding is still there, at its line, marked; a second run replaces it; clearing the capture ends it', async () => {
    const first = await runOnce();
    const later = Date.now() + 3600_000;
    const [d, ...more] = outOfTurn(later);
    assert.deepEqual(more, []);
    assert.match(d.message, new RegExp(`^REQ ${first}\\.2 in out_of_turn\\.py \\(pid ${first}, exited 1 h ago\\)`));
    assert.deepEqual(d.location, { file: fixture('out_of_turn.py'), line: 12 }, '0-based: line 13');
    // the same program again: its earlier run is history
    const second = await runOnce();
    assert.deepEqual(outOfTurn(Date.now()).map((x) => x.message.match(/pid (\d+)/)![1]), [String(second)]);
    capture.clear();
    assert.deepEqual(outOfTurn(Date.now()), []);
  });
});
