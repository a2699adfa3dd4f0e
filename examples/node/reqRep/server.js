'use strict';
// Request/reply, one REP server (seed: "Learning ØMQ", Client / Server). Run two
// on two ports: a REQ client connected to both alternates between them.
// Usage: node server.js <bind endpoint> [reply delay ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5556');
  const delayMs = numArg(1, 1000);
  const port = endpoint.split(':').pop();
  const socket = track(new zmq.Reply());
  await socket.bind(endpoint);
  console.log(`server REP bound to ${endpoint}`);
  for await (const [request] of socket) {
    console.log(`server ${port} received request: ${request}`);
    await sleep(delayMs);
    await socket.send(`World from ${port}`);
  }
});
