'use strict';
// Monitored queue, the REP server behind the device.
// Usage: node server.js <backend connect endpoint> [server id]
const zmq = require('zeromq');
const { arg, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5560');
  const serverId = arg(1, String(1 + Math.floor(Math.random() * 10004)));
  const socket = track(new zmq.Reply());
  socket.connect(endpoint);
  console.log(`Program: Server connecting to device at ${endpoint}`);
  for await (const [message] of socket) {
    console.log(`Server: Received - ${message}`);
    await socket.send(`Response from server #${serverId}`);
  }
});
