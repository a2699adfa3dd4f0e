/**
 * Memory of a process as Linux counts it (/proc/PID/status), for the RSS
 * limits the hostile-input tests state, and the listening TCP ports of a
 * process (what any local process can find out about the collector).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** VmRSS and VmHWM (peak RSS) of `pid` in bytes, or undefined once it is gone. */
export function procMemory(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Samples a child's peak RSS every `everyMs` until stopped (the last sample before it exits). */
export function watchPeakRss(pid: number, everyMs = 50): { peak(): number; stop(): number } {
  let peak = 0;
  const sample = () => {
    const m = procMemory(pid);
    if (m) peak = Math.max(peak, m.hwm, m.rss);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    peak: () => peak,
    stop: () => {
      sample();
      clearInterval(timer);
      return peak;
    },
  };
}

/** The TCP ports `pid` listens on (IPv4), read from /proc as any process of the same user can. */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // local_address rem_address st ... inode (field 9); 0A = LISTEN
    if (f.length > 9 && f[3] === '0A' && inodes.has(f[9])) ports.push(parseInt(f[1].split(':')[1], 16));
  }
  return ports;
}

export const MiB = 1024 * 1024;
