/**
 * The frames viewer in Chromium on agent records (issue 16): the process and
 * socket drop-downs appear once agents reported, list what was seen, narrow the
 * rows (the socket list to the chosen process), and a row names its program and
 * socket. The real bundle and controller (bench/viewerHarness.ts); needs
 * `npm run build` and /usr/bin/chromium.
 */
import * as assert from 'node:assert/strict';
import { closeViewerBrowser, openViewerPage, ViewerPage } from '../../bench/viewerHarness';
import { Capture } from '../../src/core/capture/capture';
import { CapturedMessage } from '../../src/core/capture/records';
import { spyMessage } from './helpers/records';

function agentMsg(pid: number, name: string, n: number, type: string, text: string): CapturedMessage {
  return { kind: 'message', seq: 0, ts: Date.now(), session: 'agent', source: 'agent', endpoint: 'tcp://127.0.0.1:5556', process: name, pid, socket: `${pid}.${n}`, socketType: type, direction: 'out', frames: [Buffer.from(text)] };
}

describe('frames viewer webview: filter by process and socket', function () {
  this.timeout(30000);
  let capture: Capture;
  let viewer: ViewerPage | undefined;
  beforeEach(() => {
    capture = new Capture();
  });
  afterEach(async () => {
    await viewer?.close();
    viewer = undefined;
    capture.dispose();
  });
  after(() => closeViewerBrowser());

  it('hides the drop-downs without agents, then lists programs and sockets and narrows the rows', async () => {
    viewer = await openViewerPage(capture);
    const { page } = viewer;
    const processSel = page.locator('select.filter-process');
    const socketSel = page.locator('select.filter-socket');
    capture.append(spyMessage(['10001', 'from a spy']));
    await page.locator('.shown[data-shown="1"]').waitFor();
    assert.equal(await processSel.isVisible(), false);
    for (let i = 0; i < 3; i++) capture.append(agentMsg(100, 'pub_server.py', 1, 'PUB', `pub ${i}`));
    for (let i = 0; i < 2; i++) capture.append(agentMsg(200, 'worker.py', 1, 'PULL', `task ${i}`));
    capture.append(agentMsg(200, 'worker.py', 2, 'PUSH', 'result'));
    capture.append(agentMsg(300, 'worker.py', 1, 'PULL', 'task 9'));
    await page.locator('.shown[data-shown="8"]').waitFor();
    await processSel.waitFor({ state: 'visible' });
    const options = async (sel: typeof processSel) => {
      const os = sel.locator('option');
      const out: [string | null, string | null][] = [];
      for (let i = 0; i < (await os.count()); i++) out.push([await os.nth(i).getAttribute('value'), await os.nth(i).textContent()]);
      return out;
    };
    assert.deepEqual(await options(processSel), [
      ['', 'any process'],
      ['worker.py', 'worker.py (2 processes)'],
      ['100', 'pub_server.py · pid 100'],
      ['200', 'worker.py · pid 200'],
      ['300', 'worker.py · pid 300'],
    ]);
    await processSel.selectOption('worker.py');
    await page.locator('.shown[data-shown="4"]').waitFor();
    await processSel.selectOption('200');
    await page.locator('.shown[data-shown="3"]').waitFor();
    // the socket list follows the process chosen
    await page.locator('select.filter-socket option[value="200.2"]').waitFor({ state: 'attached' });
    await page.locator('select.filter-socket option[value="100.1"]').waitFor({ state: 'detached' });
    assert.deepEqual(await options(socketSel), [
      ['', 'any socket'],
      ['200.1', '200.1 PULL'],
      ['200.2', '200.2 PUSH'],
    ]);
    await socketSel.selectOption('200.2');
    await page.locator('.shown[data-shown="1"]').waitFor();
    const row = page.locator('.rows .row:not(.hidden)').filter({ hasText: 'result' });
    assert.equal(await row.locator('.c-session').textContent(), 'worker.py · 200 200.2');
    assert.deepEqual(viewer.controller.filter.process, '200');
    assert.deepEqual(viewer.controller.filter.socket, '200.2');
    // back to every process: the socket choice goes too
    await processSel.selectOption('');
    await page.locator('.shown[data-shown="8"]').waitFor();
    assert.equal(viewer.controller.filter.socket, '');
    assert.deepEqual(viewer.errors, []);
  });

  it('a filter set by the host (Processes view → a socket) shows in the drop-downs', async () => {
    capture.append(agentMsg(100, 'pub_server.py', 1, 'PUB', 'a'));
    capture.append(agentMsg(100, 'pub_server.py', 2, 'SUB', 'b'));
    viewer = await openViewerPage(capture);
    const { page } = viewer;
    await page.locator('.shown[data-shown="2"]').waitFor();
    viewer.controller.setFilter({ ...viewer.controller.filter, socket: '100.2' });
    await page.locator('.shown[data-shown="1"]').waitFor();
    for (let i = 0; i < 50 && (await page.locator('select.filter-socket').inputValue()) !== '100.2'; i++) await page.waitForTimeout(100);
    assert.equal(await page.locator('select.filter-socket').inputValue(), '100.2');
  });
});
