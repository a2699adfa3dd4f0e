/**
 * Tier 3: "ZeroMQ: Add Endpoint…" from the command palette as a user runs it —
 * the input box validates as you type with the precise reason, a valid endpoint
 * lands in the Endpoints view; then a spy on a real pyzmq publisher shows up in
 * the Sessions view with its count. Screenshots under test-results/.
 */
import * as assert from 'node:assert/strict';
import { freePort, killAllPython, runPython } from '../../unit/helpers/peers';
import { CodeServer, startCodeServer, stopCodeServersAfterEach, TEST_WORKSPACE } from './codeServer';
import { PUBLISHER, SUBSCRIBER } from './pythonPeers';


describe('Endpoints and sessions through the UI (code-server + Chromium)', function () {
  this.timeout(120000);
  let vsc: CodeServer | undefined;

  stopCodeServersAfterEach(killAllPython);

  it('validates the endpoint as you type, adds a good one to the tree, and spies on it', async () => {
    const port = await freePort();
    const pub = runPython(PUBLISHER, [port]);
    await pub.waitFor('ready');
    const endpoint = `tcp://127.0.0.1:${port}`;

    vsc = await startCodeServer({ folder: TEST_WORKSPACE });
    const page = vsc.page;
    await vsc.openViewContainer('ZeroMQ');
    await vsc.view('Endpoints').waitFor({ state: 'visible', timeout: 15000 });

    // palette → the command; its input box replaces the palette in the same widget
    const input = await vsc.openPalette();
    await input.fill('>ZeroMQ: Add Endpoint');
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'ZeroMQ: Add Endpoint…' }).first().click();
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'ZeroMQ: Add Endpoint' }).waitFor({ state: 'visible', timeout: 10000 });

    // a bad endpoint: the precise reason shows under the box, Enter does nothing
    await input.fill('tcp://127.0.0.1');
    const message = page.locator('.quick-input-widget .quick-input-message');
    await message.filter({ hasText: 'missing port' }).waitFor({ state: 'visible', timeout: 10000 });
    assert.match(await message.innerText(), /Invalid endpoint 'tcp:\/\/127\.0\.0\.1': missing port; expected tcp:\/\/127\.0\.0\.1:PORT/);
    await vsc.screenshot('ui-add-endpoint-invalid');
    await input.fill('localhost:5556');
    await message.filter({ hasText: 'did you mean tcp://localhost:5556?' }).waitFor({ state: 'visible', timeout: 10000 });
    await page.keyboard.press('Enter');
    assert.ok(await input.isVisible(), 'an invalid endpoint must not be accepted');

    // a good one is accepted and appears in the Endpoints view
    await input.fill(endpoint);
    await message.filter({ hasText: /missing|did you mean/ }).waitFor({ state: 'detached', timeout: 10000 }).catch(() => {});
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10000 });
    const row = vsc.view('Endpoints').locator('.monaco-list-row', { hasText: endpoint }).first();
    await row.waitFor({ state: 'visible', timeout: 15000 });
    await vsc.screenshot('ui-add-endpoint-added');

    // the row's inline "Spy on Endpoint…" button, then Enter for every topic
    await row.hover();
    await row.locator('.action-label[aria-label^="Spy on Endpoint"]').click();
    await page.locator('.quick-input-widget .quick-input-title', { hasText: `Spy on ${endpoint}` }).waitFor({ state: 'visible', timeout: 10000 });
    await page.keyboard.press('Enter');
    const sessions = vsc.view('Sessions');
    const sessionRow = sessions.locator('.monaco-list-row', { hasText: `spy-1 127.0.0.1:${port}` }).first();
    await sessionRow.waitFor({ state: 'visible', timeout: 15000 });
    const countOf = async () => Number(/([\d,]+) msgs?/.exec(await sessionRow.innerText())?.[1]?.replace(/,/g, '') ?? -1);
    const deadline = Date.now() + 15000;
    let first = await countOf();
    while (first < 3 && Date.now() < deadline) {
      await page.waitForTimeout(250);
      first = await countOf();
    }
    assert.ok(first >= 3, `no count in the Sessions row: ${await sessionRow.innerText()}`);
    let second = first;
    while (second <= first && Date.now() < deadline) {
      await page.waitForTimeout(250);
      second = await countOf();
    }
    assert.ok(second > first, `the count did not rise in the Sessions view (${first} → ${second})`);
    assert.match(await sessionRow.innerText(), /msgs · \d+ msg\/s/);
    // the status bar shows the session and a live rate (the publisher sends 50 msg/s)
    await page.locator('.statusbar-item', { hasText: /1 · [1-9][\d,]* msg\/s/ }).first().waitFor({ state: 'visible', timeout: 10000 });
    // expanded, the session lists the topics seen
    await sessionRow.click();
    await sessions.locator('.monaco-list-row', { hasText: '10001' }).first().waitFor({ state: 'visible', timeout: 10000 });
    await vsc.screenshot('ui-spy-session');

    // a click on the status bar item opens the frames viewer
    await page.locator('.statusbar-item', { hasText: /1 · [\d,]+ msg\/s/ }).first().click();
    await page.locator('.tabs-container .tab', { hasText: 'ZeroMQ Frames' }).first().waitFor({ state: 'visible', timeout: 15000 });
  });

  it('a tap on a port in use says so with "Choose Another Port", which proposes a free one and starts the tap', async () => {
    const port = await freePort();
    const pub = runPython(PUBLISHER, [port]);
    await pub.waitFor('ready');
    const endpoint = `tcp://127.0.0.1:${port}`;
    vsc = await startCodeServer({ folder: TEST_WORKSPACE });
    const page = vsc.page;
    await vsc.openViewContainer('ZeroMQ');
    const widget = page.locator('.quick-input-widget');
    const input = widget.locator('.quick-input-box input');
    // the endpoint picker lists known endpoints and "Enter an endpoint…"
    await vsc.runEndpointCommand('ZeroMQ: Tap Endpoint…', endpoint);
    // the port prompt proposes a free port; type the publisher's own (busy) port instead
    await widget.locator('.quick-input-title', { hasText: `Tap ${endpoint}` }).waitFor({ state: 'visible', timeout: 10000 });
    assert.match(await input.inputValue(), /^\d+$/, 'a free port is proposed');
    await input.fill(String(port));
    await page.keyboard.press('Enter');
    const toast = await vsc.waitForNotification(`port ${port} in use`);
    await page.waitForTimeout(400); // let the toast finish fading in for the screenshot
    assert.match(await toast.innerText(), new RegExp(`Cannot start the tap for tcp://127\\.0\\.0\\.1:${port}: port ${port} in use — choose another port`));
    await vsc.screenshot('ui-tap-port-in-use');
    await toast.locator('.monaco-button', { hasText: 'Choose Another Port' }).click();

    // the action asks again with a fresh free port
    await widget.locator('.quick-input-title', { hasText: `Tap ${endpoint}` }).waitFor({ state: 'visible', timeout: 10000 });
    const proposed = Number(await input.inputValue());
    assert.ok(proposed > 0 && proposed !== port, `proposed ${proposed}`);
    await page.keyboard.press('Enter');
    const row = vsc.view('Sessions').locator('.monaco-list-row', { hasText: `tap-1 127.0.0.1:${port}` }).first();
    await row.waitFor({ state: 'visible', timeout: 15000 });

    // a pyzmq SUB through the tap: the connection shows both socket types
    runPython(SUBSCRIBER, [proposed]);
    await row.click();
    await vsc.view('Sessions').locator('.monaco-list-row', { hasText: 'SUB → PUB · open' }).first().waitFor({ state: 'visible', timeout: 15000 });
    await vsc.view('Sessions').locator('.monaco-list-row', { hasText: `peers connect to tcp://127.0.0.1:${proposed}` }).first().waitFor({ state: 'visible', timeout: 5000 });
    await vsc.screenshot('ui-tap-session');
  });
});
