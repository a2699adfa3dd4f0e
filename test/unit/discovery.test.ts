import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiscoveredEndpoint, discoveryLanguage, findEndpointsInText, maskComments, observableAddress, observeActionFor } from '../../src/core/discovery/discovery';

/** The seed programs (ported to Python 3) and hand-written programs in other languages, also the e2e workspace. */
const SEEDS = join(__dirname, '..', 'e2e', 'workspace', 'seeds');

/** One expected hit: editor line (1-based, as in the fixture file), role, endpoint, socket type, variable. */
type Row = [line: number, role: 'bind' | 'connect', endpoint: string, socketType: string | undefined, variable: string, monitor?: 'monitor'];

function rows(hits: DiscoveredEndpoint[]): Row[] {
  return hits.map((h) => {
    const row: Row = [h.line + 1, h.role, h.endpoint, h.socketType, h.variable ?? ''];
    if (h.monitor) row.push('monitor');
    return row;
  });
}

function scanFile(name: string): DiscoveredEndpoint[] {
  return findEndpointsInText(readFileSync(join(SEEDS, name), 'utf8'), name);
}

const EXPECTED: Record<string, Row[]> = {
  'push_client.py': [[8, 'bind', 'tcp://*:5559', 'PUSH', 'sender']],
  'pull_server.py': [[9, 'connect', 'tcp://localhost:5559', 'PULL', 'receiver']],
  // "tcp://*:%s" % port with port = "5556" above
  'pairserver.py': [[10, 'bind', 'tcp://*:5556', 'PAIR', 'socket']],
  'pairclient.py': [[10, 'connect', 'tcp://localhost:5556', 'PAIR', 'socket']],
  // port = sys.argv[1] is skipped: the literal default is what the code shows
  'reqrep_server.py': [[14, 'bind', 'tcp://*:5556', 'REP', 'socket']],
  // port1 only ever comes from sys.argv: that connect is not reported
  'reqrep_client.py': [[18, 'connect', 'tcp://localhost:5556', 'REQ', 'socket']],
  'pubsub_server.py': [[14, 'bind', 'tcp://*:5556', 'PUB', 'socket']],
  // % formatting and an f-string with a numeric literal
  'pubsub_client.py': [
    [18, 'connect', 'tcp://localhost:5556', 'SUB', 'socket'],
    [19, 'connect', 'tcp://localhost:5557', 'SUB', 'socket'],
  ],
  'pipeline.py': [
    [11, 'bind', 'tcp://127.0.0.1:5557', 'PUSH', 'zmq_socket'],
    [24, 'connect', 'tcp://127.0.0.1:5557', 'PULL', 'consumer_receiver'],
    [27, 'connect', 'tcp://127.0.0.1:5558', 'PUSH', 'consumer_sender'],
    [40, 'bind', 'tcp://127.0.0.1:5558', 'PULL', 'results_receiver'],
  ],
  // pyzmq 2 names: XREP is ROUTER, XREQ is DEALER
  'queue_device.py': [
    [10, 'bind', 'tcp://*:5559', 'ROUTER', 'frontend'],
    [13, 'bind', 'tcp://*:5560', 'DEALER', 'backend'],
  ],
  // default arguments: def server(port="5556"); `for port in ports` over ports=["5556"];
  // "...{}".format(backup_port); a loop over two ports is skipped, not guessed
  'multiprocess_reqrep.py': [
    [11, 'bind', 'tcp://*:5556', 'REP', 'socket'],
    [26, 'connect', 'tcp://localhost:5556', 'REQ', 'socket'],
    [38, 'connect', 'tcp://localhost:5557', 'REQ', 'socket'],
  ],
  // ProcessDevice(zmq.STREAMER, zmq.PULL, zmq.PUSH): bind_in is the PULL side, bind_out the PUSH side
  'streamer_device.py': [
    [12, 'bind', 'tcp://127.0.0.1:5559', 'PULL', 'streamerdevice'],
    [13, 'bind', 'tcp://127.0.0.1:5560', 'PUSH', 'streamerdevice'],
    [22, 'connect', 'tcp://127.0.0.1:5559', 'PUSH', 'socket'],
    [30, 'connect', 'tcp://127.0.0.1:5560', 'PULL', 'socket'],
  ],
  // MonitoredQueue(zmq.XREP, zmq.XREQ, zmq.PUB, ...): bind_mon is the monitor PUB
  'monitored_queue.py': [
    [21, 'bind', 'tcp://127.0.0.1:5559', 'ROUTER', 'monitoringdevice'],
    [22, 'bind', 'tcp://127.0.0.1:5560', 'DEALER', 'monitoringdevice'],
    [23, 'bind', 'tcp://127.0.0.1:5562', 'PUB', 'monitoringdevice', 'monitor'],
    [35, 'connect', 'tcp://127.0.0.1:5560', 'REP', 'socket'],
    [48, 'connect', 'tcp://127.0.0.1:5562', 'SUB', 'socket'],
  ],
  // docstrings, comments, prints, plain strings, stdlib sockets, a free function named connect, input()
  'not_endpoints.py': [],
  // template literal with a constant; a commented-out bind
  'publisher.js': [[8, 'bind', 'tcp://127.0.0.1:5556', 'PUB', 'sock']],
  // zmq.socket('sub') and 'tcp://' + host + ':' + PORT; a bind in a block comment is ignored
  'subscriber.js': [[9, 'connect', 'tcp://localhost:5556', 'SUB', 'sock']],
  // process.env.X ?? 'literal', and a typed constant
  'worker.ts': [
    [9, 'connect', 'tcp://127.0.0.1:5557', 'PULL', 'receiver'],
    [11, 'connect', 'tcp://127.0.0.1:5558', 'PUSH', 'sender'],
  ],
  // zmq_socket(ctx, ZMQ_PUB) + zmq_bind(s, "..."); snprintf into a buffer with a #define
  'wuserver.c': [
    [14, 'bind', 'tcp://*:5556', 'PUB', 'publisher'],
    [21, 'bind', 'tcp://*:5562', 'REP', 'syncservice'],
  ],
  // cppzmq: socket_t s(ctx, zmq::socket_type::sub), std::string concatenation, ZMQ_REQ
  'wuclient.cpp': [
    [11, 'connect', 'tcp://localhost:5556', 'SUB', 'subscriber'],
    [15, 'connect', 'tcp://localhost:5562', 'REQ', 'sync'],
  ],
  // pebbe/zmq4: NewSocket(zmq.REP), fmt.Sprintf with a const, a raw string
  'hwserver.go': [
    [16, 'bind', 'tcp://*:5555', 'REP', 'responder'],
    [19, 'bind', 'tcp://*:5563', 'PUB', 'publisher'],
  ],
  // JeroMQ: createSocket(SocketType.PUB), "..." + PORT, String.format
  'Psenvpub.java': [
    [14, 'bind', 'tcp://*:5563', 'PUB', 'publisher'],
    [17, 'bind', 'tcp://*:5564', 'PULL', 'collector'],
  ],
  // NetMQ: "@" binds and ">" connects in constructors, $"..." interpolation, @"..." verbatim
  'Program.cs': [
    [12, 'bind', 'tcp://*:5565', 'PUB', 'pubSocket'],
    [14, 'connect', 'tcp://localhost:5567', 'DEALER', 'dealer'],
    [16, 'connect', 'tcp://localhost:5566', 'SUB', 'subSocket'],
    [19, 'bind', 'tcp://*:5568', 'ROUTER', 'verbatim'],
  ],
};

describe('discovery', () => {
  it('covers every fixture file', () => {
    assert.deepEqual(readdirSync(SEEDS).sort(), Object.keys(EXPECTED).sort());
  });

  for (const [file, expected] of Object.entries(EXPECTED)) {
    it(`finds exactly the endpoints of ${file}`, () => {
      assert.deepEqual(rows(scanFile(file)), expected);
    });
  }

  it('reports the position of the call and where it ends, and the address that observes it', () => {
    const [hit] = scanFile('pairserver.py');
    const line = readFileSync(join(SEEDS, 'pairserver.py'), 'utf8').split('\n')[hit.line];
    assert.equal(line.slice(hit.column), 'bind("tcp://*:%s" % port)');
    assert.equal(hit.endLine, hit.line);
    assert.equal(hit.endColumn, line.length);
    assert.equal(hit.address, 'tcp://127.0.0.1:5556');
    // binder and connector meet at the same address
    assert.equal(scanFile('pairclient.py')[0].address, 'tcp://127.0.0.1:5556');
  });

  it('handles .format with names, os.environ defaults, `or`, concatenated literals and multi-line calls', () => {
    const text = [
      'import os, zmq',
      'ctx = zmq.Context()',
      'pub = ctx.socket(zmq.PUB)',
      'pub.bind("tcp://{host}:{port}".format(host="*", port=6001))',
      'sub = ctx.socket(zmq.SUB)',
      'sub.connect(os.environ.get("FEED", "tcp://127.0.0.1:6002"))',
      'EP = os.getenv("X") or "tcp://127.0.0.1:6003"',
      'sub.connect(EP)',
      'sub.connect(',
      '    "tcp://127.0.0.1:"',
      '    "6004")',
      'sub.connect("tcp://%s:%d" % ("localhost", 6005))',
      'sub.connect("ipc:///tmp/feed.ipc")',
      'sub.connect("inproc://workers")',
    ].join('\n');
    const hits = findEndpointsInText(text, 'python');
    assert.deepEqual(
      hits.map((h) => [h.line, h.endpoint, h.address]),
      [
        [3, 'tcp://*:6001', 'tcp://127.0.0.1:6001'],
        [5, 'tcp://127.0.0.1:6002', 'tcp://127.0.0.1:6002'],
        [7, 'tcp://127.0.0.1:6003', 'tcp://127.0.0.1:6003'],
        [8, 'tcp://127.0.0.1:6004', 'tcp://127.0.0.1:6004'],
        [11, 'tcp://localhost:6005', 'tcp://127.0.0.1:6005'],
        [12, 'ipc:///tmp/feed.ipc', 'ipc:///tmp/feed.ipc'],
        [13, 'inproc://workers', undefined],
      ],
    );
    assert.equal(hits[3].endLine, 10, 'a call spanning lines ends on its last line');
  });

  it('resolves a loop variable over a one-item list and lets a loop over several hide farther literals', () => {
    const text = [
      "const ep = 'tcp://127.0.0.1:6000';",
      'const sock = new zmq.Subscriber();',
      "for (const ep of ['tcp://127.0.0.1:6100']) {",
      '  sock.connect(ep);',
      '}',
      "for (const ep of ['tcp://127.0.0.1:6101', 'tcp://127.0.0.1:6102']) {",
      '  sock.connect(ep);',
      '}',
    ].join('\n');
    assert.deepEqual(rows(findEndpointsInText(text, 'javascript')), [[4, 'connect', 'tcp://127.0.0.1:6100', 'SUB', 'sock']]);
  });

  it('sees the socket type of a socket created in the same expression', () => {
    const text = ['import zmq', 'zmq.Context().socket(zmq.PUSH).bind("tcp://*:6200")', 'ctx.socket(zmq.SUB) .connect("tcp://localhost:6201")'].join('\n');
    assert.deepEqual(rows(findEndpointsInText(text, 'python')), [
      [2, 'bind', 'tcp://*:6200', 'PUSH', ''],
      [3, 'connect', 'tcp://localhost:6201', 'SUB', ''],
    ]);
  });

  it('takes a socket type only from where the variable is assigned, never from a member access', () => {
    const text = [
      'import zmq',
      'url = "inproc://a"',
      'with ctx.socket(zmq.PUSH) as a:',
      '    a.bind(url)',
      'sub2 = sub.context.socket(zmq.SUB)',
      'handler.socket.bind("tcp://127.0.0.1:6300")', // not the SUB above: handler.socket is another object
      'sub2.connect("tcp://127.0.0.1:6300")',
    ].join('\n');
    assert.deepEqual(rows(findEndpointsInText(text, 'python')), [
      [4, 'bind', 'inproc://a', 'PUSH', 'a'],
      [6, 'bind', 'tcp://127.0.0.1:6300', undefined, 'handler.socket'],
      [7, 'connect', 'tcp://127.0.0.1:6300', 'SUB', 'sub2'],
    ]);
  });

  it('handles czmq zsock_bind/zsock_connect with printf arguments', () => {
    const text = ['zsock_t *pub = zsock_new (ZMQ_PUB);', 'zsock_bind (pub, "tcp://*:%d", 5570);', 'zsock_t *sub = zsock_new (ZMQ_SUB);', 'zsock_connect (sub, "tcp://%s:%d", "localhost", 5570);'].join('\n');
    assert.deepEqual(rows(findEndpointsInText(text, 'c')), [
      [2, 'bind', 'tcp://*:5570', 'PUB', 'pub'],
      [4, 'connect', 'tcp://localhost:5570', 'SUB', 'sub'],
    ]);
  });

  it('skips what it cannot resolve instead of guessing', () => {
    const text = [
      'const zmq = require("zeromq");',
      'const sock = new zmq.Request();',
      'sock.connect(`tcp://127.0.0.1:${process.argv[2]}`);',
      'sock.connect("tcp://127.0.0.1:" + port);', // port never assigned
      'sock.connect("tcp://host-without-port");', // not a valid endpoint
      'sock.connect("ws://127.0.0.1:8080");', // unsupported transport
      'sock.connect(someUrl());',
      'const text = "sock.connect(\'tcp://127.0.0.1:7000\')";', // inside a string
    ].join('\n');
    assert.deepEqual(findEndpointsInText(text, 'javascript'), []);
  });

  it('masks comments but keeps strings that contain comment markers', () => {
    const js = 'a.bind("tcp://*:1"); // b.bind("tcp://*:2")\n/* c.bind("tcp://*:3") */ x';
    const masked = maskComments(js, 'javascript');
    assert.equal(masked.length, js.length);
    assert.ok(masked.includes('"tcp://*:1"'));
    assert.ok(!masked.includes('tcp://*:2') && !masked.includes('tcp://*:3'));
    assert.deepEqual(findEndpointsInText(js, 'javascript').map((h) => h.endpoint), ['tcp://*:1']);
    const py = 's.bind("tcp://*:1")  # s.bind("tcp://*:2")\n"""\ns.bind("tcp://*:3")\n"""\n';
    assert.deepEqual(findEndpointsInText(py, 'python').map((h) => h.endpoint), ['tcp://*:1']);
  });

  it('chooses spy, monitor or tap as fits the socket type', () => {
    const hit = (endpoint: string, socketType?: string, monitor?: boolean) => ({ endpoint, socketType, monitor });
    assert.equal(observeActionFor(hit('tcp://*:1', 'PUB')), 'spy');
    assert.equal(observeActionFor(hit('tcp://*:1', 'XPUB')), 'spy');
    assert.equal(observeActionFor(hit('tcp://localhost:1', 'SUB')), 'spy', 'a SUB connects to a publisher');
    assert.equal(observeActionFor(hit('tcp://*:1', 'PUB', true)), 'monitor');
    assert.equal(observeActionFor(hit('tcp://localhost:1', 'SUB'), new Set(['tcp://127.0.0.1:1'])), 'monitor', 'a SUB of a monitor PUB');
    for (const t of ['REQ', 'REP', 'PUSH', 'PULL', 'DEALER', 'ROUTER', 'PAIR', undefined]) assert.equal(observeActionFor(hit('tcp://*:1', t)), 'tap', String(t));
    assert.equal(observeActionFor(hit('ipc:///tmp/x', 'PUB')), 'spy');
    assert.equal(observeActionFor(hit('ipc:///tmp/x', 'REQ')), undefined, 'a tap relays TCP only');
    assert.equal(observeActionFor(hit('inproc://x', 'PUB')), undefined, 'inproc cannot be observed from outside');
    assert.equal(observableAddress('tcp://localhost:5556'), 'tcp://127.0.0.1:5556');
    assert.equal(observableAddress('tcp://0.0.0.0:5556'), 'tcp://127.0.0.1:5556');
    assert.equal(observableAddress('tcp://10.0.0.2:5556'), 'tcp://10.0.0.2:5556');
    assert.equal(observableAddress('nonsense'), undefined);
  });

  it('knows languages by VS Code id, file name and extension, and ignores others', () => {
    assert.equal(discoveryLanguage('python'), 'python');
    assert.equal(discoveryLanguage('/x/y/server.PY'), 'python');
    assert.equal(discoveryLanguage('typescriptreact'), 'typescript');
    assert.equal(discoveryLanguage('hpp'), 'cpp');
    assert.equal(discoveryLanguage('Program.cs'), 'csharp');
    assert.equal(discoveryLanguage('README.md'), undefined);
    assert.deepEqual(findEndpointsInText('s.bind("tcp://*:5556")', 'markdown'), []);
  });

  it('scans a large file quickly and never throws on garbage', () => {
    const program = readFileSync(join(SEEDS, 'monitored_queue.py'), 'utf8');
    const big = Array.from({ length: 100 }, () => program).join('\n'); // ~6,800 lines
    const started = performance.now();
    const hits = findEndpointsInText(big, 'python');
    const ms = performance.now() - started;
    assert.equal(hits.length, 500);
    assert.ok(ms < 3000, `took ${ms.toFixed(0)} ms`);
    const garbage = '((("\\\nbind(\'tcp://*:%s\' % (((((\n`${`\n/* x.connect("tcp://*:1"';
    for (const lang of ['python', 'javascript', 'c', 'go', 'csharp']) assert.doesNotThrow(() => findEndpointsInText(garbage, lang));
  });
});
