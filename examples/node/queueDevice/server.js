'use strict';
// Queue device, one REP server: connects to the device's backend instead of
// binding a well-known port of its own.
// Usage: node server.js <backend connect endpoint> [server id] [reply delay ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5560');
  const serverId = arg(1, String(1 + Math.floor(Math.random() * 10004)));
  const delayMs = numArg(2, 1000);
  const socket = track(new zmq.Reply());
  socket.connect(endpoint);
  console.log(`server ${serverId} REP connected to ${endpoint}`);
  for await (const [message] of socket) {
    console.log(`server ${serverId} received request: ${message}`);
    await sleep(delayMs);
    await socket.send(`World from server ${serverId}`);
  }
});
