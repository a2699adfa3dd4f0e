/**
 * Where the native agent (agents/native/*.c, an LD_PRELOAD
 * interposer of libzmq) is for this machine: the build's prebuilt library for
 * linux-x64 or linux-arm64 (dist/native/<platform>-<arch>/), checked once to
 * load here (a C library older than the one it was built against refuses it),
 * or else one compiled on first use with the user's `cc` into a cache folder
 * (`ensureNativeAgent`). Without either, programs are observed by the Python
 * and Node agents and on the wire only.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const NATIVE_AGENT_FILE = 'libzmq-debug-agent.so';

/** `linux-x64`, `linux-arm64`, ... (Node's names). */
export function nativePlatform(): string {
  return `${process.platform}-${process.arch}`;
}

/** The dist/native folder of a build (dist/ beside the bundle, or the repository's dist from the sources). */
function prebuiltDirs(): string[] {
  return [path.join(__dirname, 'native'), path.resolve(__dirname, '..', 'native'), path.resolve(__dirname, '..', '..', '..', 'dist', 'native')];
}

const loads = new Map<string, boolean>();
let compiled: string | undefined;

/** Whether the dynamic loader here accepts the library (right architecture, C library new enough). */
export function loadsHere(lib: string): boolean {
  let ok = loads.get(lib);
  if (ok === undefined) {
    const r = spawnSync('/bin/sh', ['-c', ':'], { env: { PATH: '/usr/bin:/bin', LD_PRELOAD: lib }, encoding: 'utf8', timeout: 10000 });
    // the loader says "cannot be preloaded ... ignored" on stderr and runs the program anyway
    ok = r.status === 0 && !r.stderr;
    loads.set(lib, ok);
  }
  return ok;
}

/** loadsHere() without blocking: the check's process runs while the event loop goes on (its answer is cached for loadsHere). */
export function loadsHereAsync(lib: string): Promise<boolean> {
  const known = loads.get(lib);
  if (known !== undefined) return Promise.resolve(known);
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', ':'], { env: { PATH: '/usr/bin:/bin', LD_PRELOAD: lib }, encoding: 'utf8', timeout: 10000 }, (err, _out, stderr) => {
      const ok = !err && !stderr;
      loads.set(lib, ok);
      resolve(ok);
    });
  });
}

/**
 * The native agent library to preload here, or undefined (not Linux, no build for this architecture that loads, none
 * compiled yet). A path LD_PRELOAD cannot carry (a space or a colon splits it) is left out too.
 */
export function nativeAgentLibrary(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  for (const dir of prebuiltDirs()) {
    const lib = path.join(dir, nativePlatform(), NATIVE_AGENT_FILE);
    if (existsSync(lib) && !/[\s:]/.test(lib) && loadsHere(lib)) return lib;
  }
  return compiled && existsSync(compiled) ? compiled : undefined;
}

/** The folder of the C sources shipped beside the other agents (dist/agents in a build, src/core/agents in the sources). */
export function nativeAgentSourceDir(): string {
  const candidates = [path.join(__dirname, 'agents', 'native'), path.resolve(__dirname, '..', 'agents', 'native')];
  return candidates.find((c) => existsSync(path.join(c, 'zmq_debug_agent.c'))) ?? candidates[1];
}

/** A cache folder for the CLI: $XDG_CACHE_HOME/zmq-debug, or ~/.cache/zmq-debug. */
export function defaultNativeCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'zmq-debug');
}

export type NativeAgentStatus = { library: string; compiled: boolean } | { library?: undefined; reason: string };

/**
 * The native agent for this machine: the prebuilt one, or one compiled from the shipped source with `cc` (or $CC)
 * into `cacheDir`/native/<platform>-<arch>/<source hash>/ and reused after. Never throws: without a compiler (or on
 * a platform the interposer does not support) it says why, and programs are observed without it.
 */
export async function ensureNativeAgent(cacheDir: string): Promise<NativeAgentStatus> {
  // the prebuilt libraries' load check without blocking: the extension calls this while it activates
  if (process.platform === 'linux') {
    for (const dir of prebuiltDirs()) {
      const lib = path.join(dir, nativePlatform(), NATIVE_AGENT_FILE);
      if (existsSync(lib) && !/[\s:]/.test(lib) && (await loadsHereAsync(lib))) break;
    }
  }
  const found = nativeAgentLibrary();
  if (found) return { library: found, compiled: found === compiled };
  if (process.platform !== 'linux') return { reason: `the native agent (LD_PRELOAD) is for Linux; on ${process.platform} C/C++ programs are observed on the wire only` };
  const status = await compileNativeAgent(cacheDir);
  if (status.library !== undefined) compiled = status.library;
  return status;
}

/** Compiles the shipped source with `cc` into `cacheDir` (once per source version) and checks it loads. */
export async function compileNativeAgent(cacheDir: string, cc = process.env.CC || 'cc'): Promise<NativeAgentStatus> {
  const sourceDir = nativeAgentSourceDir();
  const hasher = createHash('sha256');
  let sources: string[];
  try {
    // the .c files compile into one library; the hash covers them and their header
    const names = readdirSync(sourceDir).filter((n) => /\.[ch]$/.test(n)).sort();
    for (const n of names) hasher.update(n).update(readFileSync(path.join(sourceDir, n)));
    sources = names.filter((n) => n.endsWith('.c')).map((n) => path.join(sourceDir, n));
    if (!sources.length) throw new Error('no sources');
  } catch {
    return { reason: 'the native agent source is not in this installation' };
  }
  const hash = hasher.digest('hex').slice(0, 16);
  const dir = path.join(cacheDir, 'native', nativePlatform(), hash);
  const lib = path.join(dir, NATIVE_AGENT_FILE);
  if (/[\s:]/.test(lib)) return { reason: `the cache folder ${cacheDir} has a space or a colon, which LD_PRELOAD cannot carry` };
  if (!existsSync(lib)) {
    try {
      mkdirSync(dir, { recursive: true });
      await new Promise<void>((resolve, reject) =>
        execFile(cc, ['-std=gnu11', '-O2', '-s', '-fPIC', '-shared', '-fvisibility=hidden', '-o', `${lib}.tmp`, ...sources, '-ldl', '-lpthread'], { timeout: 120000 }, (err, _out, stderr) =>
          err ? reject(new Error(`${(err as NodeJS.ErrnoException).code === 'ENOENT' ? `no C compiler (${cc})` : `${cc} failed`}${stderr ? `: ${stderr.trim().split('\n').slice(0, 3).join(' ')}` : ''}`)) : resolve(),
        ),
      );
      renameSync(`${lib}.tmp`, lib);
    } catch (e) {
      return { reason: `the native agent could not be compiled (${(e as Error).message}); C/C++ programs are observed on the wire only` };
    }
  }
  if (!loadsHere(lib)) return { reason: `the native agent compiled into ${lib} does not load here` };
  return { library: lib, compiled: true };
}

/** LD_PRELOAD with the native agent added after what is there (a sanitizer runtime must stay first), never twice. */
export function withNativeAgent(existing: string | undefined, lib: string): string {
  const kept = (existing ?? '').split(/[\s:]+/).filter((p) => p && path.basename(p) !== NATIVE_AGENT_FILE);
  return [...kept, lib].join(':');
}
