'use strict';
// Non-blocking push/pull, the client (seed: "Simple, Non-blocking, Push/Pull
// Example with ZeroMQ"). It pushes values and never waits for an answer, so it
// keeps sending while the server is still busy with earlier values.
// Usage: node client.js <bind endpoint> [interval ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5559');
  const intervalMs = numArg(1, 500);
  const sender = track(new zmq.Push());
  await sender.bind(endpoint);
  console.log(`client PUSH bound to ${endpoint}`);
  for (let i = 0; ; i++) {
    console.log(`sending ${i}`);
    await sender.send(String(i));
    await sleep(intervalMs);
  }
});
