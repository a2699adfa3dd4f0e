'use strict';
// Publish/subscribe, a subscriber connected to several publishers at once with
// one topic filter; their messages arrive interleaved. Prints a running average
// every 5 updates, as the seed does.
// Usage: node subscriber.js <topic> <connect endpoint> [<connect endpoint> ...]
const zmq = require('zeromq');
const { arg, restArgs, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const topicfilter = arg(0, '10001');
  const endpoints = restArgs(1);
  if (endpoints.length === 0) endpoints.push('tcp://127.0.0.1:5556');
  const socket = track(new zmq.Subscriber());
  for (const endpoint of endpoints) socket.connect(endpoint);
  socket.subscribe(topicfilter);
  console.log(`subscriber SUB connected to ${endpoints.join(' and ')}, topic '${topicfilter}'`);
  let total = 0;
  let updates = 0;
  for await (const [msg] of socket) {
    const [topic, messagedata, from] = msg.toString().split(' ');
    total += Number(messagedata);
    updates++;
    console.log(`${topic} ${messagedata} from ${from}`);
    if (updates % 5 === 0) console.log(`average for topic '${topicfilter}' after ${updates} updates: ${(total / updates).toFixed(1)}`);
  }
});
