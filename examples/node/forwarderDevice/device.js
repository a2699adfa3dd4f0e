'use strict';
// Forwarder device (seed: "Learning ØMQ", ØMQ Devices / Forwarder): a SUB facing
// the publishers, subscribed to everything, and a PUB facing the subscribers,
// joined by a proxy. Publishers and subscribers both connect to it.
// Usage: node device.js <frontend bind endpoint> <backend bind endpoint>
const zmq = require('zeromq');
const { arg, onStop, run } = require('../lib/exampleRuntime');

run(async () => {
  const frontendEndpoint = arg(0, 'tcp://127.0.0.1:5559');
  const backendEndpoint = arg(1, 'tcp://127.0.0.1:5560');
  const frontend = new zmq.Subscriber({ linger: 0 });
  // No filtering in the device: every subscriber must be able to get every message.
  frontend.subscribe();
  const proxy = new zmq.Proxy(frontend, new zmq.Publisher({ linger: 0 }));
  await proxy.frontEnd.bind(frontendEndpoint);
  await proxy.backEnd.bind(backendEndpoint);
  onStop(() => proxy.terminate());
  console.log(`forwarder device: SUB ${frontendEndpoint} -> PUB ${backendEndpoint}`);
  await proxy.run();
});
