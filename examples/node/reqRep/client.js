'use strict';
// Request/reply, the REQ client connected to several servers at once: requests
// are dealt to the servers in turn, so the replies alternate.
// Usage: node client.js <interval ms> <connect endpoint> [<connect endpoint> ...]
const zmq = require('zeromq');
const { numArg, restArgs, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const intervalMs = numArg(0, 1000);
  const endpoints = restArgs(1);
  if (endpoints.length === 0) endpoints.push('tcp://127.0.0.1:5556');
  const socket = track(new zmq.Request());
  for (const endpoint of endpoints) socket.connect(endpoint);
  console.log(`client REQ connected to ${endpoints.join(' and ')}`);
  for (let request = 1; ; request++) {
    console.log(`sending request ${request} ...`);
    await socket.send('Hello');
    const [message] = await socket.receive();
    console.log(`received reply ${request} [ ${message} ]`);
    await sleep(intervalMs);
  }
});
