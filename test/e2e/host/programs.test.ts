/**
 * Tier 2: "Observe programs started here". The command starts a collector and
 * puts the agents' environment into new terminals; an unmodified pyzmq program
 * typed into a real integrated terminal then shows up in the Processes view with
 * its sockets, and its inproc:// messages are in the capture.
 */
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { PYTHON, runPython, until } from '../../unit/helpers/peers';
import { api, note } from './extensionApi';

const INPROC_PROGRAM = `
import threading, time, zmq
ctx = zmq.Context()
a = ctx.socket(zmq.PAIR)
a.bind('inproc://pipe')
b = ctx.socket(zmq.PAIR)
b.connect('inproc://pipe')
for i in range(5):
    a.send_multipart([b'hello', str(i).encode()])
    print(b.recv_multipart(), flush=True)
time.sleep(0.5)
a.close(); b.close(); ctx.term()
`;

describe('programs observed from the inside', function () {
  this.timeout(60000);
  const tmp = mkdtempSync(join(tmpdir(), 'zmq-programs-'));
  const terminals: vscode.Terminal[] = [];

  after(async () => {
    for (const t of terminals) t.dispose();
    await vscode.commands.executeCommand('zmqDebugger.agent.stopObserving');
    rmSync(tmp, { recursive: true, force: true });
  });

  it('a program typed into a new terminal shows up with its sockets and its inproc messages', async () => {
    const a = await api();
    const id = await vscode.commands.executeCommand<string>('zmqDebugger.agent.observe');
    assert.ok(id && a.programs.collector, 'a collector runs');
    assert.ok(a.sessions.get(id), 'it is a session');
    const file = join(tmp, 'inproc_pair.py');
    writeFileSync(file, INPROC_PROGRAM);
    const terminal = vscode.window.createTerminal({ name: 'zmq program', cwd: tmp });
    terminals.push(terminal);
    terminal.sendText(`${PYTHON} ${JSON.stringify(file)}`);
    const t0 = Date.now();
    await until(() => a.processesTree.processes().some((p) => p.name === 'inproc_pair.py' && p.sockets.size === 2), 'the program and its two sockets in the Processes view', 30000);
    note(`program seen ${Date.now() - t0} ms after it was typed`);
    const p = a.processesTree.processes().find((x) => x.name === 'inproc_pair.py')!;
    const types = [...p.sockets.values()].map((s) => s.type).sort();
    assert.deepEqual(types, ['PAIR', 'PAIR']);
    const roots = a.processesTree.getChildren();
    assert.ok(roots.some((n) => n.kind === 'process' && n.process.nodeId === p.nodeId));
    await until(
      () => [...a.capture.records()].filter((r) => r.kind === 'message' && r.source === 'agent' && r.endpoint === 'inproc://pipe').length >= 10,
      '5 sends and 5 receives on inproc://pipe',
      20000,
    );
    const sent = [...a.capture.records()].find((r) => r.kind === 'message' && r.source === 'agent' && r.direction === 'out');
    assert.ok(sent && sent.kind === 'message');
    assert.equal(Buffer.from(sent.frames[0]).toString(), 'hello');
  });

  it('stopping observation stops the collector and clears the terminals\' environment', async () => {
    const a = await api();
    await vscode.commands.executeCommand('zmqDebugger.agent.stopObserving');
    await until(() => !a.programs.collector, 'collector stopped', 5000);
    assert.equal(a.sessions.list().filter((s) => s.id.startsWith('agent')).length, 0);
  });
});

describe('Jupyter kernels found by themselves', function () {
  this.timeout(60000);
  let kernel: ReturnType<typeof runPython> | undefined;
  const runtime = join(process.env.HOME ?? tmpdir(), '.local', 'share', 'jupyter', 'runtime');
  const file = join(runtime, `kernel-zmqdebug-e2e-${process.pid}.json`);

  after(() => {
    kernel?.proc.kill();
    rmSync(file, { force: true });
  });

  it('a running kernel appears in the Endpoints view with its channels, and its messages get the Jupyter decoder', async () => {
    const a = await api();
    mkdirSync(runtime, { recursive: true });
    kernel = runPython(`import sys\nfrom ipykernel import kernelapp\nprint('starting', flush=True)\nkernelapp.launch_new_instance(['-f', sys.argv[1]])\n`, [file]);
    await kernel.waitFor('starting');
    await until(() => existsSync(file), 'the connection file', 30000);
    for (const end = Date.now() + 30000; !a.kernels.list().some((k) => k.file === file && k.pid !== undefined); ) {
      assert.ok(Date.now() < end, 'timed out waiting for the kernel to be found with its pid');
      await a.kernels.rescan();
      await new Promise((r) => setTimeout(r, 200));
    }
    const k = a.kernels.list().find((x) => x.file === file)!;
    assert.deepEqual(k.channels.map((c) => c.name).sort(), ['control', 'hb', 'iopub', 'shell', 'stdin']);
    const iopub = k.channels.find((c) => c.name === 'iopub')!;
    assert.equal(iopub.kernelSocket, 'PUB');
    await until(() => a.endpoints.allEndpoints().some((e) => e.endpoint === iopub.endpoint && e.sources.some((s) => s.startsWith('Jupyter kernel'))), 'the IOPub endpoint under a Jupyter kernel group', 10000);
    assert.ok(!JSON.stringify(a.kernels.list()).includes(readFileSync(file, 'utf8').match(/"key":\s*"([^"]+)"/)![1]), 'the key is never in what the extension shows');
    a.framesViewer.open();
    await until(() => !!a.framesViewer.controller?.decoderRules.some((r) => r.endpoint === iopub.endpoint && r.spec === `jupyter:${file}`), 'the viewer reads the kernel with its key', 10000);
    a.framesViewer.panel?.dispose();
  });
});
