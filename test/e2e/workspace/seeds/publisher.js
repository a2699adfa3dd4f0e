// zeromq.js v6 publisher: the port is a constant, the endpoint a template literal.
const zmq = require('zeromq');

const port = 5556;

async function main() {
  const sock = new zmq.Publisher();
  await sock.bind(`tcp://127.0.0.1:${port}`);
  // await sock.bind('tcp://127.0.0.1:9100'); (disabled)
  for (;;) {
    await sock.send(['kitty cats', 'meow!']);
    await new Promise((r) => setTimeout(r, 500));
  }
}

main();
