/**
 * Activation: the time of the extension's activate(), measured by the extension
 * itself (performance.now() around its body, exposed as `activationMs`) inside a
 * real VS Code extension host started by the tier-2 harness.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

export function measureActivationOnce(): number {
  const r = spawnSync(process.execPath, [join(ROOT, 'test/e2e/runHost.mjs'), '--grep', 'registers every command', '--timeout', '180'], { cwd: ROOT, encoding: 'utf8' });
  const m = /activate\(\) took ([\d.]+) ms/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`the extension host run failed (exit ${r.status}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  return Number(m[1]);
}
