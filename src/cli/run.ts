/**
 * `zmq-debug run [--json] -- COMMAND ARGS...`: runs COMMAND (and whatever it
 * spawns: they inherit the environment) with the zmq-debug agents and a
 * collector of its own, prints every process, socket and message they report
 * (human lines, or the JSON Lines export format with --json), and exits with
 * COMMAND's exit code (128 + signal number when a signal ended it).
 *
 * With --json, stdout carries only records: COMMAND's own stdout goes to stderr.
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { Capture } from '../core/capture/capture';
import { recordToLine } from '../core/capture/exportFormat';
import { formatRecord } from '../core/capture/recordText';
import { Collector } from '../core/sessions/collector';
import { has, parseArgs } from './args';
import { UsageError } from './errors';
import { registerSubcommand } from './registry';

/** How long to wait, after COMMAND exits, for its agents' last reports. */
const DRAIN_MS = 1500;

registerSubcommand('run [--json] -- <command> [args...]', "run a program with the agents: print its sockets and messages, exit with its code", (args) =>
  runCommand(args),
);

export async function runCommand(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  // options end at '--' or at the first word that is not an option: the rest is the command, untouched
  let i = 0;
  while (i < args.length && args[i].startsWith('--') && args[i] !== '--') i++;
  const p = parseArgs(args.slice(0, i), { json: { type: 'boolean' } });
  const command = args.slice(args[i] === '--' ? i + 1 : i);
  if (p.positional.length || command.length === 0) throw new UsageError('give the command to run after --, e.g. zmq-debug run -- python3 pub_server.py');
  const json = has(p, 'json');

  const capture = new Capture();
  const collector = await Collector.start({ capture });
  let printed = 0;
  let missed = 0;
  const flush = () => {
    // batch by batch: a batch stops early when its records hold many frames
    for (let batch = capture.peekSince(printed, 1024); batch.length; batch = capture.peekSince(printed, 1024)) {
      for (const r of batch) {
        missed += r.seq - printed - 1;
        printed = r.seq;
        out.write((json ? recordToLine(r) : formatRecord(r)) + '\n');
      }
    }
  };
  const sub = capture.onDidAppend(flush);

  const child = spawn(command[0], command.slice(1), {
    env: { ...process.env, ...collector.environment(process.env) },
    stdio: ['inherit', json ? 'pipe' : 'inherit', 'inherit'],
  });
  if (json) child.stdout!.pipe(err as NodeJS.WritableStream, { end: false });
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
  if (st.evicted || st.refused) err.write(`zmq-debug run: closed ${st.evicted} connection(s) that did not say hello to make room, turned away ${st.refused} agent(s) over the limit\n`);
  if (missed) err.write(`zmq-debug run: ${missed} record(s) were evicted from the capture before they could be printed\n`);
  collector.dispose();
  capture.dispose();
  await new Promise<void>((r) => out.write('', () => r()));
  return code;
}
