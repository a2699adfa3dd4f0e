/**
 * What a default publisher can put on the wire, whoever subscribes: the drain
 * (bench/peers/drain_sub.py, a subscriber that only reads its socket) on the
 * timed pyzmq PUB with SNDHWM 500, 1,000 (libzmq's default) and 2,000, 16 B
 * messages sent as fast as the Python loop can. A PUB's send() drops a message
 * when its pipe holds SNDHWM unread ones, and learns how far its I/O thread has
 * read only when it processes its commands, which a busy send() does at most
 * once every 3,000,000 TSC ticks (libzmq's `max_command_delay`, about 1.1 ms at
 * 2.7 GHz). So the wire carries at most about SNDHWM messages per 3,000,000
 * ticks: proportional to the HWM, independent of the subscriber. This part shows
 * it (`pubhwm_ticks_per_refill` ≈ 3,000,000); it is why the cli and host parts'
 * ratios against what was sent cannot reach 0.8 on this machine (docs/performance.md).
 *
 *   npx tsx bench/pubHwm.ts [--seconds S] [--runs N]
 */
import { readFileSync } from 'node:fs';
import { drainRound } from './cliSpy';
import { median, numberArg, printAndExit } from './util';

const HWMS = [500, 1000, 2000];

/** The clock /proc/cpuinfo reports, in Hz (on this machine's VM the TSC's rate); undefined where it says none. */
function cpuHz(): number | undefined {
  try {
    const m = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? Number(m[1]) * 1e6 : undefined;
  } catch {
    return undefined;
  }
}

export async function runPubHwmBench(opts: { seconds: number; runs: number; log?: (line: string) => void }) {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[pubhwm] ${l}\n`));
  const wire = new Map<number, number[]>(HWMS.map((h) => [h, []]));
  const sent = new Map<number, number[]>(HWMS.map((h) => [h, []]));
  for (let i = 0; i < opts.runs; i++) {
    for (const hwm of HWMS) {
      const r = await drainRound(opts.seconds, 16, hwm);
      wire.get(hwm)!.push(r.received / opts.seconds);
      sent.get(hwm)!.push(r.sent / opts.seconds);
      log(`SNDHWM ${hwm} run ${i + 1}: sent ${r.sent}, the drain received ${r.received} (${Math.round(r.received / opts.seconds)} msg/s)`);
    }
  }
  const result: Record<string, number> = {};
  for (const hwm of HWMS) {
    result[`pubhwm_wire_per_s_${hwm}`] = Math.round(median(wire.get(hwm)!));
    result[`pubhwm_wire_min_per_s_${hwm}`] = Math.round(Math.min(...wire.get(hwm)!));
    result[`pubhwm_wire_max_per_s_${hwm}`] = Math.round(Math.max(...wire.get(hwm)!));
    result[`pubhwm_sent_per_s_${hwm}`] = Math.round(median(sent.get(hwm)!));
  }
  const hz = cpuHz();
  if (hz) result.pubhwm_ticks_per_refill = Math.round(median(HWMS.map((h) => (h / median(wire.get(h)!)) * hz)));
  return result;
}

if (require.main === module) {
  printAndExit(runPubHwmBench({ seconds: numberArg('seconds', 3), runs: numberArg('runs', 3) }));
}
