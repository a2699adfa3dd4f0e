// The benchmarks use the same real peers as the tests: Debian's pyzmq on free 127.0.0.1 ports.
export { freePort, PYTHON } from '../test/unit/helpers/peers';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A benchmark module run on its own: prints its figures as JSON and exits 0, or the error and exits 1. */
export function printAndExit(figures: Promise<unknown>): void {
  figures.then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

/** A benchmark module run on its own: the number after `--name` on its command line, else `dflt`. */
export function numberArg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/**
 * Faults injected to test the bench's own error paths without a real failure:
 * BENCH_FAULTS=name[:count],... (e.g. `host-publisher:1,host-ui:2,viewer-throw`).
 * Returns true (and uses one up) while `name` has some left in this process.
 */
export function fault(name: string): boolean {
  faults ??= new Map(
    (process.env.BENCH_FAULTS ?? '')
      .split(',')
      .filter(Boolean)
      .map((f) => {
        const [n, count] = f.split(':');
        return [n.trim(), count === undefined ? 1 : Number(count)] as [string, number];
      }),
  );
  const left = faults.get(name) ?? 0;
  if (left <= 0) return false;
  faults.set(name, left - 1);
  return true;
}
let faults: Map<string, number> | undefined;

/** The two message sizes the agent benches measure, with their key suffixes. */
export const BENCH_SIZES = [
  [16, '16b'],
  [1024, '1k'],
] as const;
