'use strict';
// Monitored queue (seed: "Learning ØMQ", PyZmq Devices / Monitor Queue): a queue
// device (ROUTER <-> DEALER) that also publishes every message it relays on a
// third, PUB socket, prefixed with a frame saying which way it went: 'in' for
// client -> server, 'out' for server -> client (pyzmq's monitored_queue format).
// zeromq.js has no monitored_queue, so the relay is written out here.
// Usage: node device.js <frontend bind> <backend bind> <monitor bind> [in prefix] [out prefix]
const zmq = require('zeromq');
const { arg, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const frontendEndpoint = arg(0, 'tcp://127.0.0.1:5559');
  const backendEndpoint = arg(1, 'tcp://127.0.0.1:5560');
  const monitorEndpoint = arg(2, 'tcp://127.0.0.1:5562');
  const inPrefix = arg(3, 'in');
  const outPrefix = arg(4, 'out');
  const frontend = track(new zmq.Router());
  const backend = track(new zmq.Dealer());
  const monitor = track(new zmq.Publisher());
  await frontend.bind(frontendEndpoint);
  await backend.bind(backendEndpoint);
  await monitor.bind(monitorEndpoint);
  console.log(`monitored queue: ROUTER ${frontendEndpoint} <-> DEALER ${backendEndpoint}, monitor PUB ${monitorEndpoint}`);

  // Only one send may be in flight per zeromq.js socket: both relays publish
  // through this chain.
  let published = Promise.resolve();
  const publish = (frames) => (published = published.then(() => monitor.send(frames)));

  const relay = async (from, to, prefix) => {
    for await (const frames of from) {
      await publish([prefix, ...frames]);
      await to.send(frames);
    }
  };
  await Promise.all([relay(frontend, backend, inPrefix), relay(backend, frontend, outPrefix)]);
});
