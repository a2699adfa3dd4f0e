'use strict';
// Streamer device, the task feeder: PUSHes {"num": n} to the device's frontend.
// Usage: node feeder.js <frontend connect endpoint> [interval ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5559');
  const intervalMs = numArg(1, 1000);
  const socket = track(new zmq.Push());
  socket.connect(endpoint);
  console.log(`feeder PUSH connected to ${endpoint}`);
  for (let num = 0; ; num++) {
    await socket.send(JSON.stringify({ num }));
    console.log(`feeder sent ${num}`);
    await sleep(intervalMs);
  }
});
