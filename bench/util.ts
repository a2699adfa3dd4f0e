// The benchmarks use the same real peers as the tests: Debian's pyzmq on free 127.0.0.1 ports.
export { freePort, PYTHON } from '../test/unit/helpers/peers';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
