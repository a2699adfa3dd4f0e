/**
 * Tier 3: restricted mode (an untrusted workspace). The extension still runs
 * (discovery and spying are read-only), but nothing that starts a process or
 * listens on a port may run: each such command says why and starts nothing.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { freePort, killAllPython, runPython } from '../../unit/helpers/peers';
import { CodeServer, processesMentioning, ROOT, startCodeServer, stopCodeServersAfterEach, TEST_WORKSPACE } from './codeServer';
import { PUBLISHER } from './pythonPeers';

describe('restricted mode (untrusted workspace, code-server + Chromium)', function () {
  this.timeout(120000);
  let vsc: CodeServer | undefined;

  stopCodeServersAfterEach(killAllPython);

  it('spies, but refuses to start examples or taps and says why, starting nothing', async () => {
    const port = await freePort();
    const pub = runPython(PUBLISHER, [port]);
    await pub.waitFor('ready');
    vsc = await startCodeServer({ folder: TEST_WORKSPACE, restricted: true });
    const page = vsc.page;
    // VS Code says it is in restricted mode (status bar item)
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ state: 'visible', timeout: 20000 });

    await vsc.openViewContainer('ZeroMQ');
    // the extension is active: its read-only commands work
    await vsc.runCommand('ZeroMQ: Show Version');
    await vsc.waitForNotification(/libzmq 4\.3\.5/);

    const examples = join(ROOT, 'examples');
    await vsc.runCommand('ZeroMQ: Run Example…');
    const exampleToast = await vsc.waitForNotification(/needs a trusted workspace/);
    assert.match(await exampleToast.innerText(), /Running an example starts processes/);
    assert.ok(await exampleToast.getByRole('button', { name: 'Manage Workspace Trust' }).isVisible(), 'offers to manage trust');
    // no example picker opened, no example process started
    assert.ok(await page.locator('.quick-input-widget').isHidden(), 'no picker in restricted mode');

    await vsc.runCommand('ZeroMQ: Tap Endpoint…');
    const tapToast = await vsc.waitForNotification(/A tap listens for connections/);
    assert.match(await tapToast.innerText(), /needs a trusted workspace/);
    assert.ok(await page.locator('.quick-input-widget').isHidden(), 'no endpoint prompt in restricted mode');

    // spying only connects a SUB socket: allowed, and it receives
    const endpoint = `tcp://127.0.0.1:${port}`;
    await vsc.runEndpointCommand('ZeroMQ: Spy on Endpoint…', endpoint);
    await page.locator('.quick-input-widget .quick-input-title', { hasText: `Spy on ${endpoint}` }).waitFor({ state: 'visible', timeout: 10000 });
    await page.keyboard.press('Enter'); // every topic
    const sessionRow = vsc.view('Sessions').locator('.monaco-list-row', { hasText: `spy-1 127.0.0.1:${port}` }).first();
    await sessionRow.filter({ hasText: /[1-9][\d,]* msgs?/ }).waitFor({ state: 'visible', timeout: 15000 });

    assert.deepEqual(processesMentioning(examples), [], 'no example process');
    await vsc.screenshot('ui-restricted-mode');
  });
});
