'use strict';
// Retrying request client (seed: "Pyzmq - not a lot of best practices"). It sends
// a request and waits for the reply with a timeout; each timeout uses up one
// retry; when none are left it closes the socket, opens a new one, reconnects
// and sends the request again. A REQ socket cannot send again before it got its
// reply, so a new socket is the only way out of a lost request.
// Usage: node client.js <connect endpoint> [timeout ms] [retries] [interval ms]
const zmq = require('zeromq');
const { arg, numArg, sleep, onStop, run, isStopping } = require('../lib/exampleRuntime');

run(async () => {
  const endpoint = arg(0, 'tcp://127.0.0.1:5555');
  const timeoutMs = numArg(1, 2500);
  const retries = Math.max(1, numArg(2, 3));
  const intervalMs = numArg(3, 1000);

  const open = () => {
    const socket = new zmq.Request({ receiveTimeout: timeoutMs, linger: 0 });
    socket.connect(endpoint);
    return socket;
  };
  let socket = open();
  onStop(() => socket.close());
  console.log(`client REQ connected to ${endpoint}`);
  for (let n = 1; ; n++) {
    const request = `request ${n}`;
    console.log(`sending ${request}`);
    await socket.send(request);
    let retriesLeft = retries;
    for (;;) {
      try {
        const [reply] = await socket.receive();
        console.log(`received reply ${n} [ ${reply} ]`);
        break;
      } catch (err) {
        if (isStopping() || err.code !== 'EAGAIN') throw err;
        retriesLeft--;
        console.log(`no reply within ${timeoutMs} ms (retries left ${retriesLeft})`);
        if (retriesLeft > 0) continue;
        console.log('closing socket and reconnecting');
        socket.close();
        socket = open();
        console.log(`resending ${request}`);
        await socket.send(request);
        retriesLeft = retries;
      }
    }
    await sleep(intervalMs);
  }
});
