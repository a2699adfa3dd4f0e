/**
 * Decoding what real programs send: `auto` on MessagePack arrays and on
 * messages whose frames differ in kind (frame by frame), the Jupyter decoder
 * with any JSON file holding a key (ipyparallel's), and `zmq-debug run
 * --decode` on two real systems nobody here wrote: a Locust master and worker
 * (msgpack arrays over ROUTER/DEALER) and an ipyparallel cluster's client
 * (the Jupyter wire protocol, signed with the cluster's key).
 */
import { strict as assert } from 'node:assert';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { encode } from '@msgpack/msgpack';
import { AutoDecoder } from '../../src/core/decoders/auto';
import { DecodeOk } from '../../src/core/decoders/decoder';
import { decodedFields, formatDecoded } from '../../src/core/decoders/decodedText';
import { parseSigningKey } from '../../src/core/decoders/jupyterConnection';
import { JupyterKey } from '../../src/core/decoders/jupyterKey';
import { createDecoder } from '../../src/core/decoders/registry';
import { JupyterKeyFinder } from '../../src/core/discovery/jupyterKeyFiles';
import { killAllRuns, run } from './helpers/agentRun';
import { CLI } from './helpers/cli';
import { freePort, PYTHON, until } from './helpers/peers';

const HERE = join(__dirname, 'fixtures', 'sanitizer');
const b = (s: string) => Buffer.from(s);

interface DecodedLine {
  kind: string;
  direction?: string;
  socketType?: string;
  process?: string;
  decoded?: { decoder: string; value: unknown; frames?: string[] };
  decodeError?: string;
}
const lines = (stdout: string): DecodedLine[] =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DecodedLine);

describe('decoding everywhere: auto on msgpack arrays and mixed frames, jupyter with any key file', function () {
  it('auto reads a MessagePack array (Locust’s messages), which it refused before', () => {
    const r = new AutoDecoder().decode({ frames: [Buffer.from(encode(['client_ready', '2.12.1', 'worker-1']))] }) as DecodeOk;
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual([r.decoder, r.value], ['msgpack', ['client_ready', '2.12.1', 'worker-1']]);
    // a ROUTER's [identity, payload]: the identity is not the payload
    const routed = new AutoDecoder().decode({ frames: [Buffer.from([0, 0x80, 0, 0x41, 0xa7]), Buffer.from(encode(['heartbeat', { state: 'ready' }]))] }) as DecodeOk;
    assert.deepEqual([routed.decoder, routed.value], ['msgpack', ['heartbeat', { state: 'ready' }]]);
  });

  it('auto decodes frame by frame when the frames differ: binary header as bytes, method name as text, arguments as msgpack', () => {
    const header = Buffer.from([0x01, 0x00, 0xff, 0x10, 0x02]);
    const msg = { frames: [header, b('get_user'), Buffer.from(encode([42, { verbose: true }])), b('{"trace": "abc"}'), Buffer.alloc(0)] };
    for (const d of [new AutoDecoder(), createDecoder('auto')]) {
      const r = d.decode(msg) as DecodeOk;
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.decoder, 'auto');
      assert.deepEqual(r.frames, ['bytes', 'text', 'msgpack', 'json', 'text']);
      assert.deepEqual(r.value, [{ $bytes: header.toString('base64') }, 'get_user', [42, { verbose: true }], { trace: 'abc' }, '']);
      // the export format: decoded gains `frames`, nothing else changes
      assert.deepEqual(decodedFields(r), { decoded: { decoder: 'auto', value: r.value, frames: r.frames } });
      assert.match(formatDecoded(r), /^auto \(bytes, text, msgpack, json, text\) \[\{"\$bytes":"AQD\/EAI="\},"get_user",\[42,\{"verbose":true\}\]/);
    }
    // a frame captured truncated stays bytes, never half decoded
    const cut = new AutoDecoder().decode({ frames: [header, Buffer.from(encode([1, 2, 3]))], truncated: { 1: 900 } });
    assert.equal(cut.ok, false, 'nothing decoded: no per-frame result');
    // nothing but binary: still not decoded, and the error names what was tried
    const bin = new AutoDecoder().decode({ frames: [Buffer.from([0, 1]), Buffer.from([0xff, 0])] });
    assert.deepEqual(bin, { ok: false, decoder: 'auto', error: 'not Jupyter, JSON, MessagePack (a map or an array) or UTF-8 text' });
    // one decoder for every frame still wins over the per-frame reading
    const same = new AutoDecoder().decode({ frames: [b('{"a":1}'), b('[2]')] }) as DecodeOk;
    assert.deepEqual([same.decoder, same.value, same.frames], ['json', [{ a: 1 }, [2]], undefined]);
  });

  it('the Jupyter key of any JSON file with key and signature_scheme (ipyparallel’s), never shown', () => {
    const secret = '5c1d4e6f-ipp-secret-key';
    const file = JSON.stringify({ ssh: '', interface: 'tcp://127.0.0.1', registration: 40001, cluster_id: '', pack: 'json', unpack: 'json', key: secret, signature_scheme: 'hmac-sha256', location: '127.0.0.1' });
    const key = parseSigningKey(file, 'ipcontroller-client.json');
    assert.equal(key.scheme, 'hmac-sha256');
    const parts = [b('{"msg_type":"apply_request"}'), b('{}'), b('{}'), b('{}')];
    assert.ok(key.verify(b(key.sign(parts)), parts));
    for (const shown of [JSON.stringify(key), inspect(key, { showHidden: true, depth: 5 }), String(key)]) assert.ok(!shown.includes(secret), shown);
    assert.throws(() => parseSigningKey('{"registration": 1}', 'x.json'), /^Error: x\.json has no "key"/);
    assert.throws(() => parseSigningKey(`{"key": "${secret}", `, 'x.json'), (e: Error) => e.message === 'x.json is not JSON');
    assert.throws(() => parseSigningKey(`{"key": "${secret}", "signature_scheme": "rot13"}`, 'x.json'), (e: Error) => /unknown Jupyter signature_scheme 'rot13'/.test(e.message) && !e.message.includes(secret));
  });
});

describe('--decode jupyter without a file: the key by the endpoint’s port', function () {
  it('uses the one file naming the port, never a key that is ambiguous, and reads the files again for a port it did not know', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zmq-debug-keys-'));
    try {
      const write = (name: string, o: object) => {
        writeFileSync(join(dir, name), JSON.stringify(o));
        return join(dir, name);
      };
      const files = [
        write('kernel-a.json', { shell_port: 5001, iopub_port: 5002, stdin_port: 5003, control_port: 5004, hb_port: 5005, key: 'key-a', signature_scheme: 'hmac-sha256', pid: 7001 }),
        write('ipcontroller-client.json', { interface: 'tcp://127.0.0.1', registration: 6001, mux: 6002, broadcast: [6003, 6004], key: 'key-b', signature_scheme: 'hmac-sha256' }),
        write('ipcontroller-engine.json', { interface: 'tcp://127.0.0.1', registration: 6001, key: 'key-b', signature_scheme: 'hmac-sha256' }),
        write('other.json', { registration: 5001, key: 'key-c' }),
        write('no-key.json', { shell_port: 6005 }),
      ];
      let scans = 0;
      let now = 0;
      const finder = new JupyterKeyFinder(() => (scans++, files), 2000, () => now);
      const parts = [b('{}'), b('{}'), b('{}'), b('{}')];
      const signedWith = (k: string) => b(new JupyterKey(k).sign(parts));
      const verifies = (endpoint: string, k: string) => finder.keyFor(endpoint)?.verify(signedWith(k), parts) ?? 'none';
      assert.equal(verifies('tcp://127.0.0.1:6002', 'key-b'), true);
      assert.equal(verifies('tcp://127.0.0.1:6004', 'key-b'), true, 'a port in a list (ipyparallel’s broadcast schedulers)');
      assert.equal(verifies('tcp://127.0.0.1:6001', 'key-b'), true, 'two files, one key: not ambiguous');
      assert.equal(verifies('tcp://127.0.0.1:5002', 'key-a'), true);
      assert.equal(verifies('tcp://127.0.0.1:5001', 'key-a'), 'none', 'two files with two keys name the port: ambiguous');
      assert.equal(verifies('tcp://127.0.0.1:7001', 'key-a'), 'none', 'a pid is not a port');
      assert.equal(verifies('ipc:///tmp/x', 'key-a'), 'none');
      const before = scans;
      assert.equal(finder.keyFor('tcp://127.0.0.1:9999'), undefined);
      assert.equal(scans, before, 'no rescan within 2 s');
      now += 2500;
      files.push(write('kernel-late.json', { shell_port: 9999, key: 'key-d' }));
      assert.equal(verifies('tcp://127.0.0.1:9999', 'key-d'), true, 'a file written later is found on the next scan');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('zmq-debug run --decode on real systems', function () {
  this.timeout(120000);
  afterEach(killAllRuns);

  it('refuses a bad --decode before running anything, and takes the word after --decode as its value, not the command', async () => {
    const bad = await run(process.execPath, [CLI, 'run', '--decode', 'yaml', '--', PYTHON, '-c', 'print("ran")']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--decode: unknown decoder 'yaml'/);
    assert.doesNotMatch(bad.stdout + bad.stderr, /ran/);
    const ok = await run(process.execPath, [CLI, 'run', '--decode', 'text', PYTHON, '-c', 'print("ran")']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /ran/);
  });

  it('a Locust master and worker: every message of their protocol decoded as a msgpack array naming its type', async () => {
    const port = await freePort();
    const locust = `${PYTHON} -m locust -f locustfile.py --headless --only-summary`;
    const script =
      `${locust} --master -u 1 -r 1 -t 2s --expect-workers 1 --master-bind-host 127.0.0.1 --master-bind-port ${port} & ` +
      `sleep 0.5; ${locust} --worker --master-host 127.0.0.1 --master-port ${port}; wait`;
    const r = await run(process.execPath, [CLI, 'run', '--json', '--decode', 'auto', '--', 'sh', '-c', `cd '${HERE}'; ${script}`], {}, 90000);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const msgs = lines(r.stdout).filter((l) => l.kind === 'message');
    assert.ok(msgs.length >= 10, `${msgs.length} messages`);
    const undecoded = msgs.filter((m) => !m.decoded);
    assert.deepEqual(undecoded.map((m) => m.decodeError), [], 'every message decoded');
    const types = new Map<string, Set<string>>();
    for (const m of msgs) {
      assert.equal(m.decoded!.decoder, 'msgpack');
      const v = m.decoded!.value as unknown[];
      assert.ok(Array.isArray(v) && typeof v[0] === 'string', JSON.stringify(v));
      const k = `${m.socketType} ${m.direction}`;
      if (!types.has(k)) types.set(k, new Set());
      types.get(k)!.add(v[0] as string);
    }
    // the worker (DEALER) says it is ready, reports, and quits; the master (ROUTER) sees each of them
    for (const t of ['client_ready', 'heartbeat', 'spawning', 'spawning_complete', 'stats']) {
      assert.ok(types.get('DEALER out')?.has(t), `worker sent ${t}: ${[...(types.get('DEALER out') ?? [])]}`);
      assert.ok(types.get('ROUTER in')?.has(t), `master received ${t}: ${[...(types.get('ROUTER in') ?? [])]}`);
    }
    for (const t of ['ack', 'spawn', 'quit']) assert.ok(types.get('ROUTER out')?.has(t), `master sent ${t}: ${[...(types.get('ROUTER out') ?? [])]}`);
  });

  describe('an ipyparallel cluster', function () {
    let dir: string;
    let cluster: ChildProcess | undefined;
    before(async function () {
      this.timeout(90000);
      dir = mkdtempSync(join(tmpdir(), 'zmq-debug-ipp-'));
      // its own process group: the controller and the engine it starts end with it
      cluster = spawn(PYTHON, ['-m', 'ipyparallel.cluster', 'start', '-n', '1', `--profile-dir=${join(dir, 'ipython', 'profile_zmqtest')}`, '--daemonize=False'], {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      });
      let log = '';
      cluster.stderr!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-20000)));
      await until(() => /Engine Connected: 0/.test(log) || cluster!.exitCode !== null, 'the cluster’s engine to register', 60000);
      assert.match(log, /Engine Connected: 0/, log);
    });
    after(async () => {
      if (cluster?.pid && cluster.exitCode === null) {
        const ended = new Promise((r) => cluster!.once('exit', r));
        process.kill(-cluster.pid, 'SIGINT');
        const hard = setTimeout(() => process.kill(-cluster!.pid!, 'SIGKILL'), 10000);
        await ended;
        clearTimeout(hard);
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it('the client’s messages decoded with the cluster’s own ipcontroller-client.json, every signature valid (invalid with another key)', async () => {
      const conn = join(dir, 'ipython', 'profile_zmqtest', 'security', 'ipcontroller-client.json');
      assert.ok(existsSync(conn));
      const client = (decode: string, env: Record<string, string> = {}) =>
        run(process.execPath, [CLI, 'run', '--json', '--decode', decode, '--', PYTHON, join(HERE, 'ipp_client.py'), conn], env, 60000);
      const r = await client(`jupyter:${conn}`);
      assert.equal(r.code, 0, r.stderr.slice(-2000));
      assert.match(r.stderr, /sum 6/);
      const msgs = lines(r.stdout).filter((l) => l.kind === 'message');
      assert.deepEqual(msgs.filter((m) => !m.decoded).map((m) => m.decodeError), []);
      const seen = msgs.map((m) => {
        const v = m.decoded!.value as { msg_type: string; signature: string };
        return `${m.direction} ${v.msg_type} ${v.signature}`;
      });
      for (const want of ['out connection_request valid', 'in connection_reply valid', 'out apply_request valid', 'in apply_reply valid']) assert.ok(seen.includes(want), seen.join('\n'));
      assert.ok(seen.every((s) => s.endsWith(' valid')), seen.join('\n'));
      const key = (JSON.parse(readFileSync(conn, 'utf8')) as { key: string }).key;
      assert.ok(key.length > 0 && !r.stdout.includes(key) && !r.stderr.includes(key), 'the key is never printed');

      const other = join(dir, 'other-key.json');
      writeFileSync(other, JSON.stringify({ key: 'not-the-cluster-key', signature_scheme: 'hmac-sha256' }));
      const wrong = await client(`jupyter:${other}`);
      assert.equal(wrong.code, 0, wrong.stderr.slice(-2000));
      const sigs = lines(wrong.stdout).filter((l) => l.kind === 'message').map((m) => (m.decoded!.value as { signature: string }).signature);
      assert.ok(sigs.length >= 4 && sigs.every((s) => s === 'invalid'), sigs.join(' '));
    });

    it('--decode jupyter alone: the key found in the one connection file naming the endpoint’s port (the profile’s ipcontroller-*.json)', async () => {
      const conn = join(dir, 'ipython', 'profile_zmqtest', 'security', 'ipcontroller-client.json');
      const args = [CLI, 'run', '--json', '--decode', 'jupyter', '--', PYTHON, join(HERE, 'ipp_client.py'), conn];
      const found = await run(process.execPath, args, { IPYTHONDIR: join(dir, 'ipython'), JUPYTER_RUNTIME_DIR: join(dir, 'no-kernels') }, 60000);
      assert.equal(found.code, 0, found.stderr.slice(-2000));
      const sigs = lines(found.stdout).filter((l) => l.kind === 'message').map((m) => (m.decoded!.value as { signature: string }).signature);
      assert.ok(sigs.length >= 4 && sigs.every((s) => s === 'valid'), sigs.join(' '));
      // with no connection file to be found: decoded, signatures unchecked
      const none = await run(process.execPath, args, { IPYTHONDIR: join(dir, 'nothing-here'), JUPYTER_RUNTIME_DIR: join(dir, 'no-kernels') }, 60000);
      assert.equal(none.code, 0, none.stderr.slice(-2000));
      const unchecked = lines(none.stdout).filter((l) => l.kind === 'message').map((m) => (m.decoded!.value as { signature: string }).signature);
      assert.ok(unchecked.length >= 4 && unchecked.every((s) => s === 'unchecked'), unchecked.join(' '));
    });
  });
});
