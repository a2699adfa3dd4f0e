/**
 * Request latency inside a real extension host: the seeds' retrying REQ client
 * polls its REP server through our tap; the round trips show in the Sessions
 * view (the tap's tooltip and its connection row) and on the map's edge.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { isTap } from '../../../src/extension/views/sessionsTree';
import { until } from '../../unit/helpers/peers';
import { api } from './extensionApi';

/** A tooltip as the user reads it (Markdown escapes removed). */
const text = (t: string | vscode.MarkdownString | undefined) => (typeof t === 'string' ? t : t?.value ?? '').replace(/\\([\\`*_{}[\]()#+\-.!|<>])/g, '$1');

describe('request latency in VS Code', function () {
  this.timeout(60000);

  afterEach(async () => {
    const a = await api();
    await vscode.commands.executeCommand('zmqDebugger.examples.stopAll');
    await a.sessions.stopAll();
    a.topology.panel?.dispose();
  });

  it('shows p50/p95/p99 and a histogram per tap connection in the Sessions view and on the map', async () => {
    const a = await api();
    const runId = await vscode.commands.executeCommand<string>('zmqDebugger.examples.run', 'retry-client', { language: 'node', intervalMs: 50 });
    assert.ok(runId);
    await vscode.commands.executeCommand('zmqDebugger.topology.show');
    const port = a.examples.runner.getRun(runId)!.ports.server;
    const conn = () => a.topology.model.snapshot().connections.find((c) => c.endpointKey === `tcp://*:${port}` && (c.latency?.requests ?? 0) >= 5);
    await until(() => conn() !== undefined, 'five round trips through the tap', 30000);
    const c = conn()!;

    // the Sessions view: the tap's tooltip lists the connection's round trips with a histogram
    const tap = a.sessions.list().find((s) => s.id === c.session);
    assert.ok(tap && isTap(tap), `the tap session ${c.session}`);
    const tree = a.sessionsTree;
    const node = tree.nodeFor(tap.id)!;
    // built when the user hovers the row (VS Code's resolveTreeItem), not sent with every redraw
    assert.equal(tree.getTreeItem(node).tooltip, undefined);
    const tip = text(tree.resolveTreeItem(tree.getTreeItem(node), node).tooltip);
    assert.match(tip, new RegExp(`Request latency #${c.connection} \\S+: \\d+ requests?, p50 [\\d.]+ ms, p95 [\\d.]+ ms, p99 [\\d.]+ ms, max [\\d.]+ ms`));
    assert.match(tip, /```text\n≤ \d+ m?s +█+ +\d+/, 'a histogram as a code block');
    // its connection row: the brief figures in the description, the whole in the tooltip
    const row = tree.getChildren(node).find((n) => n.type === 'connection' && n.info.connection === c.connection)!;
    assert.ok(row, 'the connection row');
    const item = tree.getTreeItem(row);
    assert.match(String(item.description), /· p50 [\d.]+ ms · p99 [\d.]+ ms$/);
    assert.match(text(item.tooltip), /Request latency: \d+ requests?, p50/);

    // the map: the edge carries the latency the model measured, and its label shows it
    await until(() => {
      const g = a.topology.lastGraph;
      return g?.type === 'topology/update' && (g.graph.edges.find((e) => e.id === `edge:${c.id}`)?.latency?.requests ?? 0) >= 5;
    }, 'the latency posted to the map', 10000);
    const g = a.topology.lastGraph!;
    assert.equal(g.type, 'topology/update');
    if (g.type !== 'topology/update') return;
    const l = g.graph.edges.find((e) => e.id === `edge:${c.id}`)!.latency!;
    assert.ok(l.p50Ms <= l.p95Ms && l.p95Ms <= l.p99Ms && l.p99Ms <= l.maxMs, JSON.stringify(l));
    assert.equal(l.histogram!.counts.reduce((x, y) => x + y, 0), l.requests);
  });
});
