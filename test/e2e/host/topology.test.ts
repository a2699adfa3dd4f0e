/**
 * The topology inside a real extension host: the doctor's findings about the
 * workspace's code land in the Problems panel (source "ZeroMQ") and the Doctor
 * view; a running example (real processes behind our taps) becomes nodes and
 * edges with rates on the map; a spy on a port nobody binds becomes a live
 * "connect retrying" finding.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXAMPLES } from '../../../src/core/examples/catalog';
import { freePort, until } from '../../unit/helpers/peers';
import { api } from './extensionApi';

function zmqProblems(): [vscode.Uri, vscode.Diagnostic[]][] {
  return vscode.languages
    .getDiagnostics()
    .map(([uri, ds]) => [uri, ds.filter((d) => d.source === 'ZeroMQ')] as [vscode.Uri, vscode.Diagnostic[]])
    .filter(([, ds]) => ds.length > 0);
}

describe('topology and doctor in VS Code', function () {
  this.timeout(60000);

  afterEach(async () => {
    const a = await api();
    await vscode.commands.executeCommand('zmqDebugger.examples.stopAll');
    await a.sessions.stopAll();
    a.topology.panel?.dispose();
  });

  it('puts findings about the workspace code in the Problems panel and the Doctor view', async () => {
    const a = await api();
    await until(() => zmqProblems().some(([uri]) => uri.path.endsWith('/seeds/Program.cs')), 'Problems from the seeds', 30000);
    const cs = zmqProblems().find(([uri]) => uri.path.endsWith('/seeds/Program.cs'))![1];
    const unbound = cs.filter((d) => d.code === 'code-connect-unbound');
    assert.equal(unbound.length, 2, cs.map((d) => d.message).join('\n'));
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, 'seeds', 'Program.cs'));
    for (const d of unbound) {
      assert.equal(d.severity, vscode.DiagnosticSeverity.Warning);
      // subSocket.Connect($"tcp://localhost:{Port}") and NetMQ's new DealerSocket(">tcp://localhost:5567")
      assert.match(doc.lineAt(d.range.start.line).text, /Connect\(|">tcp:/, 'on the connect line');
      assert.match(d.message, /but no code in the workspace binds port 55\d\d/);
    }
    const pairs = zmqProblems().flatMap(([, ds]) => ds).filter((d) => d.code === 'code-incompatible-pair');
    assert.ok(pairs.some((d) => /SUB connects to tcp:\/\/localhost:5557, which pipeline\.py:\d+ binds as PUSH/.test(d.message)));
    assert.ok(pairs.every((d) => d.relatedInformation?.[0]?.location.uri.path.endsWith('/seeds/pipeline.py')));

    const rows = a.topology.doctor.getChildren();
    assert.ok(rows.length >= 4, `doctor rows: ${rows.length}`);
    const row = rows.find((r) => r.finding.rule === 'code-connect-unbound')!;
    assert.equal(row.label, 'Code connects to an endpoint nobody binds');
    assert.match(String(row.description), /^Program\.cs:\d+$/);
    // the row opens the line
    await vscode.commands.executeCommand('zmqDebugger.doctor.open', row);
    const editor = vscode.window.activeTextEditor;
    assert.ok(editor && editor.document.uri.path.endsWith('/seeds/Program.cs'));
    assert.equal(editor.selection.active.line, row.finding.location!.line);

    // "Show on Topology Map" on a code finding draws the code-only endpoints and selects its endpoint
    await vscode.commands.executeCommand('zmqDebugger.topology.reveal', row);
    const epId = row.finding.nodeIds.find((id) => id.startsWith('ep:'))!;
    await until(() => {
      const g = a.topology.lastGraph;
      return g?.type === 'topology/update' && g.graph.showCode && g.graph.nodes.some((n) => n.id === epId && n.codeOnly && n.severity === 'warning');
    }, 'the code-only endpoint on the map', 10000);
  });

  it('maps a running example behind taps: processes, endpoints, connections with rates', async () => {
    const a = await api();
    const runId = await vscode.commands.executeCommand<string>('zmqDebugger.examples.run', 'round-robin', { language: 'node', intervalMs: 20 });
    assert.ok(runId);
    await vscode.commands.executeCommand('zmqDebugger.topology.show');
    assert.ok(a.topology.panel, 'the map panel is open');
    const snapshot = () => a.topology.model.snapshot();
    await until(() => snapshot().edges.filter((e) => e.kind === 'tap' && e.rate > 0).length === 2, 'two live worker connections with rates', 30000);
    const s = snapshot();
    const port = a.examples.runner.getRun(runId)!.ports.push;
    const push = s.nodes.find((n) => n.id === `ep:tcp://*:${port}`);
    assert.ok(push, s.nodes.map((n) => n.label).join(', '));
    assert.equal(push.socketType, 'PUSH');
    const peers = s.nodes.filter((n) => n.kind === 'peer');
    assert.deepEqual(peers.map((p) => p.socketType), ['PULL', 'PULL']);
    for (const e of s.edges.filter((x) => x.kind === 'tap')) {
      assert.equal(e.from, push.id, 'messages flow from the PUSH to the workers');
      assert.equal(e.both, false);
    }
    // the workers are found behind their tap connections (/proc) and drawn as those peers
    await until(() => snapshot().nodes.filter((n) => n.kind === 'peer' && /^PULL round-robin#\d+ worker [12] \(\d+\)$/.test(n.label)).length === 2, 'workers named', 10000);
    // the examples' processes (programs observed by agents in earlier tests are groups of their own: aproc:…)
    const procs = snapshot().nodes.filter((n) => n.kind === 'process' && !n.id.startsWith('aproc:'));
    assert.deepEqual(procs.map((p) => p.label.replace(/\d+/g, 'N')), ['round-robin#N ventilator (N)']);
    // the ventilator binds the PUSH
    const procEdges = snapshot().edges.filter((e) => e.kind === 'process');
    assert.deepEqual(procEdges.map((e) => [e.from, e.to]), [[procs[0].id, push.id]]);
    // the webview got the graph (rates as text on the edges)
    await until(() => {
      const g = a.topology.lastGraph;
      return g?.type === 'topology/update' && g.graph.edges.filter((e) => / msg\/s · /.test(e.rateText)).length === 2;
    }, 'the graph posted to the map', 10000);
    // a healthy example: the doctor says nothing about its endpoint
    assert.deepEqual(a.topology.findings().filter((d) => d.nodeIds.includes(push.id)), []);
  });

  it('examples observed from the inside: each program a group named by program and pid, holding its sockets, the tap peers inside theirs', async () => {
    const a = await api();
    await vscode.commands.executeCommand('zmqDebugger.agent.observe');
    try {
      const runId = await vscode.commands.executeCommand<string>('zmqDebugger.examples.run', 'round-robin', { language: 'python', intervalMs: 20 });
      assert.ok(runId);
      await vscode.commands.executeCommand('zmqDebugger.topology.show');
      const run = a.examples.runner.getRun(runId)!;
      const snapshot = () => a.topology.model.snapshot();
      const groups = () => snapshot().nodes.filter((n) => n.kind === 'process' && /^(ventilator|worker)\.py \(\d+\)$/.test(n.label));
      await until(() => groups().length === 3, 'the ventilator and two workers as groups named by program', 30000);
      // they are the examples' processes (one node each, by pid)
      for (const g of groups()) assert.ok(run.processes.some((p) => g.id === `proc:${p.id}` && g.label.endsWith(`(${p.pid})`)), g.id);
      const vent = groups().find((g) => g.label.startsWith('ventilator.py'))!;
      const push = snapshot().nodes.find((n) => n.kind === 'socket' && n.parent === vent.id)!;
      assert.equal(push.socketType, 'PUSH');
      // the workers connect through the example's taps: each tap peer is drawn inside its worker, named by it
      await until(
        () => snapshot().nodes.filter((n) => n.kind === 'socket' && n.id.startsWith('peer:') && /^PULL worker\.py \(\d+\)$/.test(n.label) && groups().some((g) => g.id === n.parent)).length === 2,
        'the workers\' tap peers inside their groups',
        15000,
      );
      // the webview got the groups
      await until(() => {
        const g = a.topology.lastGraph;
        return g?.type === 'topology/update' && g.graph.nodes.filter((n) => n.parent && groups().some((x) => x.id === n.parent)).length >= 3;
      }, 'the grouped graph posted to the map', 10000);
    } finally {
      await vscode.commands.executeCommand('zmqDebugger.agent.stopObserving');
    }
  });

  it('the seeds\' retrying client: stopping its server is reported, restarting it clears the finding', async () => {
    const a = await api();
    const runId = await vscode.commands.executeCommand<string>('zmqDebugger.examples.run', 'retry-client', { language: 'node', intervalMs: 100 });
    assert.ok(runId);
    const run = a.examples.runner.getRun(runId)!;
    const port = run.ports.server;
    const key = `tcp://*:${port}`;
    const mine = () => a.topology.evaluate().filter((d) => d.endpoint?.endsWith(`:${port}`));
    await until(() => a.topology.model.snapshot().connections.some((c) => c.endpointKey === key && c.answered > 0), 'replies through the tap', 20000);
    assert.deepEqual(mine(), [], 'healthy while the server replies');

    // the REQ's next request never leaves the client (nothing to connect to): what shows is the refused connects
    const server = run.processes.find((p) => p.role === 'server')!;
    await a.examples.runner.stopProcess(server.id);
    await until(() => mine().some((d) => d.rule === 'connect-retrying'), 'connect-retrying for the stopped server', 20000);
    const d = mine().find((x) => x.rule === 'connect-retrying')!;
    assert.match(d.message, new RegExp(`Nothing listens on tcp://127\\.0\\.0\\.1:${port}: the tap could not reach .*refused the connection`));
    assert.ok(a.topology.doctor.getChildren().some((r) => r.label === 'Connect retrying: nothing listens'));

    await a.examples.runner.restartProcess(server.id);
    await until(() => !mine().some((x) => x.rule === 'connect-retrying'), 'the finding to clear after the restart', 20000);
    await until(() => a.topology.model.snapshot().connections.some((c) => c.endpointKey === key && c.state === 'open' && c.answered > 0), 'replies again', 20000);
  });

  it('every example of the catalog runs healthy: the doctor finds nothing live about it but the one true problem', async function () {
    this.timeout(240000);
    const a = await api();
    const report: string[] = [];
    // the poller's worker exits when told "Exit" (after 6 control messages) while its
    // publisher keeps publishing: nobody is subscribed any more, and the doctor says so
    const expected = ['poller: pub-no-subscriber'];
    assert.equal(EXAMPLES.length, 12);
    for (const example of EXAMPLES) {
      const runId = await vscode.commands.executeCommand<string>('zmqDebugger.examples.run', example.id, { language: 'node', intervalMs: 50 });
      assert.ok(runId, example.id);
      const run = a.examples.runner.getRun(runId)!;
      const ports = Object.values(run.ports).map(String);
      await until(() => run.processes.every((p) => p.state === 'running' || p.state === 'exited'), `${example.id} running`, 20000);
      // long enough for REQ timeouts (3 s) and publisher/subscriber rules to show
      await new Promise((r) => setTimeout(r, 4000));
      const live = a.topology.evaluate().filter((d) => !d.rule.startsWith('code-') && ports.some((p) => d.endpoint?.endsWith(`:${p}`)));
      for (const d of live) report.push(`${example.id}: ${d.rule}`);
      if (live.length) a.log.info(`catalog check: ${live.map((d) => d.message).join(' | ')}`);
      await vscode.commands.executeCommand('zmqDebugger.examples.stopRun', runId);
      await a.sessions.stopAll();
    }
    assert.deepEqual(report, expected);
  });

  it('reports a spy retrying on a port nobody binds in the Doctor view and on the map', async () => {
    const a = await api();
    const port = await freePort();
    a.sessions.startSpy({ endpoints: [`tcp://127.0.0.1:${port}`] });
    await vscode.commands.executeCommand('zmqDebugger.topology.show');
    await until(() => a.topology.findings().some((d) => d.rule === 'connect-retrying' && d.endpoint === `tcp://127.0.0.1:${port}`), 'connect-retrying', 15000);
    const row = a.topology.doctor.getChildren().find((r) => r.finding.rule === 'connect-retrying' && r.finding.endpoint === `tcp://127.0.0.1:${port}`)!;
    assert.equal(row.label, 'Connect retrying: nothing listens');
    assert.equal(row.description, `tcp://127.0.0.1:${port}`);
    await until(() => {
      const g = a.topology.lastGraph;
      return g?.type === 'topology/update' && g.graph.nodes.some((n) => n.id === `ep:tcp://*:${port}` && n.severity === 'warning' && n.problems.length === 1);
    }, 'the warning drawn on the node', 10000);
  });
});
