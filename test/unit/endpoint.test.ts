import { strict as assert } from 'node:assert';
import { hostname } from 'node:os';
import { connectAddressFor, EndpointError, parseEndpoint, parseHostPort, validateEndpoint } from '../../src/core/zmq/endpoint';
import { endpointKey, endpointPort, isLocalHost } from '../../src/core/zmq/endpointIdentity';

describe('endpoint', () => {
  it('parses the accepted forms', () => {
    assert.deepEqual(parseEndpoint('tcp://localhost:5556'), { transport: 'tcp', host: 'localhost', port: 5556, wildcard: false, text: 'tcp://localhost:5556' });
    assert.equal(parseEndpoint('tcp://*:5556').transport, 'tcp');
    assert.equal((parseEndpoint('tcp://*:5556') as { wildcard: boolean }).wildcard, true);
    assert.equal(parseEndpoint(' tcp://[::1]:7000 ').text, 'tcp://[::1]:7000');
    assert.deepEqual(parseEndpoint('ipc:///tmp/feed.ipc'), { transport: 'ipc', path: '/tmp/feed.ipc', text: 'ipc:///tmp/feed.ipc' });
    assert.deepEqual(parseEndpoint('inproc://workers'), { transport: 'inproc', name: 'workers', text: 'inproc://workers' });
  });

  it('gives a precise message for each kind of bad input', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['   ', /empty/],
      ['tcp://host', /missing port/],
      ['tcp://host:0', /port 0 is out of range \(1-65535\)/],
      ['tcp://host:65536', /port 65536 is out of range/],
      ['tcp://host:abc', /port 'abc' is not a number/],
      ['tcp://:5556', /missing host/],
      ['tcp://*:*', /wildcard port/],
      ['tcp://::1:5556', /IPv6 address must be in brackets/],
      ['tcp://[::1:5556', /closing '\]'/],
      ['foo://x:1', /unknown transport 'foo'/],
      ['pgm://eth0;239.192.1.1:5555', /pgm:\/\/ transport is not supported/],
      ['localhost:5556', /did you mean tcp:\/\/localhost:5556/],
      ['ipc://', /needs a path/],
      ['nonsense', /expected transport:\/\/address/],
    ];
    for (const [input, re] of cases) {
      assert.throws(() => parseEndpoint(input), (e: unknown) => e instanceof EndpointError && re.test(e.message), input);
      assert.match(validateEndpoint(input) ?? '', re, input);
    }
    assert.equal(validateEndpoint('tcp://127.0.0.1:1'), undefined);
  });

  it('maps bind forms to a connectable address and explains inproc', () => {
    assert.equal(connectAddressFor('tcp://*:5556'), 'tcp://127.0.0.1:5556');
    assert.equal(connectAddressFor('tcp://0.0.0.0:5556'), 'tcp://127.0.0.1:5556');
    assert.equal(connectAddressFor('tcp://10.0.0.2:5556'), 'tcp://10.0.0.2:5556');
    assert.throws(() => connectAddressFor('inproc://workers'), /only reachable by sockets inside the same process/);
  });

  it('parses host:port for the tap', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:6000'), { host: '127.0.0.1', port: 6000 });
    assert.deepEqual(parseHostPort('6000'), { host: '127.0.0.1', port: 6000 });
    assert.deepEqual(parseHostPort('tcp://[::1]:6000'), { host: '::1', port: 6000 });
    assert.throws(() => parseHostPort('127.0.0.1:99999'), /out of range/);
  });

  describe('one identity: endpointKey', () => {
    it('every name of this machine is one tcp host: loopback, 127.x, ::1, the wildcards and the host name', () => {
      const names = ['localhost', 'LOCALHOST', '127.0.0.1', '127.0.1.1', '[::1]', '0.0.0.0', '*', '[::]', hostname(), hostname().toUpperCase()];
      for (const h of names) assert.equal(endpointKey(`tcp://${h}:5556`), 'tcp://*:5556', h);
      assert.ok(isLocalHost(hostname()));
      assert.ok(!isLocalHost('198.51.100.7'));
    });

    it('keeps other hosts (lower-cased) and the port apart', () => {
      assert.equal(endpointKey('tcp://198.51.100.7:5556'), 'tcp://198.51.100.7:5556');
      assert.equal(endpointKey('tcp://Feed.Example.COM:5556'), 'tcp://feed.example.com:5556');
      assert.notEqual(endpointKey('tcp://localhost:5556'), endpointKey('tcp://localhost:5557'));
      assert.notEqual(endpointKey('tcp://localhost:5556'), endpointKey('tcp://198.51.100.7:5556'));
    });

    it('resolves a relative ipc:// path against the program\'s cwd; absolute and abstract paths stay', () => {
      assert.equal(endpointKey('ipc://feed.sock', { cwd: '/srv/app' }), 'ipc:///srv/app/feed.sock');
      assert.equal(endpointKey('ipc://feed.sock', { cwd: '/srv/app' }), endpointKey('ipc:///srv/app/feed.sock', { cwd: '/home/x' }));
      assert.notEqual(endpointKey('ipc://feed.sock', { cwd: '/srv/app' }), endpointKey('ipc://feed.sock', { cwd: '/srv/other' }));
      assert.equal(endpointKey('ipc://@abstract', { cwd: '/srv/app' }), 'ipc://@abstract');
      // without a context: as written
      assert.equal(endpointKey('ipc://feed.sock'), 'ipc://feed.sock');
    });

    it('makes inproc:// one process\'s address when the pid is known', () => {
      const a = endpointKey('inproc://work', { session: 's1', pid: 10 });
      assert.equal(a, endpointKey('inproc://work', { session: 's1', pid: 10, cwd: '/x' }));
      assert.notEqual(a, endpointKey('inproc://work', { session: 's1', pid: 11 }));
      assert.notEqual(a, endpointKey('inproc://work', { session: 's2', pid: 10 }));
      assert.notEqual(a, endpointKey('inproc://other', { session: 's1', pid: 10 }));
      assert.equal(endpointKey('inproc://work'), 'inproc://work');
    });

    it('keys what does not parse as itself, and gives tcp ports', () => {
      assert.equal(endpointKey('  not an endpoint '), 'not an endpoint');
      assert.equal(endpointPort('tcp://*:5556'), 5556);
      assert.equal(endpointPort('ipc:///tmp/x'), undefined);
      assert.equal(endpointPort('nonsense'), undefined);
    });
  });
});
