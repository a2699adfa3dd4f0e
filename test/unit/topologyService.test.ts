/**
 * The topology service in core, without VS Code: the model fed by the
 * capture, the doctor run on a change, code fed in, an imported capture shown
 * frozen until it is no longer shown.
 */
import assert from 'node:assert/strict';
import { Capture } from '../../src/core/capture/capture';
import type { CapturedEvent } from '../../src/core/capture/records';
import { SessionManager } from '../../src/core/sessions/sessionManager';
import { Emitter } from '../../src/core/base/lifecycle';
import { TopologyService, TopologyEvaluation } from '../../src/core/topology/topologyService';
import { until } from './helpers/peers';

describe('TopologyService', () => {
  let capture: Capture;
  let sessions: SessionManager;
  let service: TopologyService;
  afterEach(() => {
    service?.dispose();
    sessions?.dispose();
    capture?.dispose();
  });

  it('runs the doctor when the capture changes and when the code changes, and tells its listeners', async () => {
    capture = new Capture();
    sessions = new SessionManager(capture);
    const codeChanged = new Emitter<void>();
    let hits = [{ endpoint: 'tcp://*:5556', role: 'bind' as const, socketType: 'PUB', line: 3, column: 0, endLine: 3, endColumn: 20 }];
    service = new TopologyService({ capture, sessions, code: { results: () => [{ file: '/w/pub.py', hits }], onDidChange: codeChanged.event } });
    const seen: TopologyEvaluation[] = [];
    service.onDidEvaluate((e) => seen.push(e));
    // a spy that keeps retrying: a finding about an endpoint nobody binds yet
    const retry: CapturedEvent = { kind: 'event', seq: 0, ts: Date.now(), session: 'spy-1', source: 'spy', endpoint: 'tcp://127.0.0.1:5599', type: 'connect:retry', attempts: 5 };
    capture.append(retry);
    await until(() => seen.some((e) => e.snapshot.endpoints.some((x) => x.key === 'tcp://*:5599')), 'an evaluation with the spied endpoint', 5000);
    assert.deepEqual(service.snapshot?.code.map((c) => [c.file, c.endpoint]), [['/w/pub.py', 'tcp://*:5556']]);
    assert.equal(service.findings(), seen[seen.length - 1].findings);
    hits = [];
    codeChanged.fire();
    await until(() => seen[seen.length - 1].snapshot.code.length === 0, 'the code fed again', 5000);
    codeChanged.dispose();
  });

  it('shows an imported capture frozen at its last record until it is no longer shown', async () => {
    capture = new Capture();
    sessions = new SessionManager(capture);
    let shown = true;
    service = new TopologyService({ capture, sessions, stillShown: () => shown });
    const imported: CapturedEvent = { kind: 'event', seq: 1, ts: 1000, session: 'spy-9', source: 'spy', endpoint: 'tcp://127.0.0.1:7001', type: 'connect:retry', attempts: 1 };
    service.showImported('old.zcap', [imported]);
    assert.equal(service.snapshot?.now, 1000);
    assert.deepEqual(service.snapshot?.endpoints.map((e) => e.key), ['tcp://*:7001']);
    shown = false;
    // the 1 s tick notices and goes back to the live topology
    await until(() => service.snapshot !== undefined && service.snapshot.endpoints.length === 0, 'the live topology back', 5000);
  });
});
