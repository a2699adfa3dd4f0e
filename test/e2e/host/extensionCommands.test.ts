/**
 * The VS Code layer inside a real extension host: commands, the Endpoints and
 * Sessions trees, the status bar, export/import, taps and lifecycles — against
 * real pyzmq peers (Debian's /usr/bin/python3 with python3-zmq).
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ExtensionApi } from '../../../src/extension/extension';
import { toJsonLines } from '../../../src/core/capture/exportFormat';
import { freePort, killAllPython, runPython, until } from '../../unit/helpers/peers';
import { EXTENSION_ID, api, note } from './extensionApi';

const PUBLISHER = `
import sys, time, zmq
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
pub.bind('tcp://127.0.0.1:%s' % sys.argv[1])
print('ready', flush=True)
for i in range(6000):
    pub.send_multipart([b'10001', b'%d' % i])
    if i % 2 == 1: pub.send_multipart([b'20002', b'x'])
    time.sleep(0.01)
`;

/** About 2,000 msg/s in bursts of 20 every 10 ms, for at most 20 s. */
const FAST_PUBLISHER = `
import sys, time, zmq
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
pub.bind('tcp://127.0.0.1:%s' % sys.argv[1])
print('ready', flush=True)
for i in range(2000):
    for j in range(20):
        pub.send_multipart([b'fast', b'%d' % j])
    time.sleep(0.01)
`;

const SUBSCRIBER = `
import sys, zmq
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b'')
sub.connect('tcp://127.0.0.1:%s' % sys.argv[1])
print('connected', flush=True)
n = 0
while True:
    sub.recv_multipart()
    n += 1
    if n % 10 == 0: print('got %d' % n, flush=True)
`;

interface Labelled {
  label: string;
  description: string;
  contextValue?: string;
}

async function items<T>(tree: vscode.TreeDataProvider<T>, parent?: T): Promise<{ node: T; item: Labelled }[]> {
  const out: { node: T; item: Labelled }[] = [];
  for (const node of (await tree.getChildren(parent)) ?? []) {
    const item = await tree.getTreeItem(node);
    const label = typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
    out.push({ node, item: { label, description: typeof item.description === 'string' ? item.description : '', contextValue: item.contextValue } });
  }
  return out;
}

/** The message count shown in a session row's description ("receiving · 1,234 msgs · ..."). */
function countIn(description: string): number {
  const m = /([\d,]+) msgs?/.exec(description);
  assert.ok(m, `no count in "${description}"`);
  return Number(m[1].replace(/,/g, ''));
}

async function sessionRow(a: ExtensionApi, id: string): Promise<Labelled> {
  const rows = await items(a.sessionsTree);
  const row = rows.find((r) => r.item.contextValue?.startsWith('zmq:session:') && (r.node as { session: { id: string } }).session.id === id);
  assert.ok(row, `session ${id} not in the Sessions tree: ${JSON.stringify(rows.map((r) => r.item))}`);
  return row.item;
}

/** A spy on FAST_PUBLISHER (~2,000 msg/s), the Sessions view shown. */
async function spyOnFastPublisher(): Promise<{ a: ExtensionApi; pub: ReturnType<typeof runPython>; id: string | undefined }> {
  const a = await api();
  const port = await freePort();
  const pub = runPython(FAST_PUBLISHER, [port]);
  await pub.waitFor('ready');
  await vscode.commands.executeCommand('workbench.view.extension.zmqDebugger');
  await until(() => a.sessionsTree.visible, 'Sessions view visible', 10000);
  const id = await vscode.commands.executeCommand<string>('zmqDebugger.endpoint.spy', `tcp://127.0.0.1:${port}`, []);
  return { a, pub, id };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describe('extension commands and views', function () {
  this.timeout(30000);
  let tmp: string;
  const servers: net.Server[] = [];

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'zmq-host-'));
  });

  afterEach(async () => {
    const a = await api();
    await vscode.commands.executeCommand('zmqDebugger.session.stopAll');
    assert.equal(a.sessions.list().length, 0);
    await vscode.commands.executeCommand('zmqDebugger.capture.clear', true);
    await killAllPython();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('registers every command it contributes', async () => {
    const a = await api();
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const contributed = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    const all = await vscode.commands.getCommands(true);
    const mine = contributed;
    for (const id of mine) assert.ok(all.includes(id), `command ${id} is contributed but not registered`);
    // every registration went through the one registry, and it holds exactly the contributed ids
    assert.deepEqual([...a.commands.registry.registered].sort(), [...contributed].sort());
    for (const id of ['zmqDebugger.endpoint.add', 'zmqDebugger.endpoint.spy', 'zmqDebugger.endpoint.tap', 'zmqDebugger.session.stopAll', 'zmqDebugger.capture.export']) {
      assert.ok(mine.includes(id), `${id} is not contributed`);
    }
    assert.ok(a.statusBar.text.includes('$(radio-tower)'));
    note(`activate() took ${a.activationMs.toFixed(1)} ms`);
    assert.ok(a.activationMs < 1000, `activation took ${a.activationMs} ms`);
  });

  it('adds an endpoint by command, shows it in the Endpoints tree, rejects a bad one, removes it', async () => {
    const a = await api();
    const added = await vscode.commands.executeCommand<string>('zmqDebugger.endpoint.add', 'tcp://127.0.0.1:5999');
    assert.equal(added, 'tcp://127.0.0.1:5999');
    const groups = await items(a.endpoints);
    const group = groups.find((g) => g.item.label === 'Added');
    assert.ok(group, `no "Added" group: ${JSON.stringify(groups.map((g) => g.item.label))}`);
    const rows = await items(a.endpoints, group.node);
    const row = rows.find((r) => r.item.label === 'tcp://127.0.0.1:5999');
    assert.ok(row, `endpoint missing: ${JSON.stringify(rows.map((r) => r.item))}`);
    assert.equal(row.item.contextValue, 'zmq:endpoint:added');
    assert.equal(a.endpoints.getParent(row.node), group.node, 'getParent must lead back to the group (reveal)');

    // a bad endpoint fails visibly (returns nothing, adds nothing)
    const before = a.endpoints.added.list().length;
    assert.equal(await vscode.commands.executeCommand('zmqDebugger.endpoint.add', 'tcp://127.0.0.1'), undefined);
    assert.equal(await vscode.commands.executeCommand('zmqDebugger.endpoint.add', 'inproc://workers'), undefined);
    assert.equal(a.endpoints.added.list().length, before);

    assert.equal(await vscode.commands.executeCommand('zmqDebugger.endpoint.remove', row.node), true);
    assert.ok(!a.endpoints.added.list().includes('tcp://127.0.0.1:5999'));
  });

  it('extra endpoint sources show as groups: roles and socket types, clickable lines, invalid endpoints with the reason, errors as a row', async () => {
    const a = await api();
    const folder = vscode.workspace.workspaceFolders![0].uri;
    const file = vscode.Uri.joinPath(folder, 'README.md');
    const changed = new vscode.EventEmitter<void>();
    let failing = false;
    const registration = a.endpoints.registerSource({
      id: 'test',
      label: 'Test source',
      onDidChange: changed.event,
      endpoints: () => {
        if (failing) throw new Error('the index is being rebuilt');
        return [
          { endpoint: 'tcp://*:5556', role: 'bind', socketType: 'PUB', locations: [{ uri: file, range: new vscode.Range(2, 4, 2, 18), role: 'bind', socketType: 'PUB' }] },
          { endpoint: 'tcp://*:5556', locations: [{ uri: file, range: new vscode.Range(0, 0, 0, 5), role: 'connect', socketType: 'SUB' }] },
          { endpoint: 'tcp://somehost' },
        ];
      },
    });
    try {
      const group = (await items(a.endpoints)).find((g) => g.item.label === 'Test source');
      assert.ok(group, 'the source shows as a group');
      const rows = await items(a.endpoints, group.node);
      assert.deepEqual(
        rows.map((r) => [r.item.label, r.item.description, r.item.contextValue]),
        [
          ['tcp://*:5556', 'binds PUB · connects SUB', 'zmq:endpoint:test'],
          ['tcp://somehost', "Invalid endpoint 'tcp://somehost': missing port; expected tcp://somehost:PORT", 'zmq:invalidEndpoint:test'],
        ],
      );
      const lines = await items(a.endpoints, rows[0].node);
      assert.deepEqual(lines.map((l) => [l.item.label, l.item.description]), [['README.md:3', 'binds PUB'], ['README.md:1', 'connects SUB']]);
      const treeItem = await a.endpoints.getTreeItem(lines[0].node);
      assert.equal(treeItem.command?.command, 'vscode.open');
      assert.equal(a.endpoints.getParent(lines[0].node), rows[0].node);
      // the line opens in an editor with the endpoint selected
      await vscode.commands.executeCommand(treeItem.command!.command, ...(treeItem.command!.arguments ?? []));
      await until(() => vscode.window.activeTextEditor?.document.uri.toString() === file.toString(), 'the file opens', 5000);
      assert.equal(vscode.window.activeTextEditor!.selection.start.line, 2);
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');

      failing = true;
      changed.fire();
      const errorRows = await items(a.endpoints, group.node);
      assert.deepEqual(errorRows.map((r) => r.item.label), ['Could not list endpoints: the index is being rebuilt']);
    } finally {
      registration.dispose();
      changed.dispose();
    }
    assert.ok(!(await items(a.endpoints)).some((g) => g.item.label === 'Test source'), 'disposing the registration removes the group');
  });

  it('an invalid tap listen address in the settings is reported with nothing started', async () => {
    const a = await api();
    const config = vscode.workspace.getConfiguration('zmqDebugger');
    await config.update('tap.listenAddress', 'no such host!', vscode.ConfigurationTarget.Global);
    try {
      await until(() => a.settings.tapListenAddress === 'no such host!', 'setting read', 5000);
      assert.equal(await vscode.commands.executeCommand('zmqDebugger.endpoint.tap', 'tcp://127.0.0.1:5999', { listenPort: await freePort() }), undefined);
      assert.equal(a.sessions.list().length, 0);
    } finally {
      await config.update('tap.listenAddress', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('spies on a real pyzmq publisher: the Sessions row count rises, topics appear, the endpoint shows the spy', async () => {
    const a = await api();
    const port = await freePort();
    const pub = runPython(PUBLISHER, [port]);
    await pub.waitFor('ready');
    const endpoint = `tcp://127.0.0.1:${port}`;
    await vscode.commands.executeCommand('zmqDebugger.endpoint.add', endpoint);
    const id = await vscode.commands.executeCommand<string>('zmqDebugger.endpoint.spy', endpoint, []);
    assert.match(id ?? '', /^spy-\d+$/);

    await until(() => (a.capture.session(id!)?.messages ?? 0) >= 5, 'first messages');
    const first = countIn((await sessionRow(a, id!)).description);
    await until(() => (a.capture.session(id!)?.messages ?? 0) >= first + 20, 'more messages');
    const row = await sessionRow(a, id!);
    const second = countIn(row.description);
    assert.ok(second > first, `count did not rise: ${first} → ${second}`);
    assert.match(row.description, /^[\d,]+ msgs · \d+ msg\/s$/);
    assert.equal(row.contextValue, 'zmq:session:receiving');

    const node = a.sessionsTree.nodeFor(id!)!;
    const topics = (await items(a.sessionsTree, node)).map((r) => r.item.label);
    assert.ok(topics.includes('10001') && topics.includes('20002'), JSON.stringify(topics));

    // the endpoint row says who observes it
    const added = (await items(a.endpoints)).find((g) => g.item.label === 'Added')!;
    const epRow = (await items(a.endpoints, added.node)).find((r) => r.item.label === endpoint)!;
    assert.match(epRow.item.description, new RegExp(id!));
    assert.equal(epRow.item.contextValue, 'zmq:endpoint:added:observed');
    a.statusBar.update();
    assert.match(a.statusBar.text, /\$\(radio-tower\) 1 · \d+ msg\/s/);

    // "open frames" on the session row opens the frames viewer (filtered to the session)
    await vscode.commands.executeCommand('zmqDebugger.session.openFrames', a.sessionsTree.nodeFor(id!));
    const framesTab = () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes('zmqDebugger.frames'));
    await until(() => !!framesTab(), 'the frames viewer tab', 10000);
    await vscode.window.tabGroups.close(framesTab()!);

    assert.equal(await vscode.commands.executeCommand('zmqDebugger.session.stop', id), true);
    assert.equal(a.sessions.get(id!), undefined);
    assert.equal((await items(a.sessionsTree)).length, 0);
    await vscode.commands.executeCommand('zmqDebugger.endpoint.remove', endpoint);
  });

  it('a topic prefix limits what the spy receives', async () => {
    const a = await api();
    const port = await freePort();
    const pub = runPython(PUBLISHER, [port]);
    await pub.waitFor('ready');
    const id = await vscode.commands.executeCommand<string>('zmqDebugger.endpoint.spy', `tcp://127.0.0.1:${port}`, ['2000']);
    await until(() => (a.capture.session(id!)?.messages ?? 0) >= 5, 'messages on 2000*');
    const topics = [...a.capture.session(id!)!.topics.keys()];
    assert.deepEqual(topics, ['20002']);
    // a bad topic is refused with nothing started
    const n = a.sessions.list().length;
    assert.equal(await vscode.commands.executeCommand('zmqDebugger.endpoint.spy', `tcp://127.0.0.1:${port}`, ['hex:0']), undefined);
    assert.equal(a.sessions.list().length, n);
  });

  it('exports the capture to JSON Lines and imports it back; bad lines are reported by number', async () => {
    const a = await api();
    const port = await freePort();
    const pub = runPython(PUBLISHER, [port]);
    await pub.waitFor('ready');
    const id = await vscode.commands.executeCommand<string>('zmqDebugger.endpoint.spy', `tcp://127.0.0.1:${port}`, []);
    await until(() => (a.capture.session(id!)?.messages ?? 0) >= 20, '20 messages');
    await vscode.commands.executeCommand('zmqDebugger.session.stopAll');
    const file = join(tmp, 'capture.jsonl');
    const exported = await vscode.commands.executeCommand<{ records: number }>('zmqDebugger.capture.export', file);
    assert.ok(exported && exported.records > 20);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, exported.records + 1, 'one line per record plus the summary');
    assert.deepEqual(lines.slice(0, -1), toJsonLines(a.capture.records()).trim().split('\n'), 'the export format, line for line');
    assert.match(lines[lines.length - 1], /^\{"kind":"summary",.*"records":\d+,"evicted":0,"evictedBytes":0,"dropped":0\}$/);
    const messages = a.capture.stats().totalMessages;

    assert.equal(await vscode.commands.executeCommand('zmqDebugger.capture.clear', true), true);
    assert.equal(a.capture.stats().retained, 0);
    const imported = await vscode.commands.executeCommand<{ records: number; errors: unknown[] }>('zmqDebugger.capture.import', file);
    assert.deepEqual(imported, { records: exported.records, errors: [] });
    // Import opens the file in the frames viewer as a capture of its own; the live capture stays as it was
    const viewer = a.framesViewer.controller;
    assert.ok(viewer, 'the frames viewer opened on the file');
    assert.equal(viewer.counters().source, 'capture.jsonl');
    assert.equal(viewer.counters().received, messages);
    assert.equal(viewer.counters().retained, exported.records);
    assert.equal(a.capture.stats().retained, 0, 'nothing was merged into the live capture');
    a.framesViewer.panel?.dispose();

    // a damaged file: the good lines are imported, the bad ones reported with their numbers
    const damaged = join(tmp, 'damaged.jsonl');
    writeFileSync(damaged, [lines[0], '{not json', lines[1], '{"kind":"message"}'].join('\n'));
    const partial = await vscode.commands.executeCommand<{ records: number; errors: { line: number }[] }>('zmqDebugger.capture.import', damaged);
    assert.equal(partial?.records, 2);
    assert.deepEqual(partial?.errors.map((e) => e.line), [2, 4]);
    // nothing readable at all: a failure, nothing appended
    const junk = join(tmp, 'junk.jsonl');
    writeFileSync(junk, 'hello\n');
    const before = a.capture.stats().total;
    assert.equal(await vscode.commands.executeCommand('zmqDebugger.capture.import', junk), undefined);
    assert.equal(a.capture.stats().total, before);
    a.framesViewer.panel?.dispose();
  });

  it('exports a capture larger than one write chunk (4 MiB of base64) exactly', async () => {
    const a = await api();
    for (let i = 0; i < 3000; i++) {
      a.capture.append({ kind: 'message', seq: 0, ts: 1_700_000_000_000 + i, session: 'big', source: 'spy', endpoint: 'tcp://127.0.0.1:1', direction: 'in', frames: [Buffer.from(`t${i % 7}`), Buffer.alloc(1024, i % 256)] });
    }
    const file = join(tmp, 'big.jsonl');
    const t0 = Date.now();
    const exported = await vscode.commands.executeCommand<{ records: number }>('zmqDebugger.capture.export', file);
    note(`export of 3,000 records with 3 MiB of frames: ${Date.now() - t0} ms`);
    assert.equal(exported?.records, 3000);
    const lines = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    assert.equal(lines.length, 3001);
    assert.deepEqual(lines.slice(0, -1), toJsonLines(a.capture.records()).trim().split('\n'));
  });

  it('refreshes the Sessions tree about once a second under load (its rates are per second), and not at all while hidden', async function () {
    this.timeout(40000);
    const { a, id } = await spyOnFastPublisher();
    await until(() => (a.capture.session(id!)?.rate ?? 0) > 500, 'a high rate', 10000);
    let fires = 0;
    const sub = a.sessionsTree.onDidChangeTreeData(() => fires++);
    try {
      const appendsBefore = a.capture.stats().totalMessages;
      await new Promise((r) => setTimeout(r, 2000));
      const received = a.capture.stats().totalMessages - appendsBefore;
      note(`Sessions tree: ${fires} refreshes in 2 s while ${received} messages arrived`);
      assert.ok(received > 1000, `only ${received} messages in 2 s`);
      // the throttle's 1 s and the rates' 1 s tick can both land in the window: 1 to 4, never one per message
      assert.ok(fires >= 1 && fires <= 4, `${fires} refreshes in 2 s (expected about 1 Hz)`);

      await vscode.commands.executeCommand('workbench.view.explorer');
      await until(() => !a.sessionsTree.visible, 'Sessions view hidden', 10000);
      await new Promise((r) => setTimeout(r, 300));
      fires = 0;
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(fires, 0, 'no refresh while hidden');
      await vscode.commands.executeCommand('workbench.view.extension.zmqDebugger');
      await until(() => fires > 0, 'a refresh when shown again', 5000);
    } finally {
      sub.dispose();
    }
  });

  it('while the same spy runs, a Sessions refresh redraws only its row, and the last one shows the final counts', async function () {
    this.timeout(40000);
    const { a, pub, id } = await spyOnFastPublisher();
    await until(() => (a.capture.session(id!)?.messages ?? 0) > 500, 'the first messages', 10000);
    await new Promise((r) => setTimeout(r, 2000)); // the row got its topics (children): the tree's last full refresh
    const fired: unknown[] = [];
    const sub = a.sessionsTree.onDidChangeTreeData((e) => fired.push(e));
    try {
      await until(() => fired.length >= 2, 'two refreshes while flooded', 10000);
      const node = a.sessionsTree.nodeFor(id!)!;
      // the rows only: VS Code redraws a collapsed row from its item, without asking for children again (no progress bar)
      const what = fired.slice(0, 2).map((e) => (Array.isArray(e) ? e.map((n) => (n === node ? 'the row' : 'another row')) : 'the whole tree'));
      assert.deepEqual(what, [['the row'], ['the row']], 'refreshes of the running session rows, not of the whole tree');
      await pub.kill();
      // what waited in the buffers arrives after the publisher is gone: until the count stands still for 1.5 s
      let last = -1;
      let since = Date.now();
      await until(() => {
        const n = a.capture.session(id!)!.messages;
        if (n !== last) [last, since] = [n, Date.now()];
        return Date.now() - since >= 1500;
      }, 'the count standing still', 20000);
      const final = a.capture.session(id!)!.messages;
      fired.length = 0;
      await until(() => fired.length >= 1, 'a refresh after the last message (the rate decays)', 5000);
      const item = a.sessionsTree.getTreeItem(node);
      assert.equal(countIn(String(item.description)), final, `the row shows the capture's final count: ${item.description}`);
    } finally {
      sub.dispose();
    }
  });

  it('taps a pyzmq PUB/SUB pair: the connection shows both socket types; stop releases the port', async () => {
    const a = await api();
    const port = await freePort();
    const listenPort = await freePort();
    const pub = runPython(PUBLISHER, [port]);
    await pub.waitFor('ready');
    const id = await vscode.commands.executeCommand<string>('zmqDebugger.endpoint.tap', `tcp://127.0.0.1:${port}`, { listenPort });
    assert.match(id ?? '', /^tap-\d+$/);
    const sub = runPython(SUBSCRIBER, [listenPort]);
    await sub.waitFor('got 10', 15000);
    await until(() => (a.capture.session(id!)?.messages ?? 0) >= 10, 'messages through the tap');
    const row = await sessionRow(a, id!);
    assert.match(row.description, /^[\d,]+ msgs · \d+ msg\/s · 1 connection$/);
    const children = await items(a.sessionsTree, a.sessionsTree.nodeFor(id!)!);
    const conn = children.find((c) => c.item.contextValue === 'zmq:connection');
    assert.ok(conn, JSON.stringify(children.map((c) => c.item)));
    assert.match(conn.item.description, /^SUB → PUB · open/);
    assert.equal(await portIsFree(listenPort), false, 'the tap listens');

    await vscode.commands.executeCommand('zmqDebugger.session.stopAll');
    assert.equal(a.sessions.list().length, 0);
    assert.equal(await portIsFree(listenPort), true, 'the tap port is released on stop');
  });

  it('a tap on a port in use fails with nothing started and the port untouched', async () => {
    const a = await api();
    const busy = net.createServer();
    servers.push(busy);
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const busyPort = (busy.address() as net.AddressInfo).port;
    const n = a.sessions.list().length;
    const result = await vscode.commands.executeCommand('zmqDebugger.endpoint.tap', 'tcp://127.0.0.1:5999', { listenPort: busyPort });
    assert.equal(result, undefined);
    assert.equal(a.sessions.list().length, n);
    assert.ok(busy.listening);
  });

  it('exports under load: every exported message verifies while a full-speed publisher fills a capture at its limit', async function () {
    this.timeout(60000);
    const a = await api();
    const port = await freePort();
    // self-checking payloads: 8-byte sequence, 24 bytes of SHA-256 of the rest, 1 KiB of bytes derived from the sequence
    const pub = runPython(
      `
import sys, time, zmq, hashlib, struct
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
pub.setsockopt(zmq.SNDHWM, 0)
pub.bind('tcp://127.0.0.1:%s' % sys.argv[1])
print('ready', flush=True)
end = time.time() + 25
i = 0
while time.time() < end:
    body = bytes((i * 7 + k) & 0xff for k in range(1024)) if i % 64 == 0 else (struct.pack('>Q', i) * 128)
    pub.send_multipart([b'check', struct.pack('>Q', i) + hashlib.sha256(body).digest()[:24] + body])
    i += 1
`,
      [port],
    );
    await pub.waitFor('ready');
    a.capture.clear();
    a.capture.setLimits({ maxRecords: 2000, maxBytes: 64 * 1024 * 1024 });
    try {
      const id = await vscode.commands.executeCommand<string>('zmqDebugger.endpoint.spy', `tcp://127.0.0.1:${port}`, []);
      await until(() => a.capture.stats().evicted > 20000, 'the capture evicting at its limit', 30000);
      const file = join(tmp, 'under-load.jsonl');
      const exported = await vscode.commands.executeCommand<{ records: number }>('zmqDebugger.capture.export', file);
      const evictedDuring = a.capture.stats().evicted;
      await vscode.commands.executeCommand('zmqDebugger.session.stop', id);
      const { createHash } = await import('node:crypto');
      let verified = 0;
      for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
        const r = JSON.parse(line) as { kind: string; frames?: string[] };
        if (r.kind !== 'message' || !r.frames) continue;
        const body = Buffer.from(r.frames[1], 'base64');
        const seq = body.readBigUInt64BE(0);
        const hash = createHash('sha256').update(body.subarray(32)).digest().subarray(0, 24);
        assert.ok(hash.equals(body.subarray(8, 32)), `message ${seq}: its bytes do not match its checksum`);
        verified++;
      }
      note(`export under load: ${verified} messages verified, ${evictedDuring} evicted while exporting`);
      assert.ok(exported && verified >= 1000, `verified ${verified} messages`);
    } finally {
      a.capture.setLimits(a.settings.captureLimits);
      pub.proc.kill();
    }
  });

  it('capture limits from the settings apply at once', async () => {
    const a = await api();
    const config = vscode.workspace.getConfiguration('zmqDebugger');
    try {
      await config.update('capture.maxMessages', 7, vscode.ConfigurationTarget.Global);
      await until(() => a.capture.currentLimits.maxRecords === 7, 'limit applied', 5000);
      for (let i = 0; i < 10; i++) {
        a.capture.append({ kind: 'message', seq: 0, ts: 0, session: 'limits', source: 'spy', endpoint: 'tcp://127.0.0.1:1', direction: 'in', frames: [Buffer.from('x')] });
      }
      assert.equal(a.capture.stats().retained, 7);
      assert.equal(a.capture.stats().evicted, 3);
    } finally {
      await config.update('capture.maxMessages', undefined, vscode.ConfigurationTarget.Global);
    }
    await until(() => a.capture.currentLimits.maxRecords === 100000, 'default limit back', 5000);
  });

  it("a retrying spy's details (its attempts, up to 4 changes a second) do not refresh the Endpoints and Examples views, which do not show them", async function () {
    this.timeout(30000);
    const a = await api();
    await vscode.commands.executeCommand('workbench.view.extension.zmqDebugger');
    const port = await freePort();
    const id = await vscode.commands.executeCommand<string>('zmqDebugger.endpoint.spy', `tcp://127.0.0.1:${port}`, []);
    await until(() => a.sessions.get(id!)?.state === 'retrying', 'retrying', 10000);
    await new Promise((r) => setTimeout(r, 500));
    let details = 0;
    let endpointsFired = 0;
    let examplesFired = 0;
    const subs = [
      a.sessions.onDidChange(() => details++),
      a.endpoints.onDidChangeTreeData(() => endpointsFired++),
      a.examples.onDidChangeTreeData(() => examplesFired++),
    ];
    try {
      await new Promise((r) => setTimeout(r, 2500));
      assert.ok(details >= 2, `the spy's details changed ${details} times in 2.5 s (its retries)`);
      assert.equal(endpointsFired, 0, `the Endpoints view refreshed ${endpointsFired} times for ${details} changes of details`);
      assert.equal(examplesFired, 0, `the Examples view refreshed ${examplesFired} times for ${details} changes of details`);
      // a change it shows (the session stops) still refreshes it
      await vscode.commands.executeCommand('zmqDebugger.session.stop', id);
      await until(() => endpointsFired > 0, 'an Endpoints refresh when the spy stops', 5000);
    } finally {
      subs.forEach((d) => d.dispose());
    }
  });

  it('stop all stops spies on an endpoint nothing listens on (retrying), leaving no session', async () => {
    const a = await api();
    const port = await freePort();
    const id = await vscode.commands.executeCommand<string>('zmqDebugger.endpoint.spy', `tcp://127.0.0.1:${port}`, []);
    await until(() => a.sessions.get(id!)?.state === 'retrying', 'retrying', 10000);
    assert.equal((await sessionRow(a, id!)).contextValue, 'zmq:session:retrying');
    const monitorId = await vscode.commands.executeCommand<string>('zmqDebugger.endpoint.monitor', `tcp://127.0.0.1:${port}`, { inPrefix: 'in', outPrefix: 'out' });
    assert.match(monitorId ?? '', /^monitor-\d+$/);
    assert.equal(await vscode.commands.executeCommand('zmqDebugger.session.stopAll'), 2);
    assert.equal(a.sessions.list().length, 0);
  });
});

// A root hook: it runs once after every suite of every file, because deactivate()
// tears the whole extension down (examples included) and later suites need it.
// A failure here fails the run like a test.
after('deactivate() stops every session: tap ports released, no session left', async function () {
  this.timeout(20000);
  const a = await api();
  const listenPort = await freePort();
  await vscode.commands.executeCommand('zmqDebugger.endpoint.spy', `tcp://127.0.0.1:${await freePort()}`, []);
  const tapId = await vscode.commands.executeCommand<string>('zmqDebugger.endpoint.tap', `tcp://127.0.0.1:${await freePort()}`, { listenPort });
  assert.ok(tapId, 'the tap started');
  assert.ok(a.sessions.list().length >= 2);
  assert.equal(await portIsFree(listenPort), false);
  // the very module instance the host loaded (same require cache), as VS Code calls it on shutdown
  const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
   
  const main = require(join(ext.extensionPath, 'dist', 'extension.js')) as { deactivate(): Promise<void> };
  await main.deactivate();
  assert.equal(a.sessions.list().length, 0);
  assert.equal(await portIsFree(listenPort), true, 'the tap port is released by deactivate');
  note('deactivate(): every session stopped, tap port released');
});
