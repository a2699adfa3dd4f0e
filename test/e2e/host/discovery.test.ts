/**
 * Endpoint discovery inside a real extension host: the workspace scan finds the
 * endpoints of the seed-style programs in test/e2e/workspace/seeds, the
 * Endpoints view shows them under "Found in code" with their source lines, a
 * Python seed file gets Spy/Tap/Monitor CodeLenses on its bind/connect lines,
 * hovers show the sessions observing an endpoint, and edits are followed.
 */
import * as assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { freePort, killAllPython, runPython, until } from '../../unit/helpers/peers';
import { api } from './extensionApi';

function seed(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'no workspace folder is open');
  return vscode.Uri.joinPath(folder.uri, 'seeds', name);
}

function label(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

/** Like `until`, for conditions that need to await. */
async function eventually(cond: () => Promise<boolean>, what: string, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function lensesOf(uri: vscode.Uri): Promise<vscode.CodeLens[]> {
  // the command needs the document loaded in the workbench (it throws "Illegal argument" otherwise)
  await vscode.workspace.openTextDocument(uri);
  // resolve (second argument) so that commands are filled in
  return (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 100)) ?? [];
}

describe('discovery in the workspace', () => {
  afterEach(async () => {
    await killAllPython();
    const a = await api();
    await a.sessions.stopAll();
  });

  it('finds the endpoints of the seed programs, with roles, socket types and lines', async () => {
    const { discovery } = await api();
    const stats = await discovery.ready();
    assert.ok(stats, 'no scan ran');
    const byFile = new Map(discovery.results().map((f) => [vscode.workspace.asRelativePath(f.uri), f.hits]));
    assert.deepEqual(
      byFile.get('seeds/pairserver.py')?.map((h) => [h.line + 1, h.role, h.endpoint, h.socketType]),
      [[10, 'bind', 'tcp://*:5556', 'PAIR']],
    );
    assert.deepEqual(
      byFile.get('seeds/monitored_queue.py')?.map((h) => [h.line + 1, h.role, h.endpoint, h.socketType, !!h.monitor]),
      [
        [21, 'bind', 'tcp://127.0.0.1:5559', 'ROUTER', false],
        [22, 'bind', 'tcp://127.0.0.1:5560', 'DEALER', false],
        [23, 'bind', 'tcp://127.0.0.1:5562', 'PUB', true],
        [35, 'connect', 'tcp://127.0.0.1:5560', 'REP', false],
        [48, 'connect', 'tcp://127.0.0.1:5562', 'SUB', false],
      ],
    );
    assert.equal(byFile.has('seeds/not_endpoints.py'), false, 'docs and comments must not produce endpoints');
    for (const f of ['hwserver.go', 'wuserver.c', 'Program.cs', 'Psenvpub.java', 'publisher.js', 'worker.ts', 'wuclient.cpp']) {
      assert.ok(byFile.get(`seeds/${f}`)?.length, `nothing found in ${f}`);
    }
    console.log(`      scan: ${stats.files} files, ${stats.endpoints} endpoints in ${stats.ms} ms`);
  });

  it('shows them in the Endpoints view under "Found in code", grouped by address, with clickable lines', async () => {
    const { endpoints, discovery } = await api();
    await discovery.ready();
    const groups = endpoints.getChildren();
    const code = groups.find((g) => label(endpoints.getTreeItem(g)) === 'Found in code');
    assert.ok(code, `no "Found in code" group: ${groups.map((g) => label(endpoints.getTreeItem(g))).join(', ')}`);
    const eps = endpoints.getChildren(code);
    const ep = eps.find((e) => label(endpoints.getTreeItem(e)) === 'tcp://127.0.0.1:5556');
    assert.ok(ep, `tcp://127.0.0.1:5556 missing: ${eps.map((e) => label(endpoints.getTreeItem(e))).join(', ')}`);
    const locations = endpoints.getChildren(ep).map((l) => endpoints.getTreeItem(l));
    const pair = locations.find((l) => label(l) === 'pairserver.py:10');
    assert.ok(pair, `pairserver.py:10 missing: ${locations.map(label).join(', ')}`);
    assert.equal(pair.description, 'binds PAIR');
    assert.ok(locations.some((l) => label(l) === 'pairclient.py:10' && l.description === 'connects PAIR'));
    // a click opens the line
    assert.equal(pair.command?.command, 'vscode.open');
    await vscode.commands.executeCommand(pair.command.command, ...(pair.command.arguments ?? []));
    await until(() => vscode.window.activeTextEditor?.document.uri.path.endsWith('pairserver.py') ?? false, 'the editor to open pairserver.py');
    assert.equal(vscode.window.activeTextEditor!.selection.start.line, 9);
  });

  it('puts Spy, Monitor and Tap CodeLenses on the bind/connect lines of a Python seed file', async () => {
    await api();
    const doc = await vscode.workspace.openTextDocument(seed('monitored_queue.py'));
    await vscode.window.showTextDocument(doc);
    const lenses = await lensesOf(doc.uri);
    const shown = lenses.map((l) => [l.range.start.line + 1, l.command?.title, l.command?.command, l.command?.arguments?.[0]]);
    assert.deepEqual(shown, [
      [21, '$(debug-disconnect) Tap', 'zmqDebugger.endpoint.tap', 'tcp://127.0.0.1:5559'],
      [22, '$(debug-disconnect) Tap', 'zmqDebugger.endpoint.tap', 'tcp://127.0.0.1:5560'],
      [23, '$(eye) Monitor', 'zmqDebugger.endpoint.monitor', 'tcp://127.0.0.1:5562'],
      [35, '$(debug-disconnect) Tap', 'zmqDebugger.endpoint.tap', 'tcp://127.0.0.1:5560'],
      [48, '$(eye) Monitor', 'zmqDebugger.endpoint.monitor', 'tcp://127.0.0.1:5562'],
    ]);
    const pub = await lensesOf(seed('pubsub_server.py'));
    assert.deepEqual(pub.map((l) => [l.range.start.line + 1, l.command?.title, l.command?.arguments]), [[14, '$(eye) Spy', ['tcp://127.0.0.1:5556', []]]]);
    assert.deepEqual(await lensesOf(seed('not_endpoints.py')), []);
  });

  it('clicking Spy on a PUB bind line observes the running program; lens and hover show the session state', async () => {
    const a = await api();
    const port = await freePort();
    // a seed-style publisher in the workspace, with its port as a literal nearby
    const file = join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'seeds', `tmp_pub_${port}.py`);
    const source = [
      'import time, zmq',
      `port = "${port}"`,
      'context = zmq.Context()',
      'socket = context.socket(zmq.PUB)',
      'socket.bind("tcp://127.0.0.1:%s" % port)',
      'print("ready", flush=True)',
      'while True:',
      '    socket.send_multipart([b"10001", b"hello"])',
      '    time.sleep(0.02)',
      '',
    ].join('\n');
    writeFileSync(file, source);
    try {
      const peer = runPython(source, []);
      await peer.waitFor('ready');
      const uri = vscode.Uri.file(file);
      const [lens] = await lensesOf(uri);
      assert.equal(lens.command?.command, 'zmqDebugger.endpoint.spy');
      const id = await vscode.commands.executeCommand<string>(lens.command.command, ...(lens.command.arguments ?? []));
      assert.ok(id, 'the spy command returned no session id');
      await until(() => a.sessions.get(id)?.state === 'receiving', `${id} to receive`);
      await eventually(async () => (await lensesOf(uri)).some((l) => l.command?.title === `${id}: receiving`), 'the lens to show the session state');
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(4, 10));
      const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
      assert.match(text, new RegExp(`${id.replace('-', '\\\\?-')}\\*\\* receiving`), text);
      assert.match(text, /binds a PUB socket/);
      // the watcher picked the new file up: it is in the scan results too
      await until(() => a.discovery.resultsFor(uri).length === 1, 'the watcher to scan the new file');
    } finally {
      rmSync(file, { force: true });
    }
    await until(() => a.discovery.results().every((f) => !f.uri.path.includes('tmp_pub_')), 'the deleted file to leave the results');
  });

  it('applies the include/exclude settings at once', async () => {
    const { discovery } = await api();
    const config = vscode.workspace.getConfiguration('zmqDebugger.discovery');
    const files = () => discovery.results().map((f) => vscode.workspace.asRelativePath(f.uri)).sort((a, b) => a.localeCompare(b));
    try {
      // user (global) settings: the shared test workspace's settings file stays untouched
      await config.update('include', '**/*.{go,cs}', vscode.ConfigurationTarget.Global);
      await until(() => files().join() === 'seeds/hwserver.go,seeds/Program.cs', 'only the Go and C# files');
      await config.update('exclude', '**/*.cs', vscode.ConfigurationTarget.Global);
      await until(() => files().join() === 'seeds/hwserver.go', 'the C# file excluded');
      await config.update('enabled', false, vscode.ConfigurationTarget.Global);
      await until(() => files().length === 0, 'discovery disabled');
    } finally {
      for (const key of ['include', 'exclude', 'enabled']) await config.update(key, undefined, vscode.ConfigurationTarget.Global);
    }
    await until(() => files().includes('seeds/pairserver.py') && files().includes('seeds/Program.cs'), 'the defaults back');
  });

  it('follows unsaved edits in the editor', async () => {
    await api();
    const doc = await vscode.workspace.openTextDocument({ language: 'python', content: 'import zmq\ns = zmq.Context().socket(zmq.PUSH)\n' });
    const editor = await vscode.window.showTextDocument(doc);
    assert.deepEqual(await lensesOf(doc.uri), []);
    await editor.edit((e) => e.insert(new vscode.Position(2, 0), 's.bind("tcp://*:7123")\n'));
    const lenses = await lensesOf(doc.uri);
    assert.deepEqual(lenses.map((l) => [l.range.start.line, l.command?.title, l.command?.arguments?.[0]]), [[2, '$(debug-disconnect) Tap', 'tcp://127.0.0.1:7123']]);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
