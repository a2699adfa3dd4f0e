'use strict';
// Poller, the command server (seed: "Learning ØMQ", Polling and Sockets / ZMQ
// Poller): PUSHes "Continue" a number of times, then "Exit", then stops.
// Usage: node control.js <bind endpoint> [number of Continue] [interval ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5556');
  const continues = numArg(1, 6);
  const intervalMs = numArg(2, 1000);
  const socket = track(new zmq.Push());
  await socket.bind(endpoint);
  console.log(`Running server on ${endpoint}`);
  for (let reqnum = 0; reqnum < continues; reqnum++) {
    await socket.send('Continue');
    console.log('sent control command: Continue');
    await sleep(intervalMs);
  }
  await socket.send('Exit');
  console.log('sent control command: Exit');
  // Give the last message time to leave before the socket closes with linger 0.
  await sleep(500);
});
