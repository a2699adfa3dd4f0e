/**
 * The Examples view inside a real extension host: "ZeroMQ: Run Example…" starts
 * real processes, already observed as the catalog says; the tree shows them
 * (role, pid, state); stop per process, restart, stop run — and afterwards no
 * pid is alive (checked with signal 0).
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { ExamplesNode, ExamplesTree } from '../../../src/extension/views/examplesTree';
import { isAlive, until } from '../../unit/helpers/peers';
import { api } from './extensionApi';

function label(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

/** The rows under an example: run row, then its processes and observers, as "label | description". */
function rowsUnder(tree: vscode.TreeDataProvider<ExamplesNode>, exampleTitle: string): string[] {
  const example = (tree.getChildren() as ExamplesNode[]).find((n) => label(tree.getTreeItem(n) as vscode.TreeItem) === exampleTitle);
  assert.ok(example, `no example titled ${exampleTitle}`);
  const rows: string[] = [];
  for (const run of tree.getChildren(example) as ExamplesNode[]) {
    const item = tree.getTreeItem(run) as vscode.TreeItem;
    rows.push(`${label(item)} | ${String(item.description)}`);
    for (const child of tree.getChildren(run) as ExamplesNode[]) {
      const c = tree.getTreeItem(child) as vscode.TreeItem;
      rows.push(`${label(c)} | ${String(c.description)}`);
    }
  }
  return rows;
}

describe('examples in VS Code', function () {
  this.timeout(60000);

  afterEach(async () => {
    const a = await api();
    await vscode.commands.executeCommand('zmqDebugger.examples.stopAll');
    await a.sessions.stopAll();
    assert.deepEqual(a.examples.livePids(), []);
  });

  it('the Examples view lists the whole catalog', async () => {
    const { examples } = await api();
    const titles = examples.getChildren().map((n) => label(examples.getTreeItem(n)));
    assert.equal(titles.length, 12, titles.join(', '));
    const all = await vscode.commands.getCommands(true);
    for (const id of ['zmqDebugger.examples.run', 'zmqDebugger.examples.stopRun', 'zmqDebugger.examples.stopAll', 'zmqDebugger.examples.stopProcess', 'zmqDebugger.examples.restartProcess']) {
      assert.ok(all.includes(id), `command ${id} missing`);
    }
  });

  it('Run Example starts pub/sub observed by a spy; the tree shows pids and states; stop leaves no process', async () => {
    const a = await api();
    const runId = await vscode.commands.executeCommand<string>('zmqDebugger.examples.run', 'pub-sub', { language: 'node', intervalMs: 50 });
    assert.ok(runId, 'no run id returned');
    const run = a.examples.runner.getRun(runId);
    assert.ok(run);
    const pids = run.processes.map((p) => p.pid!);
    assert.ok(pids.length >= 2 && pids.every((p) => typeof p === 'number' && isAlive(p)), `pids ${pids}`);
    await until(() => run.processes.every((p) => p.state === 'running'), 'every process to run', 15000);

    // already observed: the catalog's spy is a session receiving the publisher's messages
    const spy = a.sessions.list().find((s) => s.kind === 'spy' && run.observations.some((o) => o.kind === 'spy' && s.endpoints.includes(o.endpoint)));
    assert.ok(spy, `no spy started for ${runId}: ${a.sessions.list().map((s) => s.label).join(', ')}`);
    await until(() => (a.capture.session(spy.id)?.messages ?? 0) > 3, `${spy.id} to capture messages`, 15000);

    await new Promise((r) => setTimeout(r, 150)); // the tree refresh is coalesced
    const rows = rowsUnder(a.examples, run.example.title);
    assert.match(rows[0], new RegExp(`^${runId.replace(/[#]/g, '\\#')} \\| node · ${pids.length}/${pids.length} running$`));
    for (const p of run.processes) assert.ok(rows.some((r) => r === `${p.label} | pid ${p.pid} · running`), `${p.label} row missing: ${rows.join('; ')}`);
    assert.ok(rows.some((r) => r.startsWith(`${spy.id} tcp://127.0.0.1:`)), `observer row missing: ${rows.join('; ')}`);

    // stop one process, restart it (new pid), then stop the run
    const first = run.processes[0];
    const oldPid = first.pid!;
    await vscode.commands.executeCommand('zmqDebugger.examples.stopProcess', first.id);
    assert.equal(first.state, 'stopped');
    assert.equal(isAlive(oldPid), false, `pid ${oldPid} still alive after stop`);
    await vscode.commands.executeCommand('zmqDebugger.examples.restartProcess', first.id);
    assert.notEqual(first.pid, oldPid);
    await until(() => first.state === 'running', 'the restarted process to run');

    const allPids = [...run.processes.map((p) => p.pid!), oldPid];
    await vscode.commands.executeCommand('zmqDebugger.examples.stopRun', runId);
    assert.deepEqual(allPids.filter(isAlive), [], 'processes left after stopping the run');
    assert.equal(a.sessions.get(spy.id), undefined, 'the run\'s spy was not stopped with it');
    assert.equal(a.examples.runner.getRun(runId), undefined);
  });

  it('disposing the Examples view (deactivate, window close) leaves no process and no session of its runs', async () => {
    const a = await api();
    // a second view over its own runner, so the extension's own stays usable for the other tests
    const tree = new ExamplesTree(a.sessions, a.capture);
    const run = await tree.start('push-pull', { language: 'node', intervalMs: 50 });
    const pids = run.processes.map((p) => p.pid!);
    assert.ok(pids.length > 0 && pids.every(isAlive));
    const tap = a.sessions.list().find((s) => s.kind === 'tap' && s.endpoints.some((e) => run.observations.some((o) => o.endpoint === e)));
    assert.ok(tap, 'push-pull runs with a tap in the path');
    await until(() => (a.capture.session(tap.id)?.messages ?? 0) > 0, 'the tap to relay PUSH messages', 15000);
    await tree.dispose();
    assert.deepEqual(pids.filter(isAlive), [], 'processes left after dispose');
    assert.equal(a.sessions.get(tap.id), undefined, 'the tap was left running');
  });

  it('a Python run of the monitored queue is observed by its monitor spy, as the catalog says', async function () {
    const a = await api();
    // on a desktop without a Python that can import zmq there is nothing to run (CI installs python3-zmq, so it runs there)
    if (!(await a.examples.findPython())) this.skip();
    const runId = await vscode.commands.executeCommand<string>('zmqDebugger.examples.run', 'monitored-queue', { language: 'python', intervalMs: 100 });
    assert.ok(runId);
    const run = a.examples.runner.getRun(runId)!;
    const kinds = a.sessions.list().map((s) => s.kind);
    for (const o of run.observations) assert.ok(kinds.includes(o.kind), `no ${o.kind} session: ${kinds.join(', ')}`);
    const monitor = a.sessions.list().find((s) => s.kind === 'monitor')!;
    await until(() => (a.capture.session(monitor.id)?.messages ?? 0) > 2, 'the monitor spy to capture relayed messages', 20000);
    const pids = run.processes.map((p) => p.pid!);
    await vscode.commands.executeCommand('zmqDebugger.examples.stopAll');
    assert.deepEqual(pids.filter(isAlive), []);
    assert.deepEqual(a.sessions.list().filter((s) => s.kind === 'tap' || s.kind === 'monitor'), []);
  });
});
