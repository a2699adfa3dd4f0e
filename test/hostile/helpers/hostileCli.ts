/** Helpers of the hostile-input suite: the bundled CLI run to an end within a bound, and a pyzmq PUB of given payloads. */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../../unit/helpers/cli';
import { PythonPeer, runPython } from '../../unit/helpers/peers';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs dist/cli.js (`node esbuild.mjs` first); rejects when it has not ended within timeoutMs (then it is killed). */
export function cliWithin(args: string[], timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`zmq-debug ${args.join(' ').slice(0, 200)} did not end in ${timeoutMs} ms; stdout=${stdout.slice(-300)} stderr=${stderr.slice(-500)}`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/**
 * A pyzmq PUB bound on 127.0.0.1:port that publishes `messages` (each a list of
 * frames) over and over, every 50 ms, until killed. Resolves once it has bound.
 */
export async function publishForever(port: number, messages: Uint8Array[][]): Promise<PythonPeer> {
  const file = join(mkdtempSync(join(tmpdir(), 'zmq-hostile-')), 'messages.json');
  writeFileSync(file, JSON.stringify(messages.map((m) => m.map((f) => Buffer.from(f).toString('hex')))));
  const pub = runPython(
    `
import json, sys, time, zmq
msgs = [[bytes.fromhex(f) for f in m] for m in json.load(open(sys.argv[2]))]
s = zmq.Context().socket(zmq.PUB)
s.bind('tcp://127.0.0.1:' + sys.argv[1])
print('bound', flush=True)
while True:
    for m in msgs:
        s.send_multipart(m)
    time.sleep(0.05)
`,
    [port, file],
  );
  await pub.waitFor('bound');
  return pub;
}
