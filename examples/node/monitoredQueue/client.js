'use strict';
// Monitored queue, one REQ client in front of the device.
// Usage: node client.js <frontend connect endpoint> [client id] [interval ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5559');
  const clientId = arg(1, '0');
  const intervalMs = numArg(2, 1000);
  const socket = track(new zmq.Request());
  socket.connect(endpoint);
  console.log(`Program: Worker # ${clientId} connecting to device at ${endpoint}`);
  for (let requestNum = 1; ; requestNum++) {
    await socket.send(`Request #${requestNum} from client #${clientId}`);
    const message = await socket.receive();
    console.log(`Client ${clientId}: Received - ${message.map(String).join(' | ')}`);
    await sleep(intervalMs);
  }
});
