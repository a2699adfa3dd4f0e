/**
 * The process the tap bench's Node relays run in, one relay per round: the tap
 * (ZmtpTap decoding into a Capture, as the product runs it) or the bare relay
 * (bareRelay.ts), on commands from the bench, one JSON line each on stdin, one
 * answer each on stdout. Bench-only code, not part of the product.
 *
 * Why a process of its own: the bench starts the Python peers of every round,
 * and a process that starts a child (fork) has every page it writes afterwards
 * fault once more (copy-on-write: 12 to 18 µs a page on the bench's VM, several
 * thousand pages a round for a tap's capture), a cost the product's tap, which
 * starts no process while it relays, never pays. This process starts none.
 *
 * Commands (RelayHost's methods): `{"op":"open","via":"tap"|"node-relay","target":PORT}`
 * → `{"port":N}`; `{"op":"usage"}` → `{"cpuNs":N,"faults":N}`; `{"op":"close","count":N}` →
 * `{"captured":N}`; `{"op":"ballast","mb":N}` → `{}`.
 */
import { createInterface } from 'node:readline';
import { Capture } from '../../src/core/capture/capture';
import { ZmtpTap } from '../../src/core/sessions/tap';
import { startBareRelay } from './bareRelay';

export interface ProcessUsage {
  cpuNs: number;
  faults: number;
}

/** Where a round's Node relay runs: this process (localRelayHost) or one of its own (the bench drives it over stdin). */
export interface RelayHost {
  /** Starts a round's relay to `target`; the port to point the PUSH at. */
  open(via: 'tap' | 'node-relay', target: number): Promise<number>;
  /** The relay process's user + system CPU so far, in ns, and its page faults. */
  usage(): Promise<ProcessUsage>;
  /** Ends the round's relay; a tap's: after waiting up to 5 s for `count` messages decoded and captured. Returns those captured. */
  close(count: number): Promise<number>;
  /** `mb` MB of small live objects in the relay's heap, as in an extension host (0: none). */
  ballast(mb: number): Promise<void>;
}

export function localRelayHost(): RelayHost {
  let tap: ZmtpTap | undefined;
  let capture: Capture | undefined;
  let relay: Awaited<ReturnType<typeof startBareRelay>> | undefined;
  let ballast: object[] = [];
  return {
    async open(via, target) {
      if (via === 'node-relay') return (relay = await startBareRelay(target)).port;
      capture = new Capture({ maxRecords: 100_000 });
      tap = new ZmtpTap({ target: `127.0.0.1:${target}`, id: 'bench' }, capture);
      return (await tap.listen()).port;
    },
    async usage() {
      const u = process.resourceUsage();
      return { cpuNs: (u.userCPUTime + u.systemCPUTime) * 1000, faults: u.minorPageFault + u.majorPageFault };
    },
    async close(count) {
      const until = Date.now() + 5000;
      while (tap && capture!.stats().totalMessages < count && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      const captured = capture?.stats().totalMessages ?? 0;
      await tap?.stop();
      await relay?.close();
      capture?.dispose();
      tap = capture = relay = undefined;
      return captured;
    },
    async ballast(mb) {
      ballast = [];
      for (let i = 0; i < (mb * 1024 * 1024) / 80; i++) ballast.push({ id: i, name: `object ${i}` });
    },
  };
}

if (require.main === module) {
  const host = localRelayHost();
  const answer = async (c: { op: keyof RelayHost; via: 'tap' | 'node-relay'; target: number; count: number; mb: number }): Promise<object> => {
    if (c.op === 'open') return { port: await host.open(c.via, c.target) };
    if (c.op === 'usage') return host.usage();
    if (c.op === 'close') return { captured: await host.close(c.count) };
    await host.ballast(c.mb);
    return {};
  };
  // one command at a time, in order
  let queue = Promise.resolve();
  createInterface({ input: process.stdin }).on('line', (line) => {
    queue = queue.then(async () => {
      const a = await answer(JSON.parse(line)).catch((err: Error) => ({ error: String(err?.stack ?? err) }));
      process.stdout.write(`${JSON.stringify(a)}\n`);
    });
  });
  process.stdin.on('end', () => process.exit(0));
}
