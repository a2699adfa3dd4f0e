/**
 * Tier 3: Import Capture… of a real tcpdump capture in VS Code (code-server +
 * Chromium): pyzmq REQ/REP and PUB/SUB programs captured on lo with
 * `tcpdump -w`, the file picked in VS Code's file dialog, its ZMTP connections
 * shown in the frames viewer (greetings, READY, subscription, messages both
 * ways), a message's detail opened, the import exported again as pcapng (the
 * same messages, two TCP streams for tshark); the map draws the capture's topology.
 * Screenshot for the README:
 * test-results/ui-import-pcap.png (media/screenshots/import-pcap.png).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAllPython } from '../../unit/helpers/peers';
import { captureOnLo, killCaptureTools } from '../../unit/helpers/tcpdump';
import type { CapturedMessage, CaptureRecord } from '../../../src/core/capture/records';
import { readCaptureFile } from '../../../src/core/pcap/captureFileReader';
import { CodeServer, startCodeServer, stopCodeServersAfterEach, TEST_WORKSPACE } from './codeServer';

/** A price service: REQ/REP quotes and a PUB of ticks, as JSON. */
const PROGRAM = String.raw`
import json, os, sys, time, zmq
go = sys.argv[1]
ctx = zmq.Context()
rep = ctx.socket(zmq.REP); p1 = rep.bind_to_random_port('tcp://127.0.0.1')
pub = ctx.socket(zmq.PUB); p2 = pub.bind_to_random_port('tcp://127.0.0.1')
print(json.dumps({'ports': [p1, p2]}), flush=True)
while not os.path.exists(go): time.sleep(0.02)
req = ctx.socket(zmq.REQ); req.connect('tcp://127.0.0.1:%d' % p1)
sub = ctx.socket(zmq.SUB); sub.connect('tcp://127.0.0.1:%d' % p2); sub.setsockopt(zmq.SUBSCRIBE, b'prices.')
for sym, price in (('ZMQ', 42.5), ('ACME', 17.25), ('INIT', 3.0)):
    req.send_multipart([b'quote', sym.encode()])
    rep.recv_multipart()
    rep.send_json({'symbol': sym, 'bid': price, 'ask': price + 0.25})
    req.recv()
while True:
    pub.send_multipart([b'prices.sync', b'{}'])
    if sub.poll(50): sub.recv_multipart(); break
for i in range(12):
    pub.send_multipart([b'prices.ZMQ', json.dumps({'seq': i, 'price': 42.5 + i / 4}).encode()])
    sub.recv_multipart()
for s in (req, sub, rep, pub): s.close()
ctx.term()
print(json.dumps({'done': True}), flush=True)
`;

describe('Import Capture… of a tcpdump capture (code-server + Chromium)', function () {
  this.timeout(180000);
  let vsc: CodeServer | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'zmq-import-pcap-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  stopCodeServersAfterEach(async () => {
    killCaptureTools();
    await killAllPython();
  });

  it('opens a tcpdump -w capture in the frames viewer: its ZMTP connections, both directions, a message in detail', async () => {
    const file = join(dir, 'prices.pcap');
    const { ports } = await captureOnLo('tcpdump', ['-i', 'lo'], PROGRAM, [], file);

    vsc = await startCodeServer({ folder: TEST_WORKSPACE, viewport: { width: 1600, height: 900 } });
    const page = vsc.page;
    await vsc.openViewContainer('ZeroMQ');
    await vsc.runCommand('ZeroMQ: Import Capture…');
    // VS Code's own (simple) file dialog in the browser: a quick input with the path
    const widget = page.locator('.quick-input-widget');
    const input = widget.locator('.quick-input-box input');
    const acceptFileDialog = async (path: string, button: string) => {
      await input.waitFor({ state: 'visible', timeout: 10000 });
      // the dialog fills in its starting folder asynchronously: type only once it has
      const deadline = Date.now() + 10000;
      while (!(await input.inputValue()).startsWith('/') && Date.now() < deadline) await page.waitForTimeout(100);
      // and again when it was still filling: its late update can put the folder in front of what was typed
      for (let tries = 0; tries < 5; tries++) {
        await page.waitForTimeout(300);
        await input.fill(path);
        await page.waitForTimeout(300);
        if ((await input.inputValue()) === path) break;
      }
      assert.equal(await input.inputValue(), path);
      await page.keyboard.press('Enter');
      // an Enter that lands while the dialog still lists the folder is taken by the list: then its OK button
      if (!(await widget.waitFor({ state: 'hidden', timeout: 3000 }).then(() => true, () => false))) {
        await widget.getByRole('button', { name: button }).click();
        await widget.waitFor({ state: 'hidden', timeout: 10000 });
      }
    };
    await acceptFileDialog(file, 'Import');

    await vsc.waitForNotification(/Imported \d+ records from prices\.pcap \(2 ZMTP connections in \d+ packets\)/, 20000);
    const view = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await view.locator('.source', { hasText: 'Viewing import: prices.pcap' }).waitFor({ state: 'visible', timeout: 20000 });
    const rows = view.locator('.rows .row:not(.hidden)');
    await rows.filter({ hasText: 'prices.ZMQ' }).first().waitFor({ state: 'visible', timeout: 20000 });
    // 3 requests + 3 replies + the sync message the PUB sent once the subscription arrived + 12 ticks
    assert.equal(Number(await view.locator('.counters').getAttribute('data-received')), 19);
    // the viewer follows the newest rows: back to the top, where the connections begin
    const table = view.locator('.rows');
    await table.hover();
    for (let i = 0; i < 10; i++) await page.mouse.wheel(0, -2000);
    for (const text of ['greeting ZMTP 3.1 NULL', 'READY Socket-Type=REQ', 'SUBSCRIBE', 'quote']) {
      await rows.filter({ hasText: text }).first().waitFor({ state: 'visible', timeout: 10000 });
    }
    // a reply in detail: its JSON frame
    await rows.filter({ hasText: 'ACME' }).nth(1).click();
    await view.locator('.detail', { hasText: '17.25' }).first().waitFor({ state: 'visible', timeout: 10000 });
    await vsc.screenshot('ui-import-pcap');

    // Export all, as pcapng: the same messages come back from the file, and tshark reads it
    const exported = join(dir, 'roundtrip.pcapng');
    await view.getByRole('button', { name: 'Export all' }).click();
    await acceptFileDialog(exported, 'Save');
    await view.locator('.notice', { hasText: `Exported 32 records to ${exported}` }).waitFor({ state: 'visible', timeout: 15000 });
    const messages = async (f: string) => {
      const records: CaptureRecord[] = [];
      await readCaptureFile(f, (rs) => void records.push(...rs));
      return records.filter((r): r is CapturedMessage => r.kind === 'message').map((m) => [m.direction, m.socketType, m.frames.map((x) => Buffer.from(x).toString('hex'))]);
    };
    assert.deepEqual(await messages(exported), await messages(file));
    const t = spawnSync('tshark', ['-r', exported, '-T', 'fields', '-e', 'tcp.stream'], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    assert.equal(new Set(t.stdout.trim().split('\n')).size, 2, 'two TCP streams');

    // the map shows the capture's topology, frozen at its end: the REP and the PUB with their peers
    await vsc.runCommand('ZeroMQ: Show Topology Map');
    const map = await vsc.mapFrame();
    for (const [type, port] of [
      ['REP', ports[0]],
      ['PUB', ports[1]],
    ] as const) {
      await map.locator('.node-list .node-item', { hasText: new RegExp(`^(⚠ )?${type} tcp://127\\.0\\.0\\.1:${port}$`) }).first().waitFor({ timeout: 20000 });
    }
    await vsc.screenshot('ui-import-pcap-map');
  });
});
