import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { parseJsonLines } from '../../src/core/capture/exportFormat';
import { CapturedMessage, ProcessRecord, SocketRecord } from '../../src/core/capture/records';
import { AGENT_FIXTURES, killAllRuns, run } from './helpers/agentRun';
import { PYTHON } from './helpers/peers';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

describe('zmq-debug run', function () {
  this.timeout(30000);
  afterEach(killAllRuns);

  it('--json: the program runs with the agent, stdout is the export format (source agent), the exit code is the program’s', async () => {
    const r = await run(process.execPath, [CLI, 'run', '--json', '--', PYTHON, join(AGENT_FIXTURES, 'inproc_threads.py')]);
    assert.equal(r.code, 0, r.stderr);
    // the program's own output goes to stderr so stdout stays JSON Lines
    assert.match(r.stderr, /out of turn: True\nbye\n/);
    const parsed = parseJsonLines(r.stdout);
    assert.deepEqual(parsed.errors, []);
    assert.ok(parsed.records.every((x) => x.source === 'agent' && x.pid !== undefined && x.process === 'inproc_threads.py'));
    const procs = parsed.records.filter((x): x is ProcessRecord => x.kind === 'process');
    assert.deepEqual(procs.map((p) => p.state), ['started', 'exited']);
    const socks = parsed.records.filter((x): x is SocketRecord => x.kind === 'socket');
    assert.deepEqual(socks.filter((s) => s.op === 'open').map((s) => s.socketType), ['REP', 'REQ']);
    const msgs = parsed.records.filter((x): x is CapturedMessage => x.kind === 'message');
    assert.equal(msgs.length, 12);
    assert.ok(msgs.every((m) => m.socket !== undefined && (m.direction === 'in' || m.direction === 'out') && m.endpoint === 'inproc://work'));
  });

  it('exits with the program’s code, prints human lines without --json, and refuses a missing command', async () => {
    const r = await run(process.execPath, [CLI, 'run', '--', PYTHON, join(AGENT_FIXTURES, 'exits_at_once.py')]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /exits_at_once\.py\[\d+\] socket \d+\.1 tcp:\/\/127\.0\.0\.1:\d+ → out PUB 1f \| last words/);
    const bad = await run(process.execPath, [CLI, 'run', '--json']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /give the command to run after --/);
    const missing = await run(process.execPath, [CLI, 'run', '--', 'no-such-program-here']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot run no-such-program-here/);
  });
});
