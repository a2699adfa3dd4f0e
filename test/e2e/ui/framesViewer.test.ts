/**
 * Tier 3: the frames viewer as a user sees it in a real VS Code (code-server)
 * in Chromium: a spy on a real pyzmq publisher, the viewer opened from the
 * palette shows its rows; the filter narrows them; a binary frame shows its hex
 * dump; an HTML payload shows as text (no element made of it); the composer's
 * message reaches a pyzmq PULL. Screenshots under test-results/.
 * The webview lives in nested iframes: reached with frameLocator.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killAllPython, runPython } from '../../unit/helpers/peers';
import { CodeServer, startCodeServer, stopCodeServersAfterEach, TEST_WORKSPACE } from './codeServer';

const XSS = '<img src=x onerror=alert(1)>';

const PUBLISHER = `
import sys, time, zmq
pub = zmq.Context().socket(zmq.PUB)
pub.bind('tcp://127.0.0.1:%s' % sys.argv[1])
print('ready', flush=True)
for i in range(3000):
    pub.send_multipart([b'10001', b'%d 21 55' % i])
    if i % 4 == 0: pub.send_multipart([b'bin', b'\\x00\\x01\\xfe\\xff' + bytes([i % 256])])
    if i % 4 == 2: pub.send_multipart([b'html', b'${XSS}'])
    time.sleep(0.02)
`;

const PULL = `
import sys, zmq
s = zmq.Context().socket(zmq.PULL)
s.bind('tcp://127.0.0.1:%s' % sys.argv[1])
print('ready', flush=True)
while True:
    print('got ' + ' | '.join(f.decode('utf8', 'replace') for f in s.recv_multipart()), flush=True)
`;

describe('frames viewer through the UI (code-server + Chromium)', function () {
  this.timeout(180000);
  let vsc: CodeServer | undefined;

  stopCodeServersAfterEach(killAllPython);

  it('shows live rows from a pyzmq publisher, filters, hex dump, HTML as text, and sends from the composer', async () => {
    const [pubPort, pullPort] = [await freePort(), await freePort()];
    const pub = runPython(PUBLISHER, [pubPort]);
    const pull = runPython(PULL, [pullPort]);
    await pub.waitFor('ready');
    await pull.waitFor('ready');
    const endpoint = `tcp://127.0.0.1:${pubPort}`;

    vsc = await startCodeServer({ folder: TEST_WORKSPACE });
    const page = vsc.page;
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });

    // the ZeroMQ container appears once the extension's contributions are in
    await vsc.openViewContainer('ZeroMQ');
    // spy on the publisher: palette → endpoint picker → typed endpoint → every topic
    const widget = page.locator('.quick-input-widget');
    const input = widget.locator('.quick-input-box input');
    await vsc.runEndpointCommand('ZeroMQ: Spy on Endpoint…', endpoint);
    await widget.locator('.quick-input-title', { hasText: `Spy on ${endpoint}` }).waitFor({ state: 'visible', timeout: 10000 });
    await page.keyboard.press('Enter');
    await widget.waitFor({ state: 'hidden', timeout: 10000 });

    await vsc.runCommand('ZeroMQ: Open Frames Viewer');
    await page.locator('.tabs-container .tab', { hasText: 'ZeroMQ Frames' }).first().waitFor({ state: 'visible', timeout: 15000 });
    const view = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const rows = view.locator('.rows .row:not(.hidden)');
    await rows.filter({ hasText: '10001' }).first().waitFor({ state: 'visible', timeout: 20000 });
    await rows.filter({ hasText: 'html' }).first().waitFor({ state: 'visible', timeout: 20000 });
    const received = Number(await view.locator('.counters').getAttribute('data-received'));
    assert.ok(received > 0);
    await vsc.screenshot('ui-frames-live');

    // freeze the view so rows stay put while we click them
    await view.getByRole('button', { name: 'Pause' }).click();
    await view.getByRole('button', { name: 'Resume' }).waitFor();

    // the filter narrows the rows: "shown / total"
    await view.locator('.filter-text').fill(XSS);
    await view.locator('.filter-error:empty').waitFor({ state: 'attached' });
    const shownText = async () => (await view.locator('.shown').textContent()) ?? '';
    let shown = '';
    for (let i = 0; i < 50; i++) {
      shown = await shownText();
      const [a, b] = shown.split(' / ').map((s) => Number(s.replace(/,/g, '')));
      if (a > 0 && a < b && (await rows.count()) === (await rows.filter({ hasText: 'html' }).count())) break;
      await page.waitForTimeout(100);
    }
    const [shownN, totalN] = shown.split(' / ').map((s) => Number(s.replace(/,/g, '')));
    assert.ok(shownN > 0 && shownN < totalN, `filter did not narrow: ${shown}`);
    assert.equal(await rows.count(), await rows.filter({ hasText: 'html' }).count(), 'a row that does not match is shown');

    // the HTML payload is text: in the row and in the detail, and no <img> exists
    const htmlRow = rows.filter({ hasText: XSS }).first();
    await htmlRow.click();
    const frame1 = view.locator('.detail .frame[data-index="1"] pre');
    await frame1.waitFor({ state: 'visible', timeout: 10000 });
    assert.equal((await frame1.textContent())?.trim(), XSS);
    assert.equal(await view.locator('img').count(), 0, 'the payload became an <img> element');
    assert.deepEqual(dialogs, []);
    await vsc.screenshot('ui-frames-html-literal');

    // a binary message: its frame opens as a hex dump
    await view.locator('.filter-text').fill('');
    await view.locator('.filter-topic').fill('bin');
    await rows.filter({ hasText: 'bin' }).first().waitFor({ state: 'visible', timeout: 10000 });
    await page.waitForTimeout(300);
    await rows.filter({ hasText: 'bin' }).first().click();
    const hex = view.locator('.detail .frame[data-index="1"] pre.hex');
    await hex.waitFor({ state: 'visible', timeout: 10000 });
    assert.match((await hex.textContent()) ?? '', /^00000000 {2}00 01 fe ff [0-9a-f]{2}/);
    await vsc.screenshot('ui-frames-hex-dump');

    // the composer: PUSH, connect, to the pyzmq PULL
    await view.getByRole('button', { name: 'Send…' }).click();
    const composer = view.locator('.composer');
    await composer.locator('select').first().selectOption('PUSH');
    await composer.locator('select').nth(1).selectOption('connect');
    await composer.locator('input.endpoint').fill(`tcp://127.0.0.1:${pullPort}`);
    await composer.locator('textarea').first().fill('hello from the composer');
    await composer.getByRole('button', { name: '+ Frame' }).click();
    await composer.locator('.composer-frame').nth(1).locator('select').selectOption('json');
    await composer.locator('textarea').nth(1).fill('{ "n": 1 }');
    await composer.locator('button.send').click();
    await composer.locator('.send-result .ok').waitFor({ state: 'visible', timeout: 15000 });
    await pull.waitFor('got hello from the composer | {"n":1}');
    await vsc.screenshot('ui-frames-composer-sent');

    // export the filtered rows through VS Code's save dialog, then import that file into the viewer
    // VS Code's own (simple) file dialog in the browser: a quick input with the path and an OK button
    const acceptFileDialog = async (path: string) => {
      // the dialog fills in its starting folder asynchronously: type only once it has
      const deadline = Date.now() + 10000;
      while (!(await input.inputValue()).startsWith('/') && Date.now() < deadline) await page.waitForTimeout(100);
      await page.waitForTimeout(300);
      await input.fill(path);
      await page.waitForTimeout(300);
      assert.equal(await input.inputValue(), path);
      await page.keyboard.press('Enter');
      await widget.waitFor({ state: 'hidden', timeout: 10000 });
    };
    const dir = mkdtempSync(join(tmpdir(), 'zmq-frames-export-'));
    try {
      const file = join(dir, 'bin-only.jsonl');
      const expected = Number((await view.locator('.shown').getAttribute('data-shown')) ?? -1);
      await view.getByRole('button', { name: 'Export filtered' }).click();
      await input.waitFor({ state: 'visible', timeout: 10000 });
      await acceptFileDialog(file);
      await view.locator('.notice', { hasText: `Exported ${expected} records to ${file}` }).waitFor({ state: 'visible', timeout: 15000 });
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(lines.length, expected + 1, 'records plus the summary line');
      assert.ok(lines.slice(0, -1).every((l) => JSON.parse(l).frames[0] === Buffer.from('bin').toString('base64')));

      await view.getByRole('button', { name: 'Import…' }).click();
      await input.waitFor({ state: 'visible', timeout: 10000 });
      await acceptFileDialog(file);
      await view.locator('.source', { hasText: 'Viewing import: bin-only.jsonl' }).waitFor({ state: 'visible', timeout: 15000 });
      await view.locator('.notice', { hasText: `Imported ${expected} records from bin-only.jsonl` }).waitFor({ state: 'visible', timeout: 15000 });
      // the selection belonged to the live capture: it is gone
      await view.locator('.detail .placeholder').waitFor({ state: 'visible', timeout: 10000 });
      await vsc.screenshot('ui-frames-imported');
      await view.getByRole('button', { name: 'Back to live' }).click();
      await view.locator('.source:empty').waitFor({ state: 'attached', timeout: 10000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('survives a reload of the window with its filter (panel serializer)', async () => {
    vsc = await startCodeServer({ folder: TEST_WORKSPACE });
    const page = vsc.page;
    await vsc.openViewContainer('ZeroMQ');
    await vsc.runCommand('ZeroMQ: Open Frames Viewer');
    const view = () => page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await view().locator('.filter-text').waitFor({ state: 'visible', timeout: 20000 });
    await view().locator('.filter-text').fill('kept across reloads');
    await view().locator('.filter-topic').fill('hex:00ff');
    // the state is saved as you type; give the webview a moment to hand it to the workbench
    await page.waitForTimeout(500);
    // "Developer: Reload Window" as a user runs it: the workbench saves its state, then reloads
    const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: 30000 });
    await vsc.runCommand('Developer: Reload Window');
    await navigated;
    await page.locator('.monaco-workbench').waitFor({ timeout: 30000 });
    await page.locator('.tabs-container .tab', { hasText: 'ZeroMQ Frames' }).first().waitFor({ state: 'visible', timeout: 30000 });
    const text = view().locator('.filter-text');
    await text.waitFor({ state: 'visible', timeout: 30000 });
    assert.equal(await text.inputValue(), 'kept across reloads');
    assert.equal(await view().locator('.filter-topic').inputValue(), 'hex:00ff');
    await vsc.screenshot('ui-frames-restored');
  });
});
