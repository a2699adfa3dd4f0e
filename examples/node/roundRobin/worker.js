'use strict';
// Round robin, one PULL worker. Run several: each prints what it gets.
// Usage: node worker.js <connect endpoint> [worker number]
const zmq = require('zeromq');
const { arg, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:1234');
  const id = arg(1, String(process.pid));
  const pull = track(new zmq.Pull());
  pull.connect(endpoint);
  console.log(`worker ${id} PULL connected to ${endpoint}`);
  for await (const [msg] of pull) {
    const x = msg.toString().split(' , ')[0];
    console.log(`worker ${id} received ${x}`);
  }
});
