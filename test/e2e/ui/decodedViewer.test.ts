/**
 * Tier 3: decoders in the frames viewer as a user sees them in a real VS Code
 * (code-server) in Chromium: a spy on a real pyzmq publisher of JSON readings,
 * the viewer's decoder picker set to json, the decoded tree of a selected row,
 * the diff with the previous message on its topic, a filter on decoded fields,
 * and the timeline chart whose brushed range filters the rows.
 * Screenshots under test-results/ (ui-decoded-tree, ui-decoded-filter, ui-timeline).
 */
import * as assert from 'node:assert/strict';
import { freePort, killAllPython, runPython } from '../../unit/helpers/peers';
import { CodeServer, startCodeServer, stopCodeServersAfterEach, TEST_WORKSPACE } from './codeServer';

const PUBLISHER = `
import sys, time, json, zmq
pub = zmq.Context().socket(zmq.PUB)
pub.bind('tcp://127.0.0.1:%s' % sys.argv[1])
print('ready', flush=True)
for i in range(100000):
    kind = 'alarm' if i % 10 == 9 else 'reading'
    pub.send_multipart([b'sensors', json.dumps({'kind': kind, 'seq': i, 'value': i % 7, 'meta': {'site': 'lab', 'tags': ['a', 'odd' if i % 2 else 'even']}}).encode()])
    time.sleep(0.02)
`;

describe('decoded values through the UI (code-server + Chromium)', function () {
  this.timeout(180000);
  let vsc: CodeServer | undefined;

  stopCodeServersAfterEach(killAllPython);

  it('decodes with the picker, shows the tree and the diff, filters on a decoded field and on a brushed time range', async () => {
    const pubPort = await freePort();
    const pub = runPython(PUBLISHER, [pubPort]);
    await pub.waitFor('ready');
    const endpoint = `tcp://127.0.0.1:${pubPort}`;

    vsc = await startCodeServer({ folder: TEST_WORKSPACE });
    const page = vsc.page;
    await vsc.openViewContainer('ZeroMQ');
    const widget = page.locator('.quick-input-widget');
    await vsc.runEndpointCommand('ZeroMQ: Spy on Endpoint…', endpoint);
    await widget.locator('.quick-input-title', { hasText: `Spy on ${endpoint}` }).waitFor({ state: 'visible', timeout: 10000 });
    await page.keyboard.press('Enter');
    await widget.waitFor({ state: 'hidden', timeout: 10000 });

    await vsc.runCommand('ZeroMQ: Open Frames Viewer');
    await page.locator('.tabs-container .tab', { hasText: 'ZeroMQ Frames' }).first().waitFor({ state: 'visible', timeout: 15000 });
    const view = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const rows = view.locator('.rows .row:not(.hidden)');
    await rows.filter({ hasText: 'sensors' }).first().waitFor({ state: 'visible', timeout: 20000 });

    // the picker: json for every message
    await view.locator('.decoder-spec').fill('json');
    await view.locator('.decoderbar').getByRole('button', { name: 'Apply' }).click();
    await view.locator('.decoder-rules', { hasText: 'json (all)' }).waitFor({ state: 'visible', timeout: 10000 });
    await rows.filter({ hasText: '{"kind":"alarm"' }).first().waitFor({ state: 'visible', timeout: 20000 });

    // freeze, select an alarm: its decoded tree and what changed since the previous "sensors" message
    await view.getByRole('button', { name: 'Pause' }).click();
    await view.getByRole('button', { name: 'Resume' }).waitFor();
    await rows.filter({ hasText: '{"kind":"alarm"' }).first().click();
    const tree = view.locator('.detail .decoded .tree');
    await tree.waitFor({ state: 'visible', timeout: 10000 });
    assert.equal(await tree.locator('.tree-leaf[data-path="kind"] .v-string').textContent(), '"alarm"');
    const diff = view.locator('.detail .diff');
    await diff.locator('.diff-line', { hasText: 'kind' }).waitFor({ state: 'visible', timeout: 10000 });
    assert.match((await diff.locator('.section-title').textContent()) ?? '', /Changes since #\d+ \(same topic\)/);
    assert.match((await diff.locator('.diff-line', { hasText: 'kind' }).textContent()) ?? '', /"reading" → "alarm"/);
    await vsc.screenshot('ui-decoded-tree');

    // a filter on decoded fields: every row shown is an alarm
    await view.locator('.filter-decoded').fill('kind == "alarm" && value >= 3');
    await view.getByRole('button', { name: 'Resume' }).click();
    const shownOf = async () => (await view.locator('.shown').textContent()) ?? '';
    // the rows as one snapshot of the page (two separate counts raced the live updates)
    const notAlarms = async () => (await rows.evaluateAll((els) => els.map((e) => e.textContent ?? ''))).filter((t) => !t.includes('"kind":"alarm"'));
    let shown = '';
    for (let i = 0; i < 50; i++) {
      shown = await shownOf();
      const [a, b] = shown.split(' / ').map((s) => Number(s.replace(/,/g, '')));
      if (a > 0 && a < b && (await notAlarms()).length === 0) break;
      await page.waitForTimeout(100);
    }
    const [shownN, totalN] = shown.split(' / ').map((s) => Number(s.replace(/,/g, '')));
    assert.ok(shownN > 0 && shownN < totalN, `the decoded filter did not narrow: ${shown}`);
    assert.deepEqual(await notAlarms(), [], 'a row that does not match is shown');
    await vsc.screenshot('ui-decoded-filter');

    // the timeline: msg/s drawn; brushing a range adds the time chip and narrows the rows
    await view.locator('.filter-decoded').fill('');
    await view.getByRole('button', { name: 'Timeline' }).click();
    const over = view.locator('.timeline .u-over');
    await over.waitFor({ state: 'visible', timeout: 10000 });
    await page.waitForTimeout(3000); // a few seconds of traffic on the chart
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await view.locator('.filter-time:not(.hidden)').waitFor({ state: 'visible', timeout: 10000 });
    await vsc.screenshot('ui-timeline');
    await view.locator('.filter-time').getByRole('button', { name: '✕' }).click();
    await view.locator('.filter-time.hidden').waitFor({ state: 'attached', timeout: 10000 });
  });
});
