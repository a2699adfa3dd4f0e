/**
 * The spy inside a real VS Code extension host: code-server started as tier 3
 * starts it (test/e2e/ui/codeServer.ts: this repository as the extension,
 * headless Chromium as the user), the frames viewer open, a spy started from
 * the palette on a pyzmq PUB with default options (SNDHWM 1000) that sends
 * 16 B messages as fast as it can for `seconds`, counting what it sent. The
 * ratio is the messages the capture received (the viewer's `received` counter,
 * exact: the capture's own count) divided by the messages sent. Every round
 * starts a fresh code-server and stops it with everything it started (the
 * helper checks that no process of its private folder survives). As a
 * reference, alternating with these rounds: what a pyzmq SUB receives from
 * the same kind of publisher, and what the cheapest possible subscriber does
 * (see bench/cliSpy.ts).
 *
 *   npx tsx bench/hostSpy.ts [--seconds S] [--runs N]
 */
import { startCodeServer, TEST_WORKSPACE, type CodeServer } from '../test/e2e/ui/codeServer';
import { drainRound, pyzmqRound, startTimedPublisher, untilStable } from './cliSpy';
import { median, numberArg, printAndExit } from './util';

async function hostRound(seconds: number, viewer = true): Promise<{ sent: number; received: number }> {
  const pub = await startTimedPublisher(seconds, 16);
  let vsc: CodeServer | undefined;
  try {
    vsc = await startCodeServer({ folder: TEST_WORKSPACE });
    const page = vsc.page;
    await vsc.openViewContainer('ZeroMQ');
    await vsc.runCommand('ZeroMQ: Open Frames Viewer');
    await page.locator('.tabs-container .tab', { hasText: 'ZeroMQ Frames' }).first().waitFor({ state: 'visible', timeout: 15000 });
    const view = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const counters = view.locator('.counters');
    await counters.waitFor({ state: 'attached', timeout: 15000 });
    const tab = page.locator('.tabs-container .tab', { hasText: 'ZeroMQ Frames' }).first();
    // without the viewer (for comparison): its tab goes to the background behind a new editor, so it is sent nothing
    if (!viewer) await vsc.runCommand('File: New Untitled Text File');
    const endpoint = `tcp://127.0.0.1:${pub.port}`;
    const widget = page.locator('.quick-input-widget');
    await vsc.runEndpointCommand('ZeroMQ: Spy on Endpoint…', endpoint);
    await widget.locator('.quick-input-title', { hasText: `Spy on ${endpoint}` }).waitFor({ state: 'visible', timeout: 10000 });
    await page.keyboard.press('Enter');
    await widget.waitFor({ state: 'hidden', timeout: 10000 });
    const sent = await pub.sent;
    if (!viewer) await tab.click();
    // what waited in the buffers is received after the publisher stopped: until the counter stands still
    let received = 0;
    let failures = 0;
    await untilStable(
      () => {
        void counters
          .getAttribute('data-received', { timeout: 1000 })
          .then((v) => (received = Number(v ?? 0)))
          .catch(() => failures++);
        return received;
      },
      2000,
      60_000,
    );
    if (!received) throw new Error(`the viewer counted nothing (${failures} failed reads of its counters)`);
    return { sent, received };
  } finally {
    pub.stop();
    await vsc?.stop();
  }
}

/** One round with the viewer in a background tab: what the viewer costs (informational). */
export const hostRoundWithoutViewer = (seconds: number) => hostRound(seconds, false);

export async function runHostSpyBench(opts: { seconds: number; runs: number; log?: (line: string) => void }) {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[host] ${l}\n`));
  const ratios: number[] = [];
  const sent: number[] = [];
  const lib: number[] = [];
  const drain: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    // alternating with the references (a pyzmq SUB, and the drain, on the same kind of publisher)
    const p = await pyzmqRound(opts.seconds, 16);
    lib.push(p.received / p.sent);
    const d = await drainRound(opts.seconds, 16);
    drain.push(d.received / d.sent);
    const r = await hostRound(opts.seconds);
    ratios.push(r.received / r.sent);
    sent.push(r.sent);
    log(`16 B run ${i + 1}: sent ${r.sent} in ${opts.seconds} s, captured ${r.received} (${(r.received / r.sent).toFixed(3)}); pyzmq SUB got ${p.received} of ${p.sent} (${(p.received / p.sent).toFixed(3)}); drain got ${d.received} of ${d.sent} (${(d.received / d.sent).toFixed(3)})`);
  }
  return {
    spy_in_host_captured_ratio_16b: +median(ratios).toFixed(3),
    spy_in_host_pair_min_16b: +Math.min(...ratios).toFixed(3),
    spy_in_host_pair_max_16b: +Math.max(...ratios).toFixed(3),
    spy_in_host_sent_per_s_16b: Math.round(median(sent) / opts.seconds),
    // what the fastest plain subscriber gets from the same publisher on this machine (informational, no target)
    spy_in_host_pyzmq_sub_ratio_16b: +median(lib).toFixed(3),
    // the ceiling: what a subscriber that only reads its socket gets (bench/cliSpy.ts drainRound), and our share of it
    spy_in_host_drain_ratio_16b: +median(drain).toFixed(3),
    spy_in_host_vs_drain_16b: +(median(ratios) / median(drain)).toFixed(3),
  };
}

if (require.main === module) {
  if (process.argv.includes('--compare-viewer')) {
    printAndExit(
      (async () => {
        const out = [];
        for (let i = 0; i < numberArg('runs', 1); i++) {
          const a = await hostRound(numberArg('seconds', 10), true);
          const b = await hostRound(numberArg('seconds', 10), false);
          out.push({ viewer: +(a.received / a.sent).toFixed(3), sentViewer: a.sent, background: +(b.received / b.sent).toFixed(3), sentBackground: b.sent });
        }
        return out;
      })(),
    );
  } else printAndExit(runHostSpyBench({ seconds: numberArg('seconds', 10), runs: numberArg('runs', 1) }));
}
