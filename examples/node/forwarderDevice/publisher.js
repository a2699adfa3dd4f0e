'use strict';
// Forwarder device, one publisher: a PUB that connects to the device's frontend.
// Publishes "<topic> server#<id>" with topics 1..9.
// Usage: node publisher.js <frontend connect endpoint> [publisher id] [interval ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5559');
  const publisherId = arg(1, String(Math.floor(Math.random() * 9999)));
  const intervalMs = numArg(2, 1000);
  const socket = track(new zmq.Publisher());
  socket.connect(endpoint);
  console.log(`publisher ${publisherId} PUB connected to ${endpoint}`);
  for (;;) {
    const topic = 1 + Math.floor(Math.random() * 9);
    const messagedata = `server#${publisherId}`;
    console.log(`${topic} ${messagedata}`);
    await socket.send(`${topic} ${messagedata}`);
    await sleep(intervalMs);
  }
});
