'use strict';
// Pipeline, the result collector: PULLs results from every consumer and counts
// them per consumer, printing the distribution every few results.
// Usage: node collector.js <bind endpoint> [report every N results]
const zmq = require('zeromq');
const { arg, numArg, track, run } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5558');
  const every = Math.max(1, numArg(1, 10));
  const socket = track(new zmq.Pull());
  await socket.bind(endpoint);
  console.log(`collector PULL bound to ${endpoint}`);
  const collectorData = {};
  let received = 0;
  for await (const [msg] of socket) {
    const result = JSON.parse(msg.toString());
    collectorData[result.consumer] = (collectorData[result.consumer] ?? 0) + 1;
    received++;
    console.log(`result ${result.num} from consumer ${result.consumer}`);
    if (received % every === 0) console.log(`totals ${JSON.stringify(collectorData)}`);
  }
});
