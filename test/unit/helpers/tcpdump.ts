/**
 * Captures on `lo` with the real tools (tcpdump or tshark) while a pyzmq
 * program runs: the program binds, prints `{"ports": [...]}`, waits for a go
 * file, talks, prints a last JSON line with `"done"`. The capture is filtered
 * on its ports and stopped with SIGINT once the program is done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runPython } from './peers';

const tools = new Set<ChildProcess>();

/** Kills a capture tool still running (afterEach). */
export function killCaptureTools(): void {
  for (const t of tools) if (t.exitCode === null && t.signalCode === null) t.kill('SIGKILL');
  tools.clear();
}

/** Runs `program` (args: its own, then the go file) while `tool` captures into `file`; resolves with the program's ports and its last JSON line. */
export async function captureOnLo(tool: 'tcpdump' | 'tshark', toolArgs: string[], program: string, programArgs: string[], file: string): Promise<{ ports: number[]; result: Record<string, unknown> }> {
  const go = `${file}.go`;
  const py = runPython(program, [...programArgs, go]);
  await py.waitFor('"ports"', 15000);
  const ports = JSON.parse(py.stdout().split('\n')[0]).ports as number[];
  const filter = ports.map((p) => `tcp port ${p}`).join(' or ');
  // --immediate-mode: libpcap otherwise hands packets over in blocks, and those still in a block when SIGINT comes are never written;
  // -B: a 64 MiB kernel buffer, so that a loaded machine drops nothing
  const args = tool === 'tcpdump' ? ['-U', '-n', '--immediate-mode', '-B', '65536', ...toolArgs, '-w', file, filter] : ['-B', '64', ...toolArgs, '-w', file, '-f', filter];
  const proc = spawn(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  tools.add(proc);
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const started = Date.now();
  while (!/listening on|Capturing on/.test(err)) {
    if (Date.now() - started > 15000 || proc.exitCode !== null) throw new Error(`${tool} did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // tshark says "Capturing on" before dumpcap has its filter on the interface
  if (tool === 'tshark') await new Promise((r) => setTimeout(r, 1500));
  fs.writeFileSync(go, '');
  try {
    await py.waitFor('"done"', 30000);
    // the closing packets, then the capture is stopped (dumpcap hands packets over every 250 ms or so)
    await new Promise((r) => setTimeout(r, tool === 'tshark' ? 1500 : 500));
  } finally {
    proc.kill('SIGINT');
    await exited;
    tools.delete(proc);
    fs.rmSync(go, { force: true });
  }
  if (!fs.existsSync(file)) throw new Error(`${tool} wrote no ${path.basename(file)}: ${err}`);
  return { ports, result: JSON.parse(py.stdout().trim().split('\n').pop()!) as Record<string, unknown> };
}
