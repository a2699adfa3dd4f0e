'use strict';
// Retrying request client, the server: a plain REP server. Stop and restart it
// while the client runs to see the client time out, reconnect and carry on.
// Usage: node server.js <bind endpoint> [reply delay ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5555');
  const delayMs = numArg(1, 0);
  const socket = track(new zmq.Reply());
  await socket.bind(endpoint);
  console.log(`server REP bound to ${endpoint}`);
  for await (const [request] of socket) {
    console.log(`server received ${request}`);
    if (delayMs) await sleep(delayMs);
    await socket.send(`reply to ${request}`);
  }
});
