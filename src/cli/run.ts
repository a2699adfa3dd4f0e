/**
 * `zmq-debug run [--json] [--decode NAME] [--check] -- COMMAND ARGS...`: runs
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
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { Capture } from '../core/capture/capture';
import { recordToLine } from '../core/capture/exportFormat';
import { formatRecord } from '../core/capture/recordText';
import { Collector } from '../core/sessions/collector';
import { TopologyModel } from '../core/topology/topology';
import { has, parseArgs } from './args';
import { DECODE_FLAG, DECODE_HELP, decoderFromArgs, printRecord } from './decodeOption';
import { doctorReport, DOCTOR_ERROR_EXIT } from './runDoctor';
import { UsageError } from './errors';
import { registerSubcommand } from './registry';

/** How long to wait, after COMMAND exits, for its agents' last reports. */
const DRAIN_MS = 1500;

registerSubcommand(
  `run [--json] ${DECODE_HELP} [--check] -- <command> [args...]`,
  `run a program with the agents: print its sockets and messages, then the doctor's findings at their lines; exit with its code (--check: ${DOCTOR_ERROR_EXIT} when it succeeded but the doctor found an error)`,
  (args) => runCommand(args),
);

/** run's options that take a value (the word after them is not the command). */
const VALUE_OPTIONS = new Set(Object.keys(DECODE_FLAG).map((k) => `--${k}`));

export async function runCommand(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  // options end at '--' or at the first word that is not an option: the rest is the command, untouched
  let i = 0;
  while (i < args.length && args[i].startsWith('--') && args[i] !== '--') i += VALUE_OPTIONS.has(args[i]) ? 2 : 1;
  i = Math.min(i, args.length);
  const p = parseArgs(args.slice(0, i), { json: { type: 'boolean' }, check: { type: 'boolean' }, ...DECODE_FLAG });
  const command = args.slice(args[i] === '--' ? i + 1 : i);
  if (p.positional.length || command.length === 0) throw new UsageError('give the command to run after --, e.g. zmq-debug run -- python3 pub_server.py');
  const json = has(p, 'json');
  const check = has(p, 'check');
  const decoder = decoderFromArgs(p);

  const capture = new Capture();
  const collector = await Collector.start({ capture });
  // the doctor's view of what the agents report, read as records arrive (the capture may evict them later)
  const model = new TopologyModel(capture, undefined, { throttleMs: 60_000 });
  let printed = 0;
  let missed = 0;
  const flush = () => {
    for (const r of capture.peekSince(printed)) {
      missed += r.seq - printed - 1;
      printed = r.seq;
      out.write((decoder ? printRecord(r, json, decoder) : json ? recordToLine(r) : formatRecord(r)) + '\n');
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
  // the agents send their last reports as their processes exit
  const end = Date.now() + DRAIN_MS;
  while (collector.state === 'receiving' && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setImmediate(r));
  await collector.stop();
  flush();
  sub.dispose();
  const st = collector.stats();
  if (st.agentDropped) err.write(`zmq-debug run: the agents dropped ${st.agentDropped} report(s) (the program sent faster than they look, or their queue to the collector was full)\n`);
  if (st.rejected || st.malformed || st.oversized) err.write(`zmq-debug run: refused ${st.rejected} connection(s), ${st.malformed} malformed and ${st.oversized} oversized frame(s)\n`);
  if (missed) err.write(`zmq-debug run: ${missed} record(s) were evicted from the capture before they could be printed\n`);
  const doctor = doctorReport(model.snapshot(), process.cwd());
  model.dispose();
  if (doctor.text) err.write(doctor.text);
  else if (check) err.write('zmq-debug run --check: the doctor found no error or warning\n');
  collector.dispose();
  capture.dispose();
  await new Promise<void>((r) => out.write('', () => r()));
  return check && code === 0 && doctor.errors > 0 ? DOCTOR_ERROR_EXIT : code;
}
