/**
 * Tier 3: a user opens a seed-style Python program and sees Spy/Tap/Monitor
 * above its bind/connect lines, and the "Found in code" group in the Endpoints
 * view. Screenshot: test-results/ui-codelens-python.png.
 */
import * as assert from 'node:assert/strict';
import { CodeServer, startCodeServer, stopAllCodeServers, TEST_WORKSPACE } from './codeServer';

describe('CodeLens in the editor (code-server + Chromium)', function () {
  this.timeout(120000);
  let vsc: CodeServer | undefined;

  afterEach(async function () {
    if (vsc && this.currentTest?.state === 'failed') {
      await vsc.screenshot(`failed-${this.currentTest.title}`).catch(() => {});
    }
    await vsc?.stop();
    vsc = undefined;
    await stopAllCodeServers();
  });

  it('shows Monitor and Tap lenses over the monitored queue seed and its endpoints under "Found in code"', async () => {
    vsc = await startCodeServer({ folder: TEST_WORKSPACE });
    const page = vsc.page;
    await vsc.openViewContainer('ZeroMQ');
    const endpoints = vsc.view('Endpoints');
    await endpoints.locator('.monaco-list-row', { hasText: 'Found in code' }).first().waitFor({ state: 'visible', timeout: 20000 });

    // Quick Open the file, as a user would
    // the palette without its '>' is Quick Open (file search)
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 15000 });
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
});
