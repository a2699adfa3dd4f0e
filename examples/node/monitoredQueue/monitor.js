'use strict';
// Monitored queue, the monitoring client: subscribes to everything on the
// device's monitor PUB and prints each relayed message, frame by frame
// (the ROUTER identity frame is binary and shows as hex).
// Usage: node monitor.js <monitor connect endpoint>
const zmq = require('zeromq');
const { arg, show, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5562');
  const socket = track(new zmq.Subscriber());
  socket.connect(endpoint);
  socket.subscribe();
  console.log(`Collecting updates from ${endpoint}`);
  for await (const frames of socket) {
    console.log(`Monitoring Client: [${frames.map(show).join(' | ')}]`);
  }
});
