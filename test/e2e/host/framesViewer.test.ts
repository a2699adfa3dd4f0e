/**
 * The frames viewer inside a real extension host: the command opens the panel,
 * its webview loads under the CSP and says `ready`, a spy on a real pyzmq
 * publisher fills the panel's model, filters narrow it, a hidden panel receives
 * nothing and catches up when shown, closing the panel releases its sockets.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { DEFAULT_FILTER } from '../../../src/shared/protocol/frames';
import { freePort, killAllPython, runPython, until } from '../../unit/helpers/peers';
import { api, note } from './extensionApi';

const PUBLISHER = `
import sys, time, zmq
pub = zmq.Context().socket(zmq.PUB)
pub.bind('tcp://127.0.0.1:%s' % sys.argv[1])
print('ready', flush=True)
for i in range(3000):
    pub.send_multipart([b'10001', b'%d' % i])
    if i % 3 == 0: pub.send_multipart([b'\\x00\\xff', b'<img src=x onerror=alert(1)>'])
    time.sleep(0.005)
`;

describe('frames viewer (extension host)', function () {
  this.timeout(60000);

  afterEach(async () => {
    const a = await api();
    a.framesViewer.panel?.dispose();
    await a.sessions.stopAll();
    await killAllPython();
  });

  it('opens from the command, its webview says ready, and a spy on a pyzmq publisher fills it; filters narrow it', async () => {
    const a = await api();
    const all = await vscode.commands.getCommands(true);
    assert.ok(all.includes('zmqDebugger.frames.open'));
    await vscode.commands.executeCommand('zmqDebugger.frames.open');
    const viewer = a.framesViewer;
    assert.ok(viewer.panel, 'no panel');
    assert.equal(viewer.panel.viewType, 'zmqDebugger.frames');
    const t0 = Date.now();
    await until(() => viewer.controller?.isReady === true, 'the webview to say ready (script ran under the CSP)', 30000);
    note(`frames viewer webview ready ${Date.now() - t0} ms after the command`);

    const port = await freePort();
    const pub = runPython(PUBLISHER, [port]);
    await pub.waitFor('ready');
    const before = a.capture.stats().totalMessages;
    const spy = a.sessions.startSpy({ endpoints: [`tcp://127.0.0.1:${port}`] });
    const c = viewer.controller!;
    await until(() => c.query.shown > 50, 'rows in the viewer', 20000);
    const rows = c.query.tail(20).rows;
    assert.ok(rows.some((r) => r.topic === '10001' && r.session === spy.id && r.kind === 'message'));
    assert.ok(rows.some((r) => r.topic === '0x00ff' && r.preview.includes('<img src=x onerror=alert(1)>')));
    const batchesBefore = c.batches;
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(c.batches > batchesBefore, 'batches keep coming while visible');
    assert.ok(c.batches - batchesBefore <= 40, `at most ~60 batches per second (${c.batches - batchesBefore} in 0.5 s)`);

    c.setFilter({ ...DEFAULT_FILTER, topicPrefix: 'hex:00ff', session: spy.id });
    const counters = c.counters();
    assert.ok(counters.shown > 0 && counters.shown < counters.retained, `shown ${counters.shown} of ${counters.retained}`);
    assert.ok(c.query.rows(c.query.base, 100).rows.every((r) => r.topic === '0x00ff'));
    assert.ok(a.capture.stats().totalMessages - before >= counters.shown);
  });

  it('a hidden panel receives nothing and catches up when shown; "open for session" filters; closing releases it', async () => {
    const a = await api();
    await vscode.commands.executeCommand('zmqDebugger.frames.open');
    const viewer = a.framesViewer;
    await until(() => viewer.controller?.isReady === true, 'ready', 30000);
    const c = viewer.controller!;
    const port = await freePort();
    const pub = runPython(PUBLISHER, [port]);
    await pub.waitFor('ready');
    const spy = a.sessions.startSpy({ endpoints: [`tcp://127.0.0.1:${port}`] });
    await until(() => c.query.shown > 10, 'rows', 20000);

    // another editor in the same column hides the panel
    const doc = await vscode.workspace.openTextDocument({ content: 'hide the viewer' });
    await vscode.window.showTextDocument(doc, { viewColumn: viewer.panel!.viewColumn, preview: false });
    await until(() => viewer.panel!.visible === false, 'the panel to be hidden');
    await new Promise((r) => setTimeout(r, 100));
    const hiddenBatches = c.batches;
    const hiddenShown = c.query.shown;
    const received = a.capture.stats().totalMessages;
    await until(() => a.capture.stats().totalMessages > received + 50, 'more messages while hidden');
    assert.equal(c.batches, hiddenBatches, 'nothing was posted to the hidden panel');
    assert.equal(c.query.shown, hiddenShown, 'the hidden panel did not even scan');

    await vscode.commands.executeCommand('zmqDebugger.frames.open', { session: spy.id });
    await until(() => viewer.panel!.visible, 'the panel to be shown');
    await until(() => c.batches > hiddenBatches && c.query.shown > hiddenShown, 'catch-up after showing');
    assert.equal(c.filter.session, spy.id);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await until(() => viewer.panel === undefined, 'the panel to close');
    assert.equal(viewer.controller, undefined);
  });
});
