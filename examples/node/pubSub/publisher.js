'use strict';
// Publish/subscribe, one publisher (seed: "Learning ØMQ", Publish/Subscribe).
// Publishes "<topic> <data> <name>" with topics 9999..10004; subscribers filter
// on the topic prefix. Run two and connect one subscriber to both.
// Usage: node publisher.js <bind endpoint> [name] [interval ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

const randrange = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo));

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5556');
  const name = arg(1, endpoint.split(':').pop());
  const intervalMs = numArg(2, 1000);
  const socket = track(new zmq.Publisher());
  await socket.bind(endpoint);
  console.log(`publisher ${name} PUB bound to ${endpoint}`);
  for (;;) {
    const topic = randrange(9999, 10005);
    const messagedata = randrange(1, 215) - 80;
    console.log(`publisher ${name} sent ${topic} ${messagedata}`);
    await socket.send(`${topic} ${messagedata} ${name}`);
    await sleep(intervalMs);
  }
});
