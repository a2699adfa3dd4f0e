/**
 * `zmq-debug run [--json] [--decode NAME] [--check] [--wait-exits S] -- COMMAND ARGS...`: runs
 * COMMAND (and whatever it spawns: they inherit the environment) with the
 * zmq-debug agents and a collector of its own, prints every process, socket and
 * message they report (human lines, or the JSON Lines export format with
 * --json; with --decode, each message's payload decoded too), then the doctor's
 * errors and warnings on stderr, each at its line in the program, and exits with
 * COMMAND's exit code (128 + signal number when a signal ended it). With
 * --check (a CI gate), a COMMAND that succeeded exits with DOCTOR_ERROR_EXIT
 * when the doctor found an error (see docs/sanitizer.md).
 *
 * With --json, stdout carries only records: COMMAND's own stdout goes to stderr.
 *
 * When COMMAND exits, run goes on collecting while any process it observed
 * still runs (daemons, forked workers, ipyparallel's nannies), for at most
 * --wait-exits SECONDS (default 10; Ctrl-C stops waiting); those still running
 * then are named on stderr, and get no exit record: none was seen.
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { Capture } from '../core/capture/capture';
import { recordToLine } from '../core/capture/exportFormat';
import { formatRecord } from '../core/capture/recordText';
import type { AgentProcessFacts } from '../core/sessions/agentStore';
import { Collector } from '../core/sessions/collector';
import { defaultNativeCacheDir, ensureNativeAgent } from '../core/sessions/nativeAgent';
import { TopologyModel } from '../core/topology/topology';
import { has, parseArgs, secondsFlag } from './args';
import { DECODE_FLAG, DECODE_HELP, decoderFromArgs, printRecord } from './decodeOption';
import { doctorReport, DOCTOR_ERROR_EXIT } from './runDoctor';
import { UsageError } from './errors';
import { registerSubcommand } from './registry';

/** How long to wait, after COMMAND exits, for its agents' last reports. */
const DRAIN_MS = 1500;
/** Processes whose agents had not connected yet when COMMAND exited: how long they have to do so. */
const LATE_AGENT_MS = 500;
/** How long, by default, run waits after COMMAND for the other processes it observed to exit. */
const WAIT_EXITS_S = 10;

registerSubcommand(
  `run [--json] ${DECODE_HELP} [--check] [--wait-exits SECONDS] -- <command> [args...]`,
  `run a program with the agents: print its sockets and messages, then the doctor's findings at their lines; exit with its code (--check: ${DOCTOR_ERROR_EXIT} when it succeeded but the doctor found an error)`,
  (args) => runCommand(args),
);

/** run's options that take a value (the word after them is not the command). */
const VALUE_OPTIONS = new Set(['--wait-exits', ...Object.keys(DECODE_FLAG).map((k) => `--${k}`)]);

export async function runCommand(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  // options end at '--' or at the first word that is not an option: the rest is the command, untouched
  let i = 0;
  while (i < args.length && args[i].startsWith('--') && args[i] !== '--') i += VALUE_OPTIONS.has(args[i]) ? 2 : 1;
  i = Math.min(i, args.length);
  const p = parseArgs(args.slice(0, i), { json: { type: 'boolean' }, check: { type: 'boolean' }, 'wait-exits': { type: 'string' }, ...DECODE_FLAG });
  const command = args.slice(args[i] === '--' ? i + 1 : i);
  if (p.positional.length || command.length === 0) throw new UsageError('give the command to run after --, e.g. zmq-debug run -- python3 pub_server.py');
  const json = has(p, 'json');
  const check = has(p, 'check');
  const decoder = decoderFromArgs(p);
  const waitExits = secondsFlag(p, 'wait-exits', true) ?? WAIT_EXITS_S;

  // C/C++/Go/Rust programs: the native agent, compiled here on first use where no prebuilt one loads
  const native = await ensureNativeAgent(defaultNativeCacheDir());
  if (native.library === undefined) err.write(`zmq-debug run: ${native.reason}\n`);
  const capture = new Capture();
  const collector = await Collector.start({ capture });
  // the doctor's view of what the agents report, read as records arrive (the capture may evict them later)
  const model = new TopologyModel(capture, undefined, { throttleMs: 60_000 });
  let printed = 0;
  let missed = 0;
  const flush = () => {
    // batch by batch: a batch stops early when its records hold many frames
    for (let batch = capture.peekSince(printed, 1024); batch.length; batch = capture.peekSince(printed, 1024)) {
      for (const r of batch) {
        missed += r.seq - printed - 1;
        printed = r.seq;
        out.write((decoder ? printRecord(r, json, decoder) : json ? recordToLine(r) : formatRecord(r)) + '\n');
      }
    }
  };
  const sub = capture.onDidAppend(flush);

  // With --json, COMMAND writes straight to our stderr's descriptor, never through us: if
  // zmq-debug dies (killed, a closed terminal) the program must not die of a broken pipe.
  // Only a caller that hands us a stream without a descriptor (a test in process) gets a pipe.
  const direct = !json || err === process.stderr;
  const child = spawn(command[0], command.slice(1), {
    env: { ...process.env, ...collector.environment(process.env) },
    stdio: ['inherit', json ? (direct ? 2 : 'pipe') : 'inherit', 'inherit'],
  });
  if (!direct) child.stdout!.pipe(err as NodeJS.WritableStream, { end: false });
  // Ctrl-C reaches COMMAND through the terminal; we stay to print what it reports until it exits
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);
  let code: number;
  try {
    code = await new Promise<number>((resolve, reject) => {
      child.once('error', (e) => reject(new Error(`cannot run ${command[0]}: ${e.message}`)));
      child.once('exit', (c, signal) => resolve(c ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0)));
    });
  } catch (e) {
    await collector.stop();
    model.dispose();
    collector.dispose();
    throw e;
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGTERM', ignore);
  }
  const stillRunning = await waitForExits(collector, waitExits);
  await collector.stop();
  flush();
  if (stillRunning.length) {
    const names = stillRunning.map((p) => `${p.name} (pid ${p.pid})`);
    err.write(`zmq-debug run: ${names.length} observed process(es) still running after ${waitExits} s, no longer followed: ${names.join(', ')}\n`);
  }
  sub.dispose();
  err.write(lossesText(collector.stats(), missed));
  const doctor = doctorReport(model.snapshot(), process.cwd());
  model.dispose();
  if (doctor.text) err.write(doctor.text);
  else if (check) err.write('zmq-debug run --check: the doctor found no error or warning\n');
  collector.dispose();
  capture.dispose();
  await new Promise<void>((r) => out.write('', () => r()));
  return check && code === 0 && doctor.errors > 0 ? DOCTOR_ERROR_EXIT : code;
}

/** What the agents and the collector dropped or refused, and the records evicted unprinted, as lines for stderr ('' when none). */
function lossesText(st: ReturnType<Collector['stats']>, missed: number): string {
  let text = '';
  if (st.agentDropped) text += `zmq-debug run: the agents dropped ${st.agentDropped} report(s) (the program sent faster than they look, or their queue to the collector was full)\n`;
  if (st.rejected || st.malformed || st.oversized) text += `zmq-debug run: refused ${st.rejected} connection(s), ${st.malformed} malformed and ${st.oversized} oversized frame(s)\n`;
  if (st.evicted || st.refused) text += `zmq-debug run: closed ${st.evicted} connection(s) that did not say hello to make room, turned away ${st.refused} agent(s) over the limit\n`;
  if (missed) text += `zmq-debug run: ${missed} record(s) were evicted from the capture before they could be printed\n`;
  return text;
}

/**
 * After COMMAND exited: its agents send their last reports as their processes
 * exit. Waits for every process the collector saw to report its exit (or its
 * connection to close), for at most `seconds` (and at least the short drain of
 * the last reports); a Ctrl-C ends the wait. Returns those still running.
 */
async function waitForExits(collector: Collector, seconds: number): Promise<AgentProcessFacts[]> {
  const running = () => collector.model.processes().filter((p) => p.state === 'running');
  let interrupted = false;
  const interrupt = () => (interrupted = true);
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  try {
    // at least the short drain of the last reports, even with --wait-exits 0; a process whose
    // agent connects within LATE_AGENT_MS after COMMAND's exit is waited for too
    const now = Date.now();
    const end = now + Math.max(DRAIN_MS, seconds * 1000);
    const late = now + LATE_AGENT_MS;
    while (!interrupted && (running().length || Date.now() < late) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setImmediate(r));
    return running();
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}
