/**
 * Number, size and time formatting shared by the host (trees, status bar, CLI,
 * map) and the webviews: one rendering of each, so a figure reads the same
 * everywhere. Browser-safe: no Node, no VS Code.
 */

/** Bytes in binary units: "512 B", "1.5 KiB", "256 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v >= 100 || Number.isInteger(v) ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/** A count with thousands separators: "1,204". */
export function formatCount(n: number): string {
  // whole numbers by hand, as toLocaleString('en-US') writes them: its first call loads
  // ICU's number formatting, 30-40 ms of CPU, and the status bar's first update runs in activate()
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  let out = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = out.length; i < digits.length; i += 3) out += ',' + digits.slice(i, i + 3);
  return n < 0 || Object.is(n, -0) ? '-' + out : out;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local time with milliseconds, "14:03:07.123"; empty for no time. */
export function formatTime(ts: number): string {
  if (!ts) return '';
  const d = new Date(ts);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
