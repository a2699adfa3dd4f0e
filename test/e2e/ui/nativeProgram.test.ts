/**
 * Tier 3 (issue 25): with zmqDebugger.agent.observePrograms on, a C program
 * built with gcc against Debian's libzmq and typed into a terminal of the real
 * VS Code (code-server in Chromium) shows up in the Processes view, its pid and
 * its sockets, reported by the native agent (LD_PRELOAD, which the terminal's
 * environment carries); and on the topology map, as two processes (it forks a
 * worker) linked over ipc://. Screenshots test-results/ui-native-processes.png
 * and ui-native-map.png (media/screenshots/native-*.png).
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../unit/helpers/peers';
import { CodeServer, startCodeServer, stopCodeServersAfterEach } from './codeServer';

// a plain C program: it forks a worker that PUSHes a job a second over ipc:// to the
// parent's PULL; the parent PUBlishes each one back, done, to the worker's SUB; at most two minutes
const PROGRAM = `#include <stdio.h>
#include <unistd.h>
#include <zmq.h>

int main(void) {
    pid_t worker = fork();
    void *ctx = zmq_ctx_new();
    if (worker == 0) {
        void *push = zmq_socket(ctx, ZMQ_PUSH);
        zmq_connect(push, "ipc://native_ui_jobs.sock");
        void *sub = zmq_socket(ctx, ZMQ_SUB);
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "done", 4);
        zmq_connect(sub, "ipc://native_ui_done.sock");
        for (int i = 0; i < 120; i++) {
            char job[32];
            sleep(1); /* first: the SUB's subscription reaches the PUB before any "done" (no slow joiner) */
            int n = snprintf(job, sizeof job, "job %d", i);
            zmq_send(push, job, (size_t)n, 0);
            zmq_pollitem_t ready = {sub, 0, ZMQ_POLLIN, 0};
            while (zmq_poll(&ready, 1, 0) > 0) zmq_recv(sub, job, sizeof job, 0);
        }
        return 0;
    }
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    zmq_bind(pull, "ipc://native_ui_jobs.sock");
    void *pub = zmq_socket(ctx, ZMQ_PUB);
    zmq_bind(pub, "ipc://native_ui_done.sock");
    int timeout = 3000;
    zmq_setsockopt(pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    printf("native-ui-program running\\n");
    fflush(stdout);
    for (int i = 0; i < 120; i++) {
        char buf[64] = "done ";
        int n = zmq_recv(pull, buf + 5, sizeof buf - 5, 0);
        if (n < 0) continue;
        zmq_send(pub, buf, (size_t)n + 5, 0);
    }
    return 0;
}
`;

describe('a C program started in a VS Code terminal appears in the Processes view and on the map (code-server + Chromium)', function () {
  this.timeout(180000);
  let vsc: CodeServer | undefined;
  const workspace = mkdtempSync(join(tmpdir(), 'zmq-ui-native-'));
  const pids: number[] = [];

  stopCodeServersAfterEach(async () => {
    // the terminal's programs end with code-server; make sure
    for (const pid of pids.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  after(() => rmSync(workspace, { recursive: true, force: true }));

  it('a C program typed into a terminal, with the setting on: its process, pid and sockets, then the map linking it to its forked worker', async () => {
    writeFileSync(join(workspace, 'native_ui.c'), PROGRAM);
    execFileSync('gcc', ['-O1', '-Wall', '-o', join(workspace, 'native_ui'), join(workspace, 'native_ui.c'), '-lzmq']);
    vsc = await startCodeServer({ folder: workspace, settings: { 'zmqDebugger.agent.observePrograms': true }, viewport: { width: 1500, height: 950 } });
    const page = vsc.page;
    await vsc.openViewContainer('ZeroMQ');
    // the collector the setting starts is a session: terminals opened from then on carry the agents (LD_PRELOAD too)
    await vsc.view('Sessions').locator('.monaco-list-row', { hasText: 'agent' }).first().waitFor({ state: 'visible', timeout: 30000 });

    // the program's source in the editor, the other views folded: room for the Processes view in the picture
    const quickOpen = await vsc.openPalette();
    await quickOpen.fill('native_ui.c');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'native_ui.c' }).first().waitFor({ timeout: 15000 });
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .view-lines', { hasText: 'zmq_ctx_new' }).first().waitFor({ state: 'visible', timeout: 15000 });
    for (const name of ['Endpoints', 'Sessions', 'Examples', 'Doctor']) {
      const header = vsc.view(name).locator('.pane-header');
      if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
    }

    await vsc.runCommand('Terminal: Create New Terminal');
    const terminal = page.locator('.terminal-wrapper .xterm').first();
    await terminal.waitFor({ state: 'visible', timeout: 20000 });
    // the terminal draws on a canvas (no text in the DOM): give the shell a moment for its prompt
    await page.waitForTimeout(1500);
    await terminal.click();
    await page.keyboard.type('./native_ui');
    await page.keyboard.press('Enter');

    // the Processes view (collapsed at first): the program, its pid, then its sockets
    const processes = vsc.view('Processes');
    const header = processes.locator('.pane-header');
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    const rows = processes.locator('.monaco-list-row', { hasText: /native_ui \(pid \d+\)/ });
    await rows.nth(1).waitFor({ state: 'visible', timeout: 30000 });
    const found = (await rows.allInnerTexts()).map((t) => Number(/pid (\d+)/.exec(t)![1]));
    pids.push(...found);
    assert.equal(found.length, 2, 'the program and its forked worker');
    for (const pid of found) assert.ok(pid > 0 && isAlive(pid), `${pid} runs`);
    // the parent holds the PULL and the PUB (opened in that order), the worker its PUSH and SUB
    const parent = found.find((pid) => !!readPpid(pid) && !found.includes(readPpid(pid)))!;
    const worker = found.find((pid) => pid !== parent)!;
    assert.equal(readPpid(worker), parent, 'the worker is the fork of the program');
    const parentRow = processes.locator('.monaco-list-row', { hasText: `native_ui (pid ${parent})` }).first();
    await processes.locator('.monaco-list-row', { hasText: `PULL ${parent}.1` }).first().waitFor({ state: 'visible', timeout: 20000 });
    await processes.locator('.monaco-list-row', { hasText: `PUB ${parent}.2` }).first().waitFor({ state: 'visible', timeout: 20000 });
    assert.match((await parentRow.innerText()) ?? '', /2 sockets/);
    await processes.locator('.monaco-list-row', { hasText: `PUSH ${worker}.1` }).first().waitFor({ state: 'visible', timeout: 20000 });
    await processes.locator('.monaco-list-row', { hasText: `SUB ${worker}.2` }).first().waitFor({ state: 'visible', timeout: 20000 });
    assert.match((await processes.locator('.monaco-list-row', { hasText: `native_ui (pid ${worker})` }).first().innerText()) ?? '', /2 sockets/);
    // messages counted on the PULL as the worker's jobs arrive, and on the SUB as they come back done
    await processes.locator('.monaco-list-row', { hasText: new RegExp(`PULL ${parent}\\.1.*↓ [1-9]`) }).first().waitFor({ state: 'visible', timeout: 20000 });
    await processes.locator('.monaco-list-row', { hasText: new RegExp(`SUB ${worker}\\.2.*↓ [1-9]`) }).first().waitFor({ state: 'visible', timeout: 20000 });
    await vsc.screenshot('ui-native-processes');

    // the map: both processes, as groups of their sockets, linked over ipc://
    await vsc.runCommand('ZeroMQ: Show Topology Map');
    const map = await vsc.mapFrame();
    for (const pid of found) await map.locator('.node-list .node-item', { hasText: new RegExp(`^native_ui \\(${pid}\\)$`) }).waitFor({ timeout: 30000 });
    await map.locator('.node-list .node-item', { hasText: /^PUSH → ipc:\/\/native_ui_jobs\.sock$/ }).first().waitFor({ timeout: 30000 });
    await map.locator('.node-list .node-item', { hasText: /^PULL ipc:\/\/native_ui_jobs\.sock$/ }).first().waitFor({ timeout: 30000 });
    await map.locator('.node-list .node-item', { hasText: /^PUB ipc:\/\/native_ui_done\.sock$/ }).first().waitFor({ timeout: 30000 });
    await map.locator('.node-list .node-item', { hasText: /^SUB → ipc:\/\/native_ui_done\.sock$/ }).first().waitFor({ timeout: 30000 });
    // linked: PUSH → PULL and PUB → SUB, across the two processes
    await map.locator('#summary', { hasText: /^6 nodes · 2 edges · no problems found$/ }).waitFor({ timeout: 30000 });
    // the groups arrive one by one: lay the whole graph out again (the terminal panel hidden, for room), then
    // let the rate fill the edge
    await vsc.runCommand('View: Hide Panel');
    await map.locator('button', { hasText: 'Relayout' }).click();
    await map.locator('button', { hasText: 'Fit' }).click();
    await page.waitForTimeout(2500);
    // the PULL's details: its program, its bind and the messages the worker sent it
    await map.locator('.node-list .node-item', { hasText: /^PULL ipc:\/\/native_ui_jobs\.sock$/ }).first().click();
    await map.locator('#details p', { hasText: new RegExp(`^PULL socket ${parent}\\.1 of native_ui \\(pid ${parent}\\), open$`) }).waitFor({ timeout: 10000 });
    await map.locator('#details p', { hasText: /^bind ipc:\/\/native_ui_jobs\.sock$/ }).waitFor({ timeout: 10000 });
    await map.locator('#details p', { hasText: /^Sent 0 messages \(0 bytes\), received [1-9]\d* \(\d+ bytes\)$/ }).waitFor({ timeout: 10000 });
    await vsc.screenshot('ui-native-map');
  });
});

/** The parent pid of `pid` (Linux /proc), 0 when unknown. */
function readPpid(pid: number): number {
  try {
    return Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
