// PUSH side of a pipeline in zeromq.js: binds and hands out numbered jobs, one a
// second, round-robin to every connected worker.mjs.
// Run: node ventilator.mjs [port]   (from this folder; zeromq comes from the repo)
import { Push } from 'zeromq';

const port = Number(process.argv[2] ?? 5559);
const push = new Push();
await push.bind(`tcp://127.0.0.1:${port}`);
console.log(`pushing jobs on tcp://127.0.0.1:${port} (Ctrl-C to stop)`);
process.once('SIGINT', () => {
  push.close();
  process.exit(0);
});
for (let job = 0; ; job++) {
  await push.send(`job ${job}`);
  await new Promise((r) => setTimeout(r, 1000));
}
