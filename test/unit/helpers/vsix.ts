/**
 * The packaged extension for tests: `ensureVsix()` builds
 * dist-vsix/<name>-<version>.vsix with `npm run package` unless one newer than
 * every input of the package is already there (so the unit test and the UI test
 * of one `npm test` run package once), and a small zip reader (central directory
 * plus stored/deflated entries, all a VSIX uses) to list and extract it.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { inflateRawSync } from 'node:zlib';

export const ROOT = join(__dirname, '..', '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
export const VSIX_PATH = process.env.ZMQ_TEST_VSIX ?? join(ROOT, 'dist-vsix', `${manifest.name}-${manifest.version}.vsix`);

/** Files and folders whose change makes a VSIX stale (dist/ is rebuilt from src/ by the package script). */
const INPUTS = [
  'package.json', '.vscodeignore', 'README.md', 'CHANGELOG.md', 'LICENSE', 'ThirdPartyNotices.txt', 'esbuild.mjs', 'scripts/package-vsix.mjs',
  'src', 'media', 'snippets', 'examples', 'node_modules/zeromq/package.json',
];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Why the VSIX at VSIX_PATH must be rebuilt, or undefined when it is current. */
export function vsixStaleBecause(): string | undefined {
  if (!existsSync(VSIX_PATH)) return 'no VSIX yet';
  if (process.env.ZMQ_TEST_VSIX) return undefined; // given explicitly: use as is
  const built = statSync(VSIX_PATH).mtimeMs;
  for (const input of INPUTS) {
    if (newestMtime(join(ROOT, input)) > built) return `${input} changed`;
  }
  return undefined;
}

let building: Promise<{ path: string; built: boolean; ms: number }> | undefined;

/** Builds the VSIX when stale; resolves to its path and whether (and how long) it was built. */
export function ensureVsix(timeoutMs = 120000): Promise<{ path: string; built: boolean; ms: number }> {
  building ??= new Promise((resolve, reject) => {
    const started = Date.now();
    if (!vsixStaleBecause()) return resolve({ path: VSIX_PATH, built: false, ms: 0 });
    execFile(process.execPath, [join(ROOT, 'scripts', 'package-vsix.mjs')], { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`npm run package failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve({ path: VSIX_PATH, built: true, ms: Date.now() - started });
    });
  });
  const p = building;
  p.catch(() => (building = undefined));
  return p;
}

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** Lists a zip's entries from its central directory (no zip64: a VSIX stays far below 4 GiB). */
export function listZip(path: string): ZipEntry[] {
  const buf = readFileSync(path);
  // the end-of-central-directory record is in the last 22 + 65535 (comment) bytes
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${path}: not a zip file (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error(`${path}: bad central directory entry ${i} at ${at}`);
    const nameLength = buf.readUInt16LE(at + 28);
    const extraLength = buf.readUInt16LE(at + 30);
    const commentLength = buf.readUInt16LE(at + 32);
    entries.push({
      method: buf.readUInt16LE(at + 10),
      compressedSize: buf.readUInt32LE(at + 20),
      size: buf.readUInt32LE(at + 24),
      localHeaderOffset: buf.readUInt32LE(at + 42),
      name: buf.toString('utf8', at + 46, at + 46 + nameLength),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The bytes of one entry. */
export function readZipEntry(path: string, entry: ZipEntry): Buffer {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(30);
    readSync(fd, header, 0, 30, entry.localHeaderOffset);
    if (header.readUInt32LE(0) !== 0x04034b50) throw new Error(`${entry.name}: bad local header`);
    const dataStart = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    const data = Buffer.alloc(entry.compressedSize);
    readSync(fd, data, 0, entry.compressedSize, dataStart);
    if (entry.method === 0) return data;
    if (entry.method === 8) return inflateRawSync(data);
    throw new Error(`${entry.name}: unsupported compression method ${entry.method}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Extracts the entries under `prefix` (e.g. `extension/`) into `dest`, stripping
 * the prefix, except those `skip` returns true for; returns the count.
 */
export function extractZip(path: string, dest: string, prefix = '', skip?: (name: string) => boolean): number {
  let n = 0;
  for (const entry of listZip(path)) {
    if (!entry.name.startsWith(prefix) || entry.name.endsWith('/') || skip?.(entry.name)) continue;
    const target = join(dest, entry.name.slice(prefix.length));
    if (relative(dest, target).split(sep)[0] === '..') throw new Error(`${entry.name}: escapes the destination`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, readZipEntry(path, entry));
    n++;
  }
  return n;
}
