/**
 * `zmq-debug examples list` and `zmq-debug examples run NAME`: the seed systems
 * as real processes, one command away. `run` prints every process's output
 * prefixed by its role, says where to watch, and stops everything after
 * --seconds or on Ctrl-C. With --observe the example starts already wired to
 * our own tools: spies on its PUB endpoints, the monitor spy on a monitored
 * queue's monitor PUB, and ZMTP taps between its connecting and binding roles;
 * what they capture is printed between the programs' lines.
 */
import { Capture } from '../core/capture/capture';
import { EXAMPLES, findExample } from '../core/examples/catalog';
import { ExampleRun, ExampleRunner, findPythonWithZmq, Observation } from '../core/examples/exampleRunner';
import { formatRecord } from '../core/capture/recordText';
import { CaptureSession } from '../core/sessions/session';
import { MonitorSpy, PubSpy } from '../core/sessions/spy';
import { ZmtpTap } from '../core/sessions/tap';
import { parseTopic } from '../core/zmq/topics';
import { flag, has, intFlag, MAX_TIMER_MS, parseArgs, secondsFlag } from './args';
import { UsageError } from './errors';
import { registerSubcommand } from './registry';

const SUMMARY = 'list the seed examples, or run one as real processes [--python] [--seconds N] [--interval MS] [--observe]';

registerSubcommand('examples list|run <name>', SUMMARY, async (args) => {
  const [action, ...rest] = args;
  if (action === 'list') return list(rest);
  if (action === 'run') return run(rest);
  throw new UsageError(action === undefined ? 'say list or run, e.g. zmq-debug examples run round-robin' : `unknown action '${action}' (list or run)`);
});

function list(args: string[]): number {
  const p = parseArgs(args, { json: { type: 'boolean' } });
  if (p.positional.length) throw new UsageError(`list takes no arguments (got '${p.positional[0]}')`);
  if (has(p, 'json')) {
    const rows = EXAMPLES.map((e) => ({ id: e.id, title: e.title, seed: e.seed, description: e.description, roles: e.roles.map((r) => ({ name: r.name, instances: r.instances ?? 1 })) }));
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  const width = Math.max(...EXAMPLES.map((e) => e.id.length));
  for (const e of EXAMPLES) {
    const roles = e.roles.map((r) => ((r.instances ?? 1) > 1 ? `${r.name}×${r.instances}` : r.name)).join(', ');
    process.stdout.write(`${e.id.padEnd(width)}  ${e.title} (${roles})\n${' '.repeat(width)}  seed: ${e.seed}\n`);
  }
  return 0;
}

async function run(args: string[]): Promise<number> {
  const p = parseArgs(args, {
    python: { type: 'boolean' },
    'python-path': { type: 'string' },
    seconds: { type: 'string' },
    interval: { type: 'string' },
    observe: { type: 'boolean' },
  });
  if (p.positional.length !== 1) throw new UsageError('give one example name, e.g. zmq-debug examples run round-robin (see zmq-debug examples list)');
  const example = findExample(p.positional[0]);
  if (!example) throw new UsageError(`unknown example '${p.positional[0]}'; known: ${EXAMPLES.map((e) => e.id).join(', ')}`);
  const seconds = secondsFlag(p, 'seconds');
  const intervalMs = intFlag(p, 'interval', 10, MAX_TIMER_MS);
  const pythonPath = flag(p, 'python-path');
  const language = has(p, 'python') || pythonPath ? 'python' : 'node';
  const python = language === 'python' ? await pythonWithZmq(pythonPath) : undefined;

  const runner = new ExampleRunner();
  const out = process.stdout;
  // A closed pipe (`| head`) ends the run cleanly instead of crashing past the cleanup.
  let outClosed = false;
  let endRun = () => undefined as void;
  const onOutError = () => {
    outClosed = true;
    endRun();
  };
  out.on('error', onOutError);
  const write = (text: string) => {
    if (!outClosed) out.write(text);
  };
  let width = 0;
  runner.onDidOutput(({ process: proc, line }) => {
    const text = line.stream === 'system' ? `(${line.text})` : line.text;
    write(`${proc.label.padEnd(width)} | ${line.stream === 'stderr' ? '! ' : ''}${text}\n`);
  });
  const capture = new Capture();
  const sessions: CaptureSession[] = [];
  let exampleRun: ExampleRun | undefined;
  try {
    width = Math.max(...example.roles.map((r) => r.name.length + ((r.instances ?? 1) > 1 ? 2 : 0)));
    const observe = has(p, 'observe');
    exampleRun = await runner.start(example.id, { language, python, intervalMs, useTaps: observe });
    process.stderr.write(describe(exampleRun));
    if (observe) {
      for (const o of exampleRun.observations) {
        const s = startObserver(o, capture, sessions.length + 1);
        sessions.push(s);
        if (s instanceof ZmtpTap) await s.listen();
      }
      printObserved(capture, width, write);
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        process.off('SIGINT', done);
        process.off('SIGTERM', done);
        resolve();
      };
      const timer = seconds === undefined ? undefined : setTimeout(done, seconds * 1000);
      process.on('SIGINT', done);
      process.on('SIGTERM', done);
      endRun = done;
      if (outClosed) done();
    });
  } finally {
    await Promise.all(sessions.map((s) => s.stop()));
    await runner.dispose();
    capture.dispose();
    out.off('error', onOutError);
  }
  const crashed = exampleRun?.processes.filter((x) => x.state === 'crashed') ?? [];
  if (crashed.length) process.stderr.write(`crashed: ${crashed.map((x) => `${x.label} (code ${x.exitCode ?? x.signal})`).join(', ')}\n`);
  return crashed.length ? 1 : 0;
}

/** --python: the Python to run the example with (--python-path, or one found with pyzmq), named on stderr. */
async function pythonWithZmq(pythonPath: string | undefined): Promise<string> {
  const found = await findPythonWithZmq(pythonPath ? [pythonPath] : undefined);
  if (!found) throw new Error(pythonPath ? `${pythonPath} cannot import zmq` : 'no Python with pyzmq found (Debian: apt install python3-zmq)');
  process.stderr.write(`using ${found.command} (pyzmq ${found.pyzmqVersion}, libzmq ${found.libzmqVersion})\n`);
  return found.command;
}

/** --observe: the observers' records as lines, one write per batch of records, not one per record. */
function printObserved(capture: Capture, width: number, write: (text: string) => void): void {
  let printed = 0;
  capture.onDidAppend(() => {
    for (let batch = capture.peekSince(printed, 1000); batch.length; batch = capture.peekSince(printed, 1000)) {
      let text = '';
      for (const r of batch) text += `${'observed'.padEnd(width)} | ${formatRecord(r)}\n`;
      printed = batch[batch.length - 1].seq;
      write(text);
    }
  });
}

/** Where to watch, as lines for stderr (so that stdout stays the programs' output). */
function describe(run: ExampleRun): string {
  const lines = [`${run.example.title} — ${run.id}, ${run.language}, pids ${run.processes.map((x) => `${x.label}=${x.pid}`).join(' ')}`];
  lines.push(`watch for: ${run.example.watchFor}`);
  for (const o of run.observations) {
    if (o.kind === 'spy') lines.push(`  spy     ${o.endpoint}  (${o.label})  zmq-debug spy ${o.endpoint}`);
    else if (o.kind === 'monitor') lines.push(`  monitor ${o.endpoint}  (${o.label})  zmq-debug monitor ${o.endpoint}`);
    else lines.push(`  tap     ${o.endpoint}  (${o.label})${o.listen ? ` listen on ${o.listen}` : ''}`);
  }
  return lines.join('\n') + '\n';
}

function startObserver(o: Observation, capture: Capture, n: number): CaptureSession {
  switch (o.kind) {
    case 'spy':
      return new PubSpy({ id: `spy${n}`, endpoints: [o.endpoint], topics: (o.topics ?? []).map((t) => parseTopic(t)), capture });
    case 'monitor':
      return new MonitorSpy({ id: `monitor${n}`, endpoint: o.endpoint, inPrefix: o.inPrefix, outPrefix: o.outPrefix, capture });
    case 'tap':
      // The run was started with taps: the connecting roles already point at `listen`.
      return new ZmtpTap({ target: o.endpoint, listen: o.listen, id: `tap${n}` }, capture);
  }
}
