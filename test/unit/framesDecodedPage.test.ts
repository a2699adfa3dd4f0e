/**
 * The decoders in the real webview bundle in a real Chromium under the strict
 * nonce CSP of the extension's webviews: the decoder picker, decoded rows, the
 * collapsible tree, the diff with the previous message on the topic, the filter
 * on decoded fields, and the timeline chart whose brushed range filters.
 * Needs `npm run build` and /usr/bin/chromium.
 */
import * as assert from 'node:assert/strict';
import { closeViewerBrowser, openViewerPage, ViewerPage } from '../../bench/viewerHarness';
import { Capture } from '../../src/core/capture/capture';
import { spyMessage } from './helpers/records';

describe('decoded values in the frames viewer webview', function () {
  this.timeout(30000);
  let capture: Capture;
  let viewer: ViewerPage | undefined;
  const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

  beforeEach(() => {
    capture = new Capture();
    // 3 s of traffic: 40 messages in the first second, 10 in the second, 40 in the third
    let i = 0;
    for (const [second, n] of [[0, 40], [1, 10], [2, 40]]) {
      for (let k = 0; k < n; k++, i++) {
        const kind = i % 10 === 9 ? 'alarm' : 'reading';
        capture.append(spyMessage(['sensors', JSON.stringify({ kind, seq: i, value: i % 7, meta: { site: 'lab', tags: ['a', i % 2 ? 'odd' : 'even'] } })], { ts: T0 + second * 1000 + k * (900 / n) }));
      }
    }
    capture.append(spyMessage(['sensors', 'this is not JSON <b>bold</b>'], { ts: T0 + 2950 }));
  });
  afterEach(async () => {
    await viewer?.close();
    viewer = undefined;
    capture.dispose();
  });
  after(() => closeViewerBrowser());

  it('picks a decoder, shows the decoded tree and the diff, and filters on decoded fields', async () => {
    viewer = await openViewerPage(capture, { strictCsp: true });
    const { page } = viewer;
    page.setDefaultTimeout(5000);
    await page.locator('.shown[data-shown="91"]').waitFor();
    await page.locator('.decoder-spec').fill('json');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('.decoder-rules', { hasText: 'json (all)' }).waitFor();
    const rows = page.locator('.rows .row:not(.hidden)');
    await rows.filter({ hasText: '{"kind":"alarm","seq":89' }).waitFor();
    assert.equal(await page.locator('.rows .row.decode-error').count(), 1, 'the non-JSON message is marked, its bytes shown');
    assert.match((await page.locator('.rows .row.decode-error .c-preview').textContent()) ?? '', /this is not JSON <b>bold<\/b>/);

    await rows.filter({ hasText: '"seq":89' }).click();
    const tree = page.locator('.detail .decoded .tree');
    await tree.waitFor();
    assert.match((await page.locator('.detail .decoded .section-title').textContent()) ?? '', /Decoded \(json · topic sensors\)/);
    assert.equal(await tree.locator('.tree-leaf[data-path="kind"] .v-string').textContent(), '"alarm"');
    // collapsible: meta is open (depth 1), its tags (depth 2) closed until clicked
    const tags = tree.locator('details.tree-node[data-path="tags"]');
    assert.equal(await tags.evaluate((d) => (d as unknown as { open: boolean }).open), false);
    await tags.locator('summary').click();
    assert.equal(await tags.evaluate((d) => (d as unknown as { open: boolean }).open), true);
    assert.equal(await tags.locator('.tree-leaf[data-path="1"]').textContent(), '1: "odd"');
    // diff with #89 (the previous on "sensors")
    const diff = page.locator('.detail .diff');
    assert.match((await diff.locator('.section-title').textContent()) ?? '', /Changes since #89 \(same topic\)/);
    const lines = await diff.locator('.diff-line').allTextContents();
    assert.deepEqual(lines, ['~kind"reading" → "alarm"', '~seq88 → 89', '~value4 → 5', '~meta.tags[1]"even" → "odd"']);

    // a rule for the selected row's topic (its first frame, "sensors") wins over the one for all
    await page.locator('.decoderbar select').selectOption('topic');
    await page.locator('.decoder-spec').fill('text');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('.decoder-rules', { hasText: 'json (all) · text (topic "sensors")' }).waitFor();
    await rows.filter({ hasText: '"{\\"kind\\":\\"alarm\\",\\"seq\\":89' }).waitFor();
    await page.locator('.decoder-spec').fill('');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('.decoder-rules', { hasText: /^json \(all\)$/ }).waitFor();

    await page.locator('.filter-decoded').fill('kind == "alarm" && meta.tags[1] == "odd"');
    await page.locator('.shown[data-shown="9"]').waitFor();
    await page.locator('.filter-decoded').fill('kind ==');
    await page.locator('.filter-error', { hasText: 'Decoded-field filter: expected a value at the end' }).waitFor();
    await page.locator('.filter-decoded').fill('value >= 6');
    await page.locator('.shown[data-shown="12"]').waitFor();
    assert.deepEqual(viewer.errors, [], 'no CSP violation, no page error');
    await page.screenshot({ path: '/tmp/zmq-decoded-viewer.png' });
  });

  it('draws the timeline and filters the brushed time range', async () => {
    viewer = await openViewerPage(capture, { strictCsp: true });
    const { page } = viewer;
    await page.locator('.shown[data-shown="91"]').waitFor();
    await page.getByRole('button', { name: 'Timeline' }).click();
    const timeline = page.locator('.timeline');
    await page.locator('.timeline[data-messages="91"]').waitFor();
    assert.equal(await timeline.getAttribute('data-points'), '3');
    const canvas = timeline.locator('canvas');
    await canvas.waitFor();
    // brush across the plotting area from just after the first point to just before the last:
    // the middle second's 10 messages, plus nothing of the first and third seconds' starts
    const over = page.locator('.timeline .u-over');
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    const chip = page.locator('.filter-time:not(.hidden)');
    await chip.waitFor();
    const from = Number(await chip.getAttribute('data-from'));
    const to = Number(await chip.getAttribute('data-to'));
    assert.ok(from > T0 + 500 && from < T0 + 1000 && to > T0 + 1000 && to < T0 + 1500 + 100, `brushed ${from - T0}..${to - T0} ms`);
    const expected = [...capture.records()].filter((r) => r.ts >= from && r.ts <= to).length;
    await page.locator(`.shown[data-shown="${expected}"]`).waitFor();
    assert.ok(expected > 0 && expected < 91);
    // the chart keeps showing everything of the session/topic: the range is the filter's
    assert.equal(await timeline.getAttribute('data-messages'), '91');
    await chip.getByRole('button', { name: '✕' }).click();
    await page.locator('.shown[data-shown="91"]').waitFor();
    assert.deepEqual(viewer.errors, [], 'no CSP violation, no page error');
    await page.screenshot({ path: '/tmp/zmq-timeline-viewer.png' });
  });
});
