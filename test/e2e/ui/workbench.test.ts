/**
 * Tier 3: the extension in a real VS Code in a real browser, as a user sees it.
 */
import * as assert from 'node:assert/strict';
import { CodeServer, startCodeServer, stopCodeServersAfterEach, TEST_WORKSPACE } from './codeServer';

describe('workbench (code-server + Chromium)', function () {
  this.timeout(120000);
  let vsc: CodeServer | undefined;

  stopCodeServersAfterEach();

  it('shows the ZeroMQ container with the Endpoints of the settings, and "ZeroMQ: Show Version" reports libzmq 4.3.5', async () => {
    const started = Date.now();
    vsc = await startCodeServer({ folder: TEST_WORKSPACE });
    const workbenchMs = Date.now() - started;
    await vsc.screenshot('ui-workbench');

    await vsc.openViewContainer('ZeroMQ');
    const endpoints = vsc.view('Endpoints');
    await endpoints.waitFor({ state: 'visible', timeout: 15000 });
    // the tree shows the endpoints of test/e2e/workspace/.vscode/settings.json
    for (const endpoint of ['tcp://127.0.0.1:5556', 'tcp://127.0.0.1:5557']) {
      await endpoints.locator('.monaco-list-row', { hasText: endpoint }).first().waitFor({ state: 'visible', timeout: 15000 });
    }
    await vsc.screenshot('ui-endpoints-view');

    await vsc.runCommand('ZeroMQ: Show Version');
    const toast = await vsc.waitForNotification(/libzmq/);
    const text = (await toast.innerText()).trim();
    assert.match(text, /libzmq 4\.3\.5/);
    assert.match(text, /ZeroMQ Topology Debugger \d+\.\d+\.\d+/);
    await vsc.screenshot('ui-show-version');
    console.log(`      (workbench up in ${workbenchMs} ms, whole test ${Date.now() - started} ms)`);
  });
});
