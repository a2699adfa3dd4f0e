'use strict';
// Poller, the publisher: publishes "<topic> server#<id>" on topics 8 and 9.
// Usage: node publisher.js <bind endpoint> [publisher id] [interval ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5558');
  const publisherId = arg(1, String(Math.floor(Math.random() * 9999)));
  const intervalMs = numArg(2, 1000);
  const socket = track(new zmq.Publisher());
  await socket.bind(endpoint);
  console.log(`Running server on ${endpoint}`);
  for (;;) {
    const topic = 8 + Math.floor(Math.random() * 2);
    const messagedata = `server#${publisherId}`;
    console.log(`${topic} ${messagedata}`);
    await socket.send(`${topic} ${messagedata}`);
    await sleep(intervalMs);
  }
});
