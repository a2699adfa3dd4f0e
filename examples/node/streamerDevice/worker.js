'use strict';
// Streamer device, one task worker: PULLs tasks from the device's backend.
// Usage: node worker.js <backend connect endpoint> [worker id]
const zmq = require('zeromq');
const { arg, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5560');
  const consumerId = arg(1, String(1 + Math.floor(Math.random() * 10004)));
  const socket = track(new zmq.Pull());
  socket.connect(endpoint);
  console.log(`I am consumer ${consumerId}`);
  for await (const [msg] of socket) {
    const work = JSON.parse(msg.toString());
    console.log(`worker ${consumerId} received ${work.num}`);
  }
});
