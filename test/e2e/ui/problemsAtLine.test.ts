/**
 * Tier 3 (issue 24): the bug named at its line, and still there once the
 * program has ended. A short pyzmq script whose REQ sends out of turn is typed
 * into a terminal of the real VS Code (code-server in Chromium) with
 * zmqDebugger.agent.observePrograms on; it exits at once. More than 30 s after
 * its exit (the doctor used to forget findings of exited programs then), the
 * Problems panel still shows the finding on line 13 of the script, the very
 * line of the second send, marked as about an exited program.
 * Screenshot test-results/ui-problems-at-line.png.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON } from '../../unit/helpers/peers';
import { CodeServer, startCodeServer, stopCodeServersAfterEach } from './codeServer';

// line 13 is the second send: EFSM, caught, and the script ends with exit code 0
const SCRIPT = `# A REQ client that sends its second request without waiting for the reply to
# the first: the second send fails with EFSM (line 13). The script catches the
# error and ends at once.
import sys
import zmq

ctx = zmq.Context()
rep = ctx.socket(zmq.REP)
rep.bind("inproc://service")
req = ctx.socket(zmq.REQ)
req.connect("inproc://service")
req.send(b"first")
try: req.send(b"second")
except zmq.ZMQError as e: print("ui-out-of-turn EFSM:", e.errno == zmq.EFSM)
rep.send(rep.recv())
print(req.recv())
req.close()
rep.close()
ctx.term()
`;

describe('a finding of an exited script stays in the Problems panel, on its line (code-server + Chromium)', function () {
  this.timeout(240000);
  let vsc: CodeServer | undefined;
  const workspace = mkdtempSync(join(tmpdir(), 'zmq-ui-problems-'));

  stopCodeServersAfterEach();
  after(() => rmSync(workspace, { recursive: true, force: true }));

  it('REQ out of turn in a script that has ended: the Problems panel shows it on line 13 more than 30 s later', async () => {
    assert.match(SCRIPT.split('\n')[12], /^try: req\.send\(b"second"\)/);
    writeFileSync(join(workspace, 'out_of_turn.py'), SCRIPT);
    vsc = await startCodeServer({ folder: workspace, settings: { 'zmqDebugger.agent.observePrograms': true } });
    const page = vsc.page;
    await vsc.openViewContainer('ZeroMQ');
    await vsc.view('Sessions').locator('.monaco-list-row', { hasText: 'agent' }).first().waitFor({ state: 'visible', timeout: 30000 });

    await vsc.runCommand('Terminal: Create New Terminal');
    const terminal = page.locator('.terminal-wrapper .xterm').first();
    await terminal.waitFor({ state: 'visible', timeout: 20000 });
    await page.waitForTimeout(1500);
    await terminal.click();
    await page.keyboard.type(`${PYTHON} out_of_turn.py`);
    await page.keyboard.press('Enter');
    const ranAt = Date.now();

    await vsc.runCommand('View: Focus Problems (Errors, Warnings, Infos)');
    const panel = page.locator('.markers-panel');
    const finding = panel.locator('.monaco-list-row', { hasText: /sent a request before receiving the reply to the previous one/ }).first();
    await finding.waitFor({ state: 'visible', timeout: 30000 });
    // the program has exited (it ends at once): the finding says so
    await panel.locator('.monaco-list-row', { hasText: /exited/ }).first().waitFor({ state: 'visible', timeout: 20000 });

    // past the 30 s after the exit at which findings of exited programs used to disappear
    const late = panel.locator('.monaco-list-row', { hasText: /exited ([3-9]\d s|\d+ min) ago\) sent a request before receiving the reply/ }).first();
    await late.waitFor({ state: 'visible', timeout: 90000 });
    const text = (await late.innerText()) ?? '';
    assert.ok(Date.now() - ranAt > 30000);
    assert.match(text, /REQ \S+ in out_of_turn\.py \(pid \d+, exited (\d+ s|\d+ min) ago\) sent a request before receiving the reply/);
    assert.match(text, /\[Ln 13, Col 1\]/, text);
    // the file the finding is in: the script
    assert.ok(await panel.locator('.monaco-list-row', { hasText: 'out_of_turn.py' }).first().isVisible());
    await vsc.screenshot('ui-problems-at-line');
  });
});
