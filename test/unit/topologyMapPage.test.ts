/**
 * The real topology map bundle (dist/webview/topologyMap.js) in a real Chromium
 * under the webview's strict CSP, fed the graph the host builds: a REQ/REP
 * connection's request latency shows in the details pane of its edge, as text,
 * with its histogram. Needs `npm run build` and /usr/bin/chromium.
 */
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { CHROMIUM, ROOT } from '../../bench/viewerHarness';
import type { CaptureRecord } from '../../src/core/capture/records';
import { TopologyModel } from '../../src/core/topology/topology';
import { toMapGraph } from '../../src/viewers/mapGraph';

const BUNDLE = join(ROOT, 'dist', 'webview', 'topologyMap.js');
const XSS = '<img src=x onerror=alert(1)>';

/** A model that saw a REQ (peer named with markup) ask a REP three times: 3, 12 and 40 ms. */
function modelWithRoundTrips(): TopologyModel {
  const m = new TopologyModel(undefined, undefined, { throttleMs: 1e6 });
  const base = { session: 'tap-1', source: 'tap' as const, endpoint: 'tcp://127.0.0.1:5555', connection: 1 };
  let seq = 0;
  const rec = (r: object) => m.ingest({ seq: ++seq, ...base, ...r } as CaptureRecord);
  rec({ kind: 'connection', ts: 1000, state: 'open', peer: XSS });
  for (const [sent, rtt] of [
    [2000, 3],
    [3000, 12],
    [4000, 40],
  ]) {
    rec({ kind: 'message', ts: sent, direction: 'toTarget', socketType: 'REQ', peerSocketType: 'REP', frames: [Buffer.alloc(0), Buffer.from('ping')] });
    rec({ kind: 'message', ts: sent + rtt, direction: 'fromTarget', socketType: 'REP', peerSocketType: 'REQ', frames: [Buffer.alloc(0), Buffer.from('pong')] });
  }
  return m;
}

describe('topology map webview in Chromium', function () {
  this.timeout(30000);
  let browser: Browser | undefined;
  let dir: string | undefined;
  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("shows an edge's request latency and its histogram as text, under the strict CSP", async () => {
    assert.ok(existsSync(BUNDLE), `${BUNDLE} is missing; run: npm run build`);
    dir = mkdtempSync(join(tmpdir(), 'zmq-map-'));
    const html = join(dir, 'map.html');
    const nonce = 'bm9uY2UtZm9yLXRlc3Rz';
    const css = ['webview.css', 'topologyMap.css'].map((n) => `<link rel="stylesheet" href="${pathToFileURL(join(ROOT, 'media', n))}">`).join('');
    writeFileSync(
      html,
      `<!DOCTYPE html><html><head><meta charset="UTF-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src file:; script-src 'nonce-${nonce}'; img-src file: data:; font-src file:">${css}</head>` +
        `<body><div id="app"></div><script nonce="${nonce}" src="${pathToFileURL(BUNDLE)}"></script></body></html>`,
    );
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
    const errors: string[] = [];
    const dialogs: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
    });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.addInitScript(`(() => {
      let state;
      window.__posted = [];
      window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => state, setState: (s) => { state = s; } });
    })();`);
    await page.goto(pathToFileURL(html).toString());
    await page.waitForFunction('window.__posted.some((m) => m.type === "ready")');

    const model = modelWithRoundTrips();
    const graph = toMapGraph(model.snapshot(), []);
    model.dispose();
    const edge = graph.edges.find((e) => e.latency)!;
    assert.ok(edge, 'the REQ/REP edge carries its latency');
    const post = (m: unknown) => page.evaluate((msg) => (globalThis as unknown as { postMessage(m: unknown, o: string): void }).postMessage(msg, '*'), m);
    await post({ type: 'topology/update', graph });
    await post({ type: 'topology/reveal', id: edge.id });

    const details = page.locator('#details');
    await details.locator('p.latency').waitFor({ timeout: 10000 });
    assert.equal(await details.locator('p.latency').innerText(), 'Request latency: 3 requests, p50 12 ms, p95 40 ms, p99 40 ms, max 40 ms');
    assert.deepEqual((await details.locator('pre.latency-histogram').innerText()).split('\n'), [
      '≤ 5 ms   ████████████████████  1',
      '≤ 10 ms                        0',
      '≤ 20 ms  ████████████████████  1',
      '≤ 50 ms  ████████████████████  1',
    ]);
    // the peer's markup is a title, not HTML
    assert.ok((await details.locator('h3').innerText()).includes(XSS));
    assert.equal(await page.locator('#details img').count(), 0);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, [], 'no CSP violation, no page error');
  });
});
