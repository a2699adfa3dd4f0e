'use strict';
// Forwarder device, a subscriber: connects to the device's backend and gets the
// messages of every publisher for its topic.
// Usage: node subscriber.js <backend connect endpoint> [topic]
const zmq = require('zeromq');
const { arg, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5560');
  const topicfilter = arg(1, '9');
  const socket = track(new zmq.Subscriber());
  socket.connect(endpoint);
  socket.subscribe(topicfilter);
  console.log(`Collecting updates from ${endpoint}, topic '${topicfilter}'`);
  for await (const [msg] of socket) {
    const [topic, messagedata] = msg.toString().split(' ');
    console.log(`${topic} ${messagedata}`);
  }
});
