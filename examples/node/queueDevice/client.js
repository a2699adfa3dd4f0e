'use strict';
// Queue device, one REQ client: unchanged from plain request/reply, it just
// connects to the device's frontend. Requests are shared out among the servers.
// Usage: node client.js <frontend connect endpoint> [client id] [interval ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5559');
  const clientId = arg(1, String(1 + Math.floor(Math.random() * 10004)));
  const intervalMs = numArg(2, 1000);
  const socket = track(new zmq.Request());
  socket.connect(endpoint);
  console.log(`client ${clientId} REQ connected to ${endpoint}`);
  for (let request = 1; ; request++) {
    console.log(`client ${clientId} sending request ${request} ...`);
    await socket.send(`Hello from ${clientId}`);
    const [message] = await socket.receive();
    console.log(`client ${clientId} received reply ${request} [ ${message} ]`);
    await sleep(intervalMs);
  }
});
