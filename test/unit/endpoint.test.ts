import { strict as assert } from 'node:assert';
import { connectAddressFor, EndpointError, parseEndpoint, parseHostPort, validateEndpoint } from '../../src/core/zmq/endpoint';

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
});
