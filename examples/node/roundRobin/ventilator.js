'use strict';
// Round robin, the PUSH side (seed: "Quick ZeroMQ Round Robin (push-pull) with
// Python"). PUSH deals messages to the connected PULL workers in turn; a worker
// that leaves gets nothing more, one that comes back gets its share again.
// Usage: node ventilator.js <bind endpoint> [interval ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:1234');
  const intervalMs = numArg(1, 500);
  const push = track(new zmq.Push());
  await push.bind(endpoint);
  console.log(`ventilator PUSH bound to ${endpoint}`);
  for (let x = 0; ; x++) {
    await push.send(`${x} , ${Date.now() / 1000}`);
    console.log(`sent ${x}`);
    await sleep(intervalMs);
  }
});
