/**
 * Jupyter kernels found by themselves: the connection files (kernel-*.json) in
 * Jupyter's runtime directory, each with its kernel name, the pid of the
 * kernel process when it can be seen (Linux /proc), and its five channels with
 * their socket types. The signing key is kept (a JupyterKey, for the decoder's
 * signature check) and never appears in any text or JSON made from a kernel.
 */
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readRegularFile } from '../base/files';
import { JupyterChannel, parseConnectionInfo } from '../decoders/jupyterConnection';
import { JupyterKey } from '../decoders/jupyterKey';

export interface JupyterKernel {
  /** From the file name: kernel-<id>.json → <id>. */
  id: string;
  file: string;
  /** e.g. python3, when the file says. */
  kernelName?: string;
  /** The kernel process, when a process whose command line names the file is visible. */
  pid?: number;
  channels: JupyterChannel[];
  /** When the file was last written (epoch ms). */
  mtimeMs: number;
  /** The signing key (non-enumerable: JSON and inspection never show it). */
  readonly key: JupyterKey;
}

export interface JupyterKernelProblem {
  file: string;
  error: string;
}

export interface FindKernelsOptions {
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to process.platform. */
  platform?: NodeJS.Platform;
  /** Look for pids in /proc (Linux). Default true. */
  pids?: boolean;
}

/**
 * Where Jupyter keeps connection files, as `jupyter --runtime-dir` answers it:
 * $JUPYTER_RUNTIME_DIR, else $JUPYTER_DATA_DIR/runtime, else the platform's data
 * directory (~/.local/share/jupyter or $XDG_DATA_HOME/jupyter on Linux,
 * ~/Library/Jupyter on macOS, %APPDATA%\jupyter on Windows) + /runtime.
 */
export function jupyterRuntimeDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.JUPYTER_RUNTIME_DIR) return env.JUPYTER_RUNTIME_DIR;
  if (env.JUPYTER_DATA_DIR) return join(env.JUPYTER_DATA_DIR, 'runtime');
  const home = env.HOME ?? env.USERPROFILE ?? homedir();
  if (platform === 'darwin') return join(home, 'Library', 'Jupyter', 'runtime');
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'jupyter', 'runtime');
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'jupyter', 'runtime');
}

/** The kernels whose connection files are in the runtime directory (newest first), and the files that could not be read. */
export async function findJupyterKernels(o: FindKernelsOptions = {}): Promise<{ dir: string; kernels: JupyterKernel[]; problems: JupyterKernelProblem[] }> {
  const dir = jupyterRuntimeDir(o.env, o.platform);
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((n) => /^kernel-.+\.json$/.test(n));
  } catch {
    return { dir, kernels: [], problems: [] }; // no runtime directory: no kernels
  }
  const pids = o.pids !== false && (o.platform ?? process.platform) === 'linux' ? await processesNamingFiles(names.map((n) => join(dir, n))) : new Map<string, number>();
  const kernels: JupyterKernel[] = [];
  const problems: JupyterKernelProblem[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      // a regular file within the input limit: a kernel-*.json that is a FIFO or links to /dev/zero is refused, not read forever
      const text = readRegularFile(file).toString('utf8');
      const st = await fs.stat(file);
      const info = parseConnectionInfo(text, file);
      const k = {
        id: name.slice('kernel-'.length, -'.json'.length),
        file,
        ...(info.kernelName ? { kernelName: info.kernelName } : {}),
        ...(pids.has(file) ? { pid: pids.get(file) } : {}),
        channels: info.channels,
        mtimeMs: st.mtimeMs,
      } as JupyterKernel;
      Object.defineProperty(k, 'key', { value: info.key, enumerable: false });
      kernels.push(k);
    } catch (e) {
      problems.push({ file, error: (e as Error).message });
    }
  }
  kernels.sort((a, b) => b.mtimeMs - a.mtimeMs);
  return { dir, kernels, problems };
}

/** One line for a tree or a log: name, id, pid, and the channels (never the key). */
export function describeKernel(k: JupyterKernel): string {
  const channels = k.channels.map((c) => `${c.name} ${c.kernelSocket} ${c.endpoint}`).join(', ');
  return `${k.kernelName ?? 'kernel'} ${k.id}${k.pid !== undefined ? ` (pid ${k.pid})` : ''}: ${channels}`;
}

/** Linux: pids of processes whose command line holds one of `files` (ipykernel is started with `-f FILE`). */
async function processesNamingFiles(files: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (!files.length) return out;
  let entries: string[];
  try {
    entries = (await fs.readdir('/proc')).filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  await Promise.all(
    entries.map(async (pid) => {
      let cmd: string;
      try {
        cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'latin1');
      } catch {
        return; // gone, or not ours to read
      }
      const args = cmd.split('\0');
      for (const f of files) {
        // the file is one argument (-f FILE, --f=FILE or the kernel's own resolved path)
        if (args.some((a) => a === f || a.endsWith('=' + f))) {
          // should a wrapper and the kernel both name it, the kernel is usually the later-started, higher pid
          const prev = out.get(f);
          if (prev === undefined || Number(pid) > prev) out.set(f, Number(pid));
        }
      }
    }),
  );
  return out;
}
