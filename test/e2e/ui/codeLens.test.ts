/**
 * Tier 3: a user opens a seed-style Python program and sees Spy/Tap/Monitor
 * above its bind/connect lines, and the "Found in code" group in the Endpoints
 * view; and runs an example from the palette and sees its processes.
 * Screenshots: test-results/ui-codelens-python.png, ui-examples-run.png.
 */
import * as assert from 'node:assert/strict';
import { CodeServer, startCodeServer, stopCodeServersAfterEach, TEST_WORKSPACE } from './codeServer';

describe('CodeLens in the editor (code-server + Chromium)', function () {
  this.timeout(120000);
  let vsc: CodeServer | undefined;

  stopCodeServersAfterEach();

  it('shows Monitor and Tap lenses over the monitored queue seed and its endpoints under "Found in code"', async () => {
    vsc = await startCodeServer({ folder: TEST_WORKSPACE });
    const page = vsc.page;
    await vsc.openViewContainer('ZeroMQ');
    const endpoints = vsc.view('Endpoints');
    await endpoints.locator('.monaco-list-row', { hasText: 'Found in code' }).first().waitFor({ state: 'visible', timeout: 20000 });

    // Quick Open the file, as a user would
    // the palette without its '>' is Quick Open (file search)
    const input = await vsc.openPalette();
    await input.fill('monitored_queue.py');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'monitored_queue.py' }).first().waitFor({ timeout: 15000 });
    await page.keyboard.press('Enter');

    const lenses = page.locator('.monaco-editor .codelens-decoration');
    await lenses.filter({ hasText: 'Monitor' }).first().waitFor({ state: 'visible', timeout: 20000 });
    const texts = (await lenses.allInnerTexts()).map((t) => t.trim()).filter(Boolean);
    assert.ok(texts.filter((t) => /Tap/.test(t)).length >= 2, `lenses: ${texts.join(' | ')}`);
    assert.ok(texts.some((t) => /Monitor/.test(t)), `lenses: ${texts.join(' | ')}`);
    await vsc.screenshot('ui-codelens-python');
  });

  it('"ZeroMQ: Run Example…" from the palette shows the run\'s processes with pids in the Examples view', async () => {
    vsc = await startCodeServer({ folder: TEST_WORKSPACE });
    const page = vsc.page;
    await vsc.openViewContainer('ZeroMQ');
    const input = await vsc.openPalette();
    await input.fill('>ZeroMQ: Run Example');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Run Example' }).first().waitFor({ timeout: 15000 });
    await page.keyboard.press('Enter');
    // the catalog pick, then (a Python with pyzmq is installed here) the language pick
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'pub-sub' }).first().waitFor({ timeout: 15000 });
    await input.fill('pub-sub');
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Node.js' }).first().waitFor({ timeout: 15000 });
    await input.fill('Node.js');
    await page.keyboard.press('Enter');

    const examples = vsc.view('Examples');
    const running = examples.locator('.monaco-list-row', { hasText: /pid \d+ · running/ });
    await running.first().waitFor({ state: 'visible', timeout: 30000 });
    await examples.locator('.monaco-list-row', { hasText: 'pub-sub#1' }).first().waitFor({ state: 'visible', timeout: 15000 });
    assert.ok((await running.count()) >= 2, 'expected the publishers and subscribers to be listed as running');
    await vsc.screenshot('ui-examples-run');
    await vsc.runCommand('ZeroMQ: Stop All Examples');
    await examples.locator('.monaco-list-row', { hasText: 'pub-sub#1' }).first().waitFor({ state: 'hidden', timeout: 15000 });
  });
});
