/**
 * What one batch of a flood costs the frames viewer's page: the real webview
 * bundle in Chromium (bench/viewerHarness.ts), fed by the real controller, a
 * full window of 100,000 records, then 40,000 records a second (the viewer at
 * its flood rate: 3 batches a second). From Chromium's own metrics (CDP
 * Performance.getMetrics): the page's main-thread time, layout, style and
 * script per batch, and layouts per batch. Compare two trees side by side by
 * running each tree's copy of this script, alternately.
 *
 *   npx tsx bench/viewerFlood.ts [--seconds S] [--runs N]
 */
import { Capture } from '../src/core/capture/capture';
import { spyMessage } from '../test/unit/helpers/records';
import { closeViewerBrowser, openViewerPage } from './viewerHarness';
import { median, numberArg, printAndExit } from './util';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function floodRound(seconds: number) {
  const capture = new Capture({ maxRecords: 100_000 });
  const vp = await openViewerPage(capture, { record: true });
  try {
    const cdp = await vp.page.context().newCDPSession(vp.page);
    await cdp.send('Performance.enable');
    const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    const batches = () => vp.posted.filter((m) => m.type === 'frames/appended').length;
    for (let i = 0; i < 100_000; i++) capture.append(spyMessage(['t', `fill ${i}`]));
    await sleep(1500);
    const before = await metrics();
    const batches0 = batches();
    const end = Date.now() + seconds * 1000;
    let n = 0;
    while (Date.now() < end) {
      for (let i = 0; i < 400; i++) capture.append(spyMessage(['topic', `message ${n++}`]));
      await sleep(10);
    }
    await vp.page.locator(`.counters[data-received="${100_000 + n}"]`).waitFor({ timeout: 10_000 });
    const after = await metrics();
    const posts = batches() - batches0;
    const per = (k: string, scale = 1000) => +(((after[k] - before[k]) * scale) / posts).toFixed(2);
    return { batches: posts, task_ms: per('TaskDuration'), layout_ms: per('LayoutDuration'), style_ms: per('RecalcStyleDuration'), script_ms: per('ScriptDuration'), layouts: per('LayoutCount', 1) };
  } finally {
    await vp.close();
    capture.dispose();
  }
}

export async function runViewerFloodBench(opts: { seconds: number; runs: number }) {
  const rounds: Awaited<ReturnType<typeof floodRound>>[] = [];
  try {
    for (let i = 0; i < opts.runs; i++) {
      rounds.push(await floodRound(opts.seconds));
      process.stderr.write(`[viewer-flood] ${JSON.stringify(rounds[rounds.length - 1])}\n`);
    }
  } finally {
    await closeViewerBrowser();
  }
  const med = (k: keyof (typeof rounds)[number]) => median(rounds.map((r) => r[k]));
  return { viewer_flood_task_ms_per_batch: med('task_ms'), viewer_flood_layout_ms_per_batch: med('layout_ms'), viewer_flood_layouts_per_batch: med('layouts'), rounds };
}

if (require.main === module) printAndExit(runViewerFloodBench({ seconds: numberArg('seconds', 8), runs: numberArg('runs', 3) }));
