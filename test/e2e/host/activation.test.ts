/**
 * Runs inside the real extension host: the extension is found, activates, loads
 * the native zeromq addon, registers its commands and shows the endpoints of the
 * test workspace's settings (test/e2e/workspace/.vscode/settings.json).
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'zmq-debugger.zmq-topology-debugger';

interface ExtensionApi {
  endpoints: vscode.TreeDataProvider<unknown>;
}

async function activated(): Promise<ExtensionApi> {
  const ext = vscode.extensions.getExtension<ExtensionApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not loaded in this host`);
  // throws (and so fails the test) when activate() throws
  const api = await ext.activate();
  assert.ok(ext.isActive, 'extension did not become active');
  assert.ok(api && api.endpoints, 'activate() did not return the API with `endpoints`');
  return api;
}

/** Labels of the tree's items, three levels deep (the tree may group endpoints). */
async function treeLabels(tree: vscode.TreeDataProvider<unknown>, parent?: unknown, depth = 0): Promise<string[]> {
  const labels: string[] = [];
  for (const child of (await tree.getChildren?.(parent)) ?? []) {
    const item = await tree.getTreeItem(child);
    const label = typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
    labels.push(`${label} ${typeof item.description === 'string' ? item.description : ''}`.trim());
    if (depth < 2 && item.collapsibleState) labels.push(...(await treeLabels(tree, child, depth + 1)));
  }
  return labels;
}

describe('activation', () => {
  it('the extension is present and activates through a command', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not loaded in this host`);
    // activation events are derived from contributed commands: running one activates it
    await vscode.commands.executeCommand('zmqDebugger.about.show');
    assert.equal(ext.isActive, true);
    await activated();
  });

  it('registers its commands', async () => {
    await activated();
    const all = await vscode.commands.getCommands(true);
    for (const id of ['zmqDebugger.about.show', 'zmqDebugger.endpoint.add']) {
      assert.ok(all.includes(id), `command ${id} is not registered`);
    }
  });

  it('zmqDebugger.about.show reports libzmq 4.3.5 (the native addon loads in the host)', async () => {
    await activated();
    const text = await vscode.commands.executeCommand<string>('zmqDebugger.about.show');
    assert.equal(typeof text, 'string');
    assert.match(text, /libzmq 4\.3\.5/);
    assert.match(text, /ZeroMQ Topology Debugger \d+\.\d+\.\d+/);
  });

  it('the Endpoints tree lists the endpoints of the zmqDebugger.endpoints setting', async () => {
    const api = await activated();
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'no workspace folder is open');
    const configured = vscode.workspace.getConfiguration('zmqDebugger').get<string[]>('endpoints');
    assert.deepEqual(configured, ['tcp://127.0.0.1:5556', 'tcp://127.0.0.1:5557'], 'the test workspace settings were not read');
    const labels = await treeLabels(api.endpoints);
    for (const endpoint of configured) {
      assert.ok(
        labels.some((l) => l.includes(endpoint)),
        `endpoint ${endpoint} missing from the tree: ${JSON.stringify(labels)}`,
      );
    }
  });
});
