'use strict';
// PAIR, the binding peer (seed: "Learning ØMQ", PAIR). Exactly one peer, messages
// both ways, no request/reply lockstep.
// Usage: node server.js <bind endpoint> [interval ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5556');
  const intervalMs = numArg(1, 1000);
  const socket = track(new zmq.Pair());
  await socket.bind(endpoint);
  console.log(`server PAIR bound to ${endpoint}`);
  for (;;) {
    await socket.send('Server message to client3');
    const [msg] = await socket.receive();
    console.log(`server received: ${msg}`);
    await sleep(intervalMs);
  }
});
