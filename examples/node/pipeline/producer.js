'use strict';
// Pipeline, the producer (seed: "Learning ØMQ", Push/Pull): PUSHes {"num": n}
// work items to the consumers, which share them out.
// Usage: node producer.js <bind endpoint> [interval ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5557');
  const intervalMs = numArg(1, 500);
  const socket = track(new zmq.Push());
  await socket.bind(endpoint);
  console.log(`producer PUSH bound to ${endpoint}`);
  for (let num = 0; ; num++) {
    await socket.send(JSON.stringify({ num }));
    console.log(`producer sent ${num}`);
    await sleep(intervalMs);
  }
});
