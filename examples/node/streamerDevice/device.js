'use strict';
// Streamer device (seed: "Learning ØMQ", ØMQ Devices / Streamer): a PULL facing
// the task feeders and a PUSH facing the workers, joined by a proxy.
// Usage: node device.js <frontend bind endpoint> <backend bind endpoint>
const zmq = require('zeromq');
const { arg, onStop, run } = require('../lib/exampleRuntime');

run(async () => {
  const frontendEndpoint = arg(0, 'tcp://127.0.0.1:5559');
  const backendEndpoint = arg(1, 'tcp://127.0.0.1:5560');
  const proxy = new zmq.Proxy(new zmq.Pull({ linger: 0 }), new zmq.Push({ linger: 0 }));
  await proxy.frontEnd.bind(frontendEndpoint);
  await proxy.backEnd.bind(backendEndpoint);
  onStop(() => proxy.terminate());
  console.log(`streamer device: PULL ${frontendEndpoint} -> PUSH ${backendEndpoint}`);
  await proxy.run();
});
