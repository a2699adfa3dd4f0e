/**
 * Which of our processes is at the other end of a relayed connection: on Linux,
 * the TCP socket whose local address is the peer address the tap accepted
 * (/proc/net/tcp{,6}) and the candidate process holding that socket
 * (/proc/<pid>/fd). Lets the map show "worker 1" instead of 127.0.0.1:43312.
 * Resolves undefined elsewhere or when not found; never rejects. Asynchronous:
 * /proc/net/tcp can be large and the caller (the extension host, on every
 * topology change) must not block on it.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

/** `peer` is host:port as the tap reports it (127.0.0.1:43312, ::ffff:127.0.0.1:43312, ::1:43312). */
export async function findPidOfTcpPeer(peer: string, candidates: readonly number[], procRoot = '/proc'): Promise<number | undefined> {
  const addr = parsePeer(peer);
  if (!addr || candidates.length === 0) return undefined;
  // Several sockets can have this local address: Linux gives one local port to connections
  // to different destinations, and a closed one lingers in TIME_WAIT (inode 0). Any of them
  // may be listed first, so every inode counts.
  const links = new Set<string>();
  for (const file of ['tcp', 'tcp6'] as const) {
    const text = await readFile(`${procRoot}/net/${file}`, 'latin1').catch(() => undefined);
    if (text !== undefined) for (const inode of inodesIn(text, file, addr.host, addr.port)) links.add(`socket:[${inode}]`);
  }
  if (links.size === 0) return undefined;
  for (const pid of candidates) {
    const fds = await readdir(`${procRoot}/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      // a fd closed meanwhile reads as undefined
      const link = await readlink(`${procRoot}/${pid}/fd/${fd}`).catch(() => undefined);
      if (link !== undefined && links.has(link)) return pid;
    }
  }
  return undefined;
}

function parsePeer(peer: string): { host: string; port: number } | undefined {
  const m = /^(.*):(\d+)$/.exec(peer);
  return m ? { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) } : undefined;
}

/** The inodes of the sockets bound locally to host:port in one /proc/net/tcp{,6} table (none in TIME_WAIT: inode 0). */
function inodesIn(text: string, file: 'tcp' | 'tcp6', host: string, port: number): string[] {
  const inodes: string[] = [];
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/i.exec(host);
  // /proc/net/tcp prints the address as the 32-bit word in host (little-endian) order
  const want4 = v4 ? [v4[4], v4[3], v4[2], v4[1]].map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0')).join('') : undefined;
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10) continue;
    const [addr, p] = cols[1].split(':');
    if (p !== portHex) continue;
    const ok =
      file === 'tcp'
        ? addr === want4
        : // IPv4-mapped in tcp6: ::ffff:a.b.c.d is 0000000000000000FFFF0000 + the v4 word
          (want4 !== undefined && addr === `0000000000000000FFFF0000${want4}`) || (host === '::1' && addr === '00000000000000000000000001000000');
    if (ok && cols[9] !== '0') inodes.push(cols[9]);
  }
  return inodes;
}
