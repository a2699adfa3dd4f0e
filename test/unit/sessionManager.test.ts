import { strict as assert } from 'node:assert';
import { Capture } from '../../src/core/capture/capture';
import { Emitter } from '../../src/core/base/lifecycle';
import { CaptureSession, SessionState } from '../../src/core/sessions/session';
import { SessionManager } from '../../src/core/sessions/sessionManager';
import { freePort, killAllPython, until } from './helpers/peers';
import { runPythonFile } from './helpers/pythonFiles';

describe('SessionManager', function () {
  this.timeout(20000);
  afterEach(killAllPython);

  it('starts spies with unique ids, reports changes and stops everything', async () => {
    const port = await freePort();
    const pub = runPythonFile('pub_server.py', [port, 'topics']);
    await pub.waitFor('bound');
    const manager = new SessionManager(new Capture());
    let changes = 0;
    manager.onDidChange(() => changes++);
    const a = manager.startSpy({ endpoints: [`tcp://127.0.0.1:${port}`] });
    const b = manager.startMonitor({ endpoint: `tcp://127.0.0.1:${port}` });
    assert.deepEqual(manager.list().map((s) => s.id), ['spy-1', 'monitor-1']);
    await until(() => a.state === 'receiving' && b.state === 'receiving', 'both receiving');
    assert.ok(changes >= 4);
    await manager.stopAll();
    assert.equal(manager.list().length, 0);
    assert.equal(a.state, 'stopped');
    assert.equal(b.state, 'stopped');
    await pub.waitFor(/event EVENT_DISCONNECTED[\s\S]*event EVENT_DISCONNECTED/);
    assert.ok(manager.capture.stats().totalMessages > 0, 'records stay after the sessions stop');
    manager.dispose();
  });

  it('a bad endpoint starts nothing', () => {
    const manager = new SessionManager(new Capture());
    assert.throws(() => manager.startSpy({ endpoints: ['tcp://nope'] }), /missing port/);
    assert.equal(manager.list().length, 0);
  });

  it('fires its change event when a stop fails, and forgets the session all the same', async () => {
    // a session whose sockets fail to close (the manager's contract, not zeromq, is under test)
    const state = new Emitter<SessionState>();
    const failing: CaptureSession = {
      id: 'tap-9',
      kind: 'tap',
      label: 'tap 127.0.0.1:1',
      endpoints: ['tcp://127.0.0.1:1'],
      state: 'listening',
      onDidChangeState: state.event,
      stop: () => Promise.reject(new Error('close failed')),
      dispose: () => undefined,
    };
    const manager = new SessionManager(new Capture());
    manager.add(failing);
    let changes = 0;
    manager.onDidChange(() => changes++);
    await assert.rejects(manager.stop('tap-9'), /close failed/);
    assert.equal(changes, 1, 'the views hear that the session left');
    assert.equal(manager.list().length, 0);
    manager.add({ ...failing, id: 'tap-10' });
    await assert.rejects(manager.stopAll(), /close failed/);
    assert.equal(manager.list().length, 0);
    manager.dispose();
  });
});
