'use strict';
// Pipeline, one consumer: PULLs work from the producer and PUSHes a result for
// every even number to the result collector.
// Usage: node consumer.js <work endpoint> <results endpoint> [consumer id]
const zmq = require('zeromq');
const { arg, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const workEndpoint = arg(0, 'tcp://127.0.0.1:5557');
  const resultsEndpoint = arg(1, 'tcp://127.0.0.1:5558');
  const consumerId = arg(2, String(1 + Math.floor(Math.random() * 10004)));
  console.log(`I am consumer #${consumerId}`);
  const receiver = track(new zmq.Pull());
  receiver.connect(workEndpoint);
  const sender = track(new zmq.Push());
  sender.connect(resultsEndpoint);
  for await (const [msg] of receiver) {
    const data = JSON.parse(msg.toString()).num;
    console.log(`consumer ${consumerId} received ${data}`);
    if (data % 2 === 0) await sender.send(JSON.stringify({ consumer: consumerId, num: data }));
  }
});
