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
