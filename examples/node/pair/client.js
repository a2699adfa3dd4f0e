'use strict';
// PAIR, the connecting peer: receives one message, sends two.
// Usage: node client.js <connect endpoint> [interval ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5556');
  const intervalMs = numArg(1, 1000);
  const socket = track(new zmq.Pair());
  socket.connect(endpoint);
  console.log(`client PAIR connected to ${endpoint}`);
  for (;;) {
    const [msg] = await socket.receive();
    console.log(`client received: ${msg}`);
    await socket.send('client message to server1');
    await socket.send('client message to server2');
    await sleep(intervalMs);
  }
});
