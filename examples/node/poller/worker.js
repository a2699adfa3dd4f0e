'use strict';
// Poller, the worker: waits on two sockets at once, a PULL for control commands
// and a SUB (topic "9") for data, and stops on "Exit". zeromq.js has no poll();
// the equivalent is one pending receive() per socket, raced: whichever socket
// has a message first is handled, and only that socket's receive is renewed.
// Usage: node worker.js <control connect endpoint> <data connect endpoint> [topic]
const zmq = require('zeromq');
const { arg, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const controlEndpoint = arg(0, 'tcp://127.0.0.1:5556');
  const dataEndpoint = arg(1, 'tcp://127.0.0.1:5558');
  const topicfilter = arg(2, '9');
  const socketPull = track(new zmq.Pull());
  socketPull.connect(controlEndpoint);
  console.log(`Connected to server at ${controlEndpoint}`);
  const socketSub = track(new zmq.Subscriber());
  socketSub.connect(dataEndpoint);
  socketSub.subscribe(topicfilter);
  console.log(`Connected to publisher at ${dataEndpoint}`);

  const next = (socket) => socket.receive().then((frames) => ({ socket, frames }));
  const pending = new Map([
    [socketPull, next(socketPull)],
    [socketSub, next(socketSub)],
  ]);
  for (;;) {
    const { socket, frames } = await Promise.race(pending.values());
    pending.set(socket, next(socket));
    const message = frames[0].toString();
    if (socket === socketPull) {
      console.log(`Received control command: ${message}`);
      if (message === 'Exit') {
        console.log('Received exit command, client will stop receiving messages');
        break;
      }
    } else {
      const [topic, messagedata] = message.split(' ');
      console.log(`Processing ... ${topic} ${messagedata}`);
    }
  }
});
