import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Capture } from '../../src/core/capture/capture';
import { CapturedMessage } from '../../src/core/capture/records';
import { DecodeOk } from '../../src/core/decoders/decoder';
import { JupyterDecoder } from '../../src/core/decoders/jupyter';
import { describeKernel, findJupyterKernels, jupyterRuntimeDir } from '../../src/core/discovery/jupyterKernels';
import { PubSpy } from '../../src/core/sessions/spy';
import { CliRun, runCli } from './helpers/cli';
import { freePort, killAllPython, runPython, until } from './helpers/peers';

// A real ipykernel (Debian's python3-ipykernel) driven by jupyter_client's BlockingKernelClient,
// its IOPub spied and its shell port tapped by the zmq-debug CLI with --decode jupyter:FILE.

const KERNEL = `
import sys, runpy
sys.argv = ['ipykernel_launcher', '-f', sys.argv[1]]
runpy.run_module('ipykernel_launcher', run_name='__main__')
`;

const CLIENT = `
import sys
from jupyter_client import BlockingKernelClient
kc = BlockingKernelClient()
kc.load_connection_file(sys.argv[1])
if len(sys.argv) > 2: kc.shell_port = int(sys.argv[2])  # through the tap
kc.start_channels()
kc.wait_for_ready(timeout=30)
print('ready', flush=True)
sys.stdin = None
msg_id = kc.execute("print('hello from the kernel')")
reply = kc.get_shell_msg(timeout=15)
assert reply['parent_header']['msg_id'] == msg_id, reply
print('reply', reply['content']['status'], flush=True)
while True:
    m = kc.get_iopub_msg(timeout=15)
    if m['msg_type'] == 'status' and m['content']['execution_state'] == 'idle' and m['parent_header'].get('msg_id') == msg_id:
        break
print('done', flush=True)
kc.stop_channels()
`;

interface Rec {
  kind: string;
  direction?: string;
  decoded?: { decoder: string; value: { msg_type: string; signature: string; content: Record<string, unknown>; header: Record<string, unknown> } };
  decodeError?: string;
}

const parse = (run: CliRun): Rec[] =>
  run
    .out()
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Rec);

describe('Jupyter wire protocol against a real kernel', function () {
  this.timeout(90000);
  let dir: string;
  const runs: CliRun[] = [];
  afterEach(async () => {
    for (const r of runs.splice(0)) if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
    await killAllPython();
    rmSync(dir, { recursive: true, force: true });
  });

  it('decodes IOPub (spy) and shell (tap) messages, checks signatures with the key, and reports them invalid with a wrong key', async () => {
    dir = mkdtempSync(join(tmpdir(), 'zmqdbg-jupyter-'));
    const [shell, iopub, stdin, control, hb, tapPort] = await Promise.all([1, 2, 3, 4, 5, 6].map(() => freePort()));
    const key = randomUUID();
    const info = { shell_port: shell, iopub_port: iopub, stdin_port: stdin, control_port: control, hb_port: hb, ip: '127.0.0.1', key, transport: 'tcp', signature_scheme: 'hmac-sha256', kernel_name: 'python3' };
    const conn = join(dir, 'kernel-test.json');
    const wrong = join(dir, 'kernel-wrong-key.json');
    writeFileSync(conn, JSON.stringify(info));
    writeFileSync(wrong, JSON.stringify({ ...info, key: randomUUID() }));

    const kernel = runPython(KERNEL, [conn]);
    const spy = runCli(['spy', `tcp://127.0.0.1:${iopub}`, '--decode', `jupyter:${conn}`, '--json']);
    const spyWrong = runCli(['spy', `tcp://127.0.0.1:${iopub}`, '--decode', `jupyter:${wrong}`, '--json']);
    const tap = runCli(['tap', '--listen', `127.0.0.1:${tapPort}`, '--target', `127.0.0.1:${shell}`, '--decode', `jupyter:${conn}`, '--json']);
    const human = runCli(['spy', `tcp://127.0.0.1:${iopub}`, '--decode', `jupyter:${conn}`]);
    runs.push(spy, spyWrong, tap, human);
    await until(() => tap.err().includes('tap listening'), 'the tap to listen');
    // the spies join a PUB: the client's kernel_info exchange is the last IOPub traffic before the
    // test executes, so they must be subscribed before it starts (under load a spy's reconnect
    // backoff, up to 5 s while the kernel starts, made them join after it and wait in vain)
    await until(() => [spy, spyWrong, human].every((r) => /\bhandshake\b(?!:)/.test(r.out())), 'the spies to join the kernel IOPub', 40000);
    await new Promise((r) => setTimeout(r, 300));
    const client = runPython(CLIENT, [conn, tapPort]);
    await client.waitFor('ready', 40000).catch((e) => assert.fail(`${e}\nkernel: ${kernel.stderr()}`));
    await until(() => [spy, spyWrong, human].every((r) => r.out().includes('status')), 'the spies to see IOPub status messages', 20000);
    await client.waitFor('done', 30000);
    assert.match(client.stdout(), /reply ok/);
    await new Promise((r) => setTimeout(r, 300));
    for (const r of runs) assert.equal(await r.stop(), 0, r.err());

    const iopubMsgs = parse(spy).filter((r) => r.kind === 'message');
    const types = new Set(iopubMsgs.map((r) => r.decoded?.value.msg_type));
    for (const t of ['status', 'execute_input', 'stream']) assert.ok(types.has(t), `IOPub ${t} decoded; saw ${[...types].join(', ')}`);
    assert.ok(iopubMsgs.every((r) => r.decoded?.decoder === 'jupyter' && r.decoded.value.signature === 'valid'), 'every IOPub signature valid with the key');
    const stream = iopubMsgs.find((r) => r.decoded?.value.msg_type === 'stream')!;
    assert.deepEqual(stream.decoded!.value.content, { name: 'stdout', text: 'hello from the kernel\n' });
    const input = iopubMsgs.find((r) => r.decoded?.value.msg_type === 'execute_input')!;
    assert.equal(input.decoded!.value.content.code, "print('hello from the kernel')");

    const shellMsgs = parse(tap).filter((r) => r.kind === 'message');
    const req = shellMsgs.find((r) => r.decoded?.value.msg_type === 'execute_request');
    const rep = shellMsgs.find((r) => r.decoded?.value.msg_type === 'execute_reply');
    assert.ok(req && rep, `execute_request and execute_reply through the tap; saw ${shellMsgs.map((r) => r.decoded?.value.msg_type ?? r.decodeError).join(', ')}`);
    assert.equal(req.direction, 'toTarget');
    assert.equal(rep.direction, 'fromTarget');
    assert.equal(rep.decoded!.value.content.status, 'ok');
    assert.ok(shellMsgs.every((r) => r.decoded?.value.signature === 'valid'));

    const wrongMsgs = parse(spyWrong).filter((r) => r.kind === 'message');
    assert.ok(wrongMsgs.length > 0 && wrongMsgs.every((r) => r.decoded?.value.signature === 'invalid'), 'a wrong key: every signature invalid');

    assert.match(human.out(), /⇒ jupyter stream \(signature valid\) \{"name":"stdout","text":"hello from the kernel\\n"\}/);
    for (const r of runs) assert.ok(!(r.out() + r.err()).includes(key), 'the key is never printed');
  });

  it('finds kernels in the runtime directory with their name, pid and channels, and their key checks IOPub signatures', async () => {
    dir = mkdtempSync(join(tmpdir(), 'zmqdbg-runtime-'));
    const env = { JUPYTER_RUNTIME_DIR: dir, HOME: '/nonexistent' };
    assert.equal(jupyterRuntimeDir(env), dir);
    assert.equal(jupyterRuntimeDir({ HOME: '/home/u' }, 'linux'), '/home/u/.local/share/jupyter/runtime');
    assert.equal(jupyterRuntimeDir({ HOME: '/home/u', XDG_DATA_HOME: '/x' }, 'linux'), '/x/jupyter/runtime');
    assert.equal(jupyterRuntimeDir({ HOME: '/Users/u' }, 'darwin'), '/Users/u/Library/Jupyter/runtime');
    assert.equal(jupyterRuntimeDir({ JUPYTER_DATA_DIR: '/d' }), '/d/runtime');
    const [shell, iopub, stdin, control, hb] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
    const key = randomUUID();
    const conn = join(dir, 'kernel-4f1c.json');
    writeFileSync(conn, JSON.stringify({ shell_port: shell, iopub_port: iopub, stdin_port: stdin, control_port: control, hb_port: hb, ip: '127.0.0.1', key, transport: 'tcp', signature_scheme: 'hmac-sha256', kernel_name: 'python3' }));
    writeFileSync(join(dir, 'kernel-broken.json'), '{"shell_port": ');
    writeFileSync(join(dir, 'notebook-cookie-secret'), 'x');
    const kernel = runPython(KERNEL, [conn]);

    const found = await findJupyterKernels({ env });
    assert.equal(found.dir, dir);
    assert.equal(found.kernels.length, 1);
    assert.deepEqual(found.problems.map((p) => p.file), [join(dir, 'kernel-broken.json')]);
    assert.match(found.problems[0].error, /is not JSON/);
    const k = found.kernels[0];
    assert.deepEqual([k.id, k.kernelName, k.pid, k.file], ['4f1c', 'python3', kernel.proc.pid, conn]);
    assert.deepEqual(
      k.channels.map((c) => `${c.name} ${c.kernelSocket}/${c.clientSocket} ${c.endpoint}`),
      [`shell ROUTER/DEALER tcp://127.0.0.1:${shell}`, `iopub PUB/SUB tcp://127.0.0.1:${iopub}`, `stdin ROUTER/DEALER tcp://127.0.0.1:${stdin}`, `control ROUTER/DEALER tcp://127.0.0.1:${control}`, `hb REP/REQ tcp://127.0.0.1:${hb}`],
    );
    for (const shown of [JSON.stringify(found), inspect(found, { depth: 10 }), describeKernel(k)]) assert.ok(!shown.includes(key), `the key leaked into ${shown}`);
    assert.match(describeKernel(k), new RegExp(`^python3 4f1c \\(pid ${kernel.proc.pid}\\): shell ROUTER tcp://127\\.0\\.0\\.1:${shell}, iopub PUB`));

    // one click: spy on IOPub, the key from the file checks the signatures
    const capture = new Capture();
    const spy = new PubSpy({ id: 'jupyter', endpoints: [k.channels.find((c) => c.name === 'iopub')!.endpoint], capture });
    try {
      // joined before the client runs, or the stream message may go out before the subscription
      await until(() => [...capture.records()].some((r) => r.kind === 'event' && r.type === 'handshake'), 'the spy to join the kernel IOPub', 40000);
      await new Promise((r) => setTimeout(r, 300));
      const client = runPython(CLIENT, [conn]);
      await client.waitFor('ready', 40000);
      await client.waitFor('done', 30000);
      const decoder = new JupyterDecoder(k.key);
      const decoded = () => [...capture.records()].filter((r): r is CapturedMessage => r.kind === 'message').map((m) => decoder.decode(m) as DecodeOk);
      await until(() => decoded().some((d) => d.topic === 'stream'), 'the stream message on IOPub');
      assert.ok(decoded().every((d) => d.ok && (d.value as { signature: string }).signature === 'valid'));
    } finally {
      await spy.stop();
    }
    assert.deepEqual((await findJupyterKernels({ env: { JUPYTER_RUNTIME_DIR: join(dir, 'nope') } })).kernels, []);
  });
});
