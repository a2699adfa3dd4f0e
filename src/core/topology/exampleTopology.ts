/**
 * What the topology model learns from an example the extension started: each
 * role instance is a process with the sockets its catalog entry declares
 * ("PUB, binds …", "PULL, connects …") on the endpoints in its arguments, and
 * the ZeroMQ errors it printed on stderr.
 */
import type { ExampleProcess, ExampleRun } from '../examples/exampleRunner';
import { isKnownSocketType, normalizeSocketType } from '../zmq/socketTypes';
import type { TopologyProcess } from './topologyFacts';

export function processFromExample(run: ExampleRun, p: ExampleProcess): TopologyProcess {
  const role = run.example.roles.find((r) => r.name === p.role);
  const summary = role?.summary ?? '';
  // "PUB, binds, …" / "REQ with receive timeout, …": one leading socket type; "ROUTER ↔ DEALER proxy" names two and stays unknown
  const lead = /^([A-Z]+)\b(?!\s*[↔→←])/.exec(summary)?.[1];
  const socketType = lead && isKnownSocketType(normalizeSocketType(lead)) ? normalizeSocketType(lead) : undefined;
  const binds = /\bbinds?\b/i.test(summary);
  // a connect pointed at a tap's listen port really goes to the tap's target
  const viaTap = new Map(run.observations.filter((o) => o.kind === 'tap' && o.listen && o.inPath).map((o) => [o.listen!, o.endpoint]));
  const sockets: TopologyProcess['sockets'] = [];
  for (const a of p.args) {
    if (!/^(tcp|ipc|inproc):\/\//.test(a)) continue;
    const target = viaTap.get(a);
    const role: 'bind' | 'connect' = target ? 'connect' : binds ? 'bind' : 'connect';
    sockets.push({ endpoint: target ?? a, role, socketType });
  }
  const state: TopologyProcess['state'] =
    p.state === 'starting' ? 'starting' : p.state === 'running' ? 'running' : p.state === 'crashed' ? 'failed' : 'exited';
  const stderr = p
    .output()
    .filter((l) => l.stream === 'stderr')
    .map((l) => l.text)
    .join('\n');
  const out: TopologyProcess = { id: p.id, label: `${run.id} ${p.label}`, state, sockets };
  if (p.pid !== undefined) out.pid = p.pid;
  const errors = processErrorsFromOutput(stderr, Date.now());
  if (p.error) errors.push({ message: p.error, ts: Date.now() });
  if (errors.length) out.errors = errors;
  return out;
}


const PROCESS_ERROR = /address already in use|EADDRINUSE|connection refused|ECONNREFUSED|ZMQError|Error:/i;

/**
 * Errors worth showing from a program's output (stderr): ZeroMQ errors such as
 * "Address already in use". `endpoint` is filled when the line names one.
 */
export function processErrorsFromOutput(output: string, ts: number): NonNullable<TopologyProcess['errors']> {
  const out: NonNullable<TopologyProcess['errors']> = [];
  for (const line of output.split(/\r?\n/)) {
    const text = line.trim();
    if (!text || !PROCESS_ERROR.test(text)) continue;
    const ep = /\b(?:tcp|ipc|inproc):\/\/[^\s'",)]+/.exec(text)?.[0];
    out.push(ep ? { endpoint: ep, message: text, ts } : { message: text, ts });
    if (out.length >= 20) break;
  }
  return out;
}
