'use strict';
// Non-blocking push/pull, the server: pulls each value and processes it slowly
// (the seed sleeps 2 s per value); the client does not wait for it.
// Usage: node server.js <connect endpoint> [processing ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5559');
  const processingMs = numArg(1, 2000);
  const receiver = track(new zmq.Pull());
  receiver.connect(endpoint);
  console.log(`server PULL connected to ${endpoint}`);
  for await (const [msg] of receiver) {
    const s = msg.toString();
    console.log(`received ${s}`);
    await sleep(processingMs);
    console.log(`value: ${s}`);
  }
});
