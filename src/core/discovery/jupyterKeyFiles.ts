/**
 * `--decode jupyter` without a file: the signing key found by the message's
 * endpoint. The candidates are the connection files on this machine: kernels'
 * (kernel-*.json in Jupyter's runtime directory) and ipyparallel clusters'
 * (ipcontroller-client.json and ipcontroller-engine.json in each IPython
 * profile's security folder). The key of the one file that names the
 * endpoint's port is used; none, or several (ambiguous), and the signature
 * stays unchecked. Keys stay JupyterKeys: never shown.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseSigningKey } from '../decoders/jupyterConnection';
import { JupyterKey } from '../decoders/jupyterKey';
import { jupyterRuntimeDir } from './jupyterKernels';

export interface KeyFile {
  file: string;
  /** Every port the file names (kernels' *_port, ipyparallel's registration, mux, task, …). */
  ports: ReadonlySet<number>;
  key: JupyterKey;
}

const MAX_FILES = 256;
const MAX_FILE_BYTES = 64 * 1024;

/** Connection files that may hold a key, newest first (bounded). */
export function keyFileCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const found: { file: string; mtime: number }[] = [];
  const add = (dir: string, match: RegExp) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // no such folder
    }
    for (const n of names) {
      if (!match.test(n) || found.length >= MAX_FILES) continue;
      try {
        const st = statSync(join(dir, n));
        if (st.isFile() && st.size <= MAX_FILE_BYTES) found.push({ file: join(dir, n), mtime: st.mtimeMs });
      } catch {
        /* gone meanwhile */
      }
    }
  };
  add(jupyterRuntimeDir(env), /^kernel-.+\.json$/);
  const ipython = env.IPYTHONDIR || join(env.HOME ?? homedir(), '.ipython');
  let profiles: string[] = [];
  try {
    profiles = readdirSync(ipython).filter((n) => n.startsWith('profile_'));
  } catch {
    /* no IPython folder */
  }
  for (const p of profiles.slice(0, 64)) add(join(ipython, p, 'security'), /^ipcontroller-(client|engine)\.json$/);
  return found.sort((a, b) => b.mtime - a.mtime).map((f) => f.file);
}

/** A file's key and the ports it names; undefined when it holds no key or cannot be read. */
export function readKeyFile(file: string): KeyFile | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    const key = parseSigningKey(text, file);
    const o = JSON.parse(text) as Record<string, unknown>;
    const ports = new Set<number>();
    const port = (v: unknown) => {
      if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536) ports.add(v);
    };
    for (const [k, v] of Object.entries(o)) {
      if (k === 'pid') continue;
      if (Array.isArray(v)) v.slice(0, 64).forEach(port);
      else port(v);
    }
    return { file, ports, key };
  } catch {
    return undefined;
  }
}

/** The port of a tcp endpoint (`tcp://127.0.0.1:5555`), else undefined. */
function tcpPort(endpoint: string): number | undefined {
  const m = /^tcp:\/\/.*:(\d+)$/.exec(endpoint);
  return m ? Number(m[1]) : undefined;
}

/**
 * Finds the key by endpoint, reading the candidate files again (at most every
 * `rescanMs`) when a port is not yet known: a cluster writes its files after
 * the program that reads them may have started.
 */
export class JupyterKeyFinder {
  private files: KeyFile[] = [];
  private scannedAt = -Infinity;
  private readonly byPort = new Map<number, JupyterKey | null>();

  constructor(
    private readonly candidates: () => string[] = () => keyFileCandidates(),
    private readonly rescanMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  keyFor(endpoint: string | undefined): JupyterKey | undefined {
    const port = endpoint ? tcpPort(endpoint) : undefined;
    if (port === undefined) return undefined;
    const known = this.byPort.get(port);
    if (known !== undefined) return known ?? undefined;
    if (this.now() - this.scannedAt >= this.rescanMs) {
      this.scannedAt = this.now();
      this.files = this.candidates()
        .map(readKeyFile)
        .filter((f): f is KeyFile => f !== undefined);
      this.byPort.clear();
    }
    const matching = this.files.filter((f) => f.ports.has(port));
    // ipyparallel's client and engine files share the cluster's key: one key, not ambiguous
    if (matching.length === 0) return undefined;
    const same = matching.every((f) => f.key.equals(matching[0].key));
    this.byPort.set(port, same ? matching[0].key : null);
    return same ? matching[0].key : undefined;
  }
}
