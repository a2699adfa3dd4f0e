'use strict';
// Queue device (seed: "Learning ØMQ", ØMQ Devices / Queue): a ROUTER facing the
// clients and a DEALER facing the servers, joined by a proxy. Clients and
// servers both connect; the device is the stable point of the topology.
// Usage: node device.js <frontend bind endpoint> <backend bind endpoint>
const zmq = require('zeromq');
const { arg, onStop, run } = require('../lib/exampleRuntime');

run(async () => {
  const frontendEndpoint = arg(0, 'tcp://127.0.0.1:5559');
  const backendEndpoint = arg(1, 'tcp://127.0.0.1:5560');
  const proxy = new zmq.Proxy(new zmq.Router({ linger: 0 }), new zmq.Dealer({ linger: 0 }));
  await proxy.frontEnd.bind(frontendEndpoint);
  await proxy.backEnd.bind(backendEndpoint);
  onStop(() => proxy.terminate());
  console.log(`queue device: ROUTER ${frontendEndpoint} <-> DEALER ${backendEndpoint}`);
  await proxy.run();
});
