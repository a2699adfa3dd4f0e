/**
 * Tier 3: a user runs an example, opens "ZeroMQ: Show Topology Map" and sees
 * the live graph (Cytoscape canvas in the webview), clicks a node and gets its
 * details; the Doctor view lists the findings about the workspace's code.
 * Screenshots: test-results/ui-topology-map.png, ui-topology-selected.png.
 */
import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CodeServer, startCodeServer, stopCodeServersAfterEach, TEST_WORKSPACE } from './codeServer';

describe('topology map (code-server + Chromium)', function () {
  this.timeout(180000);
  let vsc: CodeServer | undefined;

  // "Observe Programs Started Here" writes the setting into the test workspace: put it back
  const settingsFile = join(TEST_WORKSPACE, '.vscode', 'settings.json');
  const settings = readFileSync(settingsFile, 'utf8');
  stopCodeServersAfterEach(async () => writeFileSync(settingsFile, settings));

  it('draws a running example live, with rates, and shows a selected node', async () => {
    vsc = await startCodeServer({ folder: TEST_WORKSPACE, viewport: { width: 1500, height: 950 } });
    const page = vsc.page;
    await vsc.openViewContainer('ZeroMQ');

    // Run Example… → the quick pick: round robin, then Node.js
    await vsc.runCommand('ZeroMQ: Run Example…');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 15000 });
    await input.fill('Round robin');
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Round robin' }).first().click();
    // a second pick asks for the language when there is a choice
    const lang = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: /Node/ }).first();
    if (await lang.waitFor({ state: 'visible', timeout: 5000 }).then(() => true, () => false)) await lang.click();
    await vsc.view('Examples').locator('.monaco-list-row', { hasText: /worker/ }).first().waitFor({ state: 'visible', timeout: 30000 });

    await vsc.runCommand('ZeroMQ: Show Topology Map');
    const map = await vsc.mapFrame();
    // live rates reach the summary and the edges: wait for the two workers' connections
    await map.locator('#summary', { hasText: /\d+ nodes · \d+ edges/ }).waitFor({ timeout: 30000 });
    const summary = await map.locator('#summary').innerText();
    assert.match(summary, /no problems found|\d+ errors?, \d+ warnings?, \d+ info/);
    // both workers' connections through the tap are listed as nodes, named after their processes
    await map.locator('.node-list .node-item', { hasText: /^PULL round-robin#\d+ worker \d \(\d+\)$/ }).nth(1).waitFor({ timeout: 30000 });
    // let rates fill the edges before the picture
    await page.waitForTimeout(2500);
    await vsc.screenshot('ui-topology-map');

    // select the round-robin's PUSH endpoint from the node list (the canvas is not in the DOM)
    const item = map.locator('.node-list .node-item', { hasText: /^PUSH tcp:\/\/127\.0\.0\.1:\d+$/ }).first();
    await item.waitFor({ state: 'visible', timeout: 15000 });
    await item.click();
    await map.locator('#details h3', { hasText: /^PUSH tcp:/ }).waitFor({ timeout: 10000 });
    await page.waitForTimeout(500);
    await vsc.screenshot('ui-topology-selected');

    // Show frames opens the frames viewer on the tap's session
    await map.locator('#details button', { hasText: 'Show frames' }).click();
    await page.locator('.tabs-container .tab', { hasText: 'ZeroMQ Frames' }).waitFor({ state: 'visible', timeout: 15000 });
    await page.locator('.tabs-container .tab', { hasText: 'ZeroMQ Topology' }).click();

    // the endpoints found in the seeds' code are one click away
    await map.locator('button', { hasText: /^Show code \(\d+\)$/ }).click();
    await map.locator('button', { hasText: 'Hide code' }).waitFor({ timeout: 10000 });
    await page.waitForTimeout(1000);
    await vsc.screenshot('ui-topology-code');
    await map.locator('button', { hasText: 'Hide code' }).click();

    // the Doctor view lists the findings about the seeds' code
    const doctor = vsc.view('Doctor');
    // expand the Doctor pane if it is collapsed (a click on an expanded header would collapse it)
    const header = doctor.locator('.pane-header');
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
    await doctor.locator('.monaco-list-row', { hasText: 'Code connects to an endpoint nobody binds' }).first().waitFor({ state: 'visible', timeout: 20000 });
    await vsc.screenshot('ui-topology-doctor');
  });

  it('draws the programs observed from the inside as groups holding their sockets, with their details', async () => {
    vsc = await startCodeServer({ folder: TEST_WORKSPACE, viewport: { width: 1500, height: 950 } });
    const page = vsc.page;
    await vsc.openViewContainer('ZeroMQ');
    await vsc.runCommand('ZeroMQ: Observe Programs Started Here');
    // the collector listens (its session is shown) before the example starts, or the example runs without the agent
    await vsc.view('Sessions').locator('.monaco-list-row', { hasText: /agent-\d+ 127\.0\.0\.1:\d+/ }).first().waitFor({ state: 'visible', timeout: 15000 });
    // the command opens its own quick pick at once: the palette may never look closed in between
    await vsc.runCommand('ZeroMQ: Run Example…', 5000).catch(() => undefined);
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 15000 });
    // a fill right as the quick pick opens can be lost: type until the list shows the filter
    for (let i = 0; i < 5 && (await input.inputValue()) !== 'Round robin'; i++) {
      await input.fill('Round robin');
      await page.waitForTimeout(200);
    }
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Round robin' }).first().click();
    const lang = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: /Python/ }).first();
    if (await lang.waitFor({ state: 'visible', timeout: 5000 }).then(() => true, () => false)) await lang.click();

    await vsc.runCommand('ZeroMQ: Show Topology Map');
    const map = await vsc.mapFrame();
    // each program is a node named by program and pid; the workers' tap peers are sockets inside them
    await map.locator('.node-list .node-item', { hasText: /^ventilator\.py \(\d+\)$/ }).waitFor({ timeout: 30000 });
    await map.locator('.node-list .node-item', { hasText: /^PULL worker\.py \(\d+\)$/ }).nth(1).waitFor({ timeout: 30000 });
    await page.waitForTimeout(2500);
    await vsc.screenshot('ui-topology-groups');

    // a program's details list its sockets; a socket's, its program, type, endpoints and counts
    await map.locator('.node-list .node-item', { hasText: /^ventilator\.py \(\d+\)$/ }).click();
    await map.locator('#details h3', { hasText: /^ventilator\.py \(\d+\)$/ }).waitFor({ timeout: 10000 });
    await map.locator('#details p', { hasText: /^Command: .*ventilator\.py/ }).waitFor({ timeout: 10000 });
    const socket = map.locator('#details .node-list .node-item', { hasText: /^PUSH tcp:/ });
    await socket.waitFor({ timeout: 10000 });
    await socket.click();
    await map.locator('#details h3', { hasText: /^PUSH tcp:/ }).waitFor({ timeout: 10000 });
    await map.locator('#details p', { hasText: /^PUSH socket \d+\.\d+ of ventilator\.py \(pid \d+\), open$/ }).waitFor({ timeout: 10000 });
    await map.locator('#details p', { hasText: /^Sent \d+ messages/ }).waitFor({ timeout: 10000 });
    await map.locator('#details p', { hasText: /^High-water marks: sndhwm \d+, rcvhwm \d+$/ }).waitFor({ timeout: 10000 });
    await map.locator('#details button', { hasText: /^In ventilator\.py \(\d+\)$/ }).waitFor({ timeout: 10000 });
    await page.waitForTimeout(500);
    await vsc.screenshot('ui-topology-socket');
    await vsc.runCommand('ZeroMQ: Stop All Examples').catch(() => undefined);
    await vsc.runCommand('ZeroMQ: Stop Observing Programs').catch(() => undefined);
  });
});
