// PULL side of the pipeline: connects to ventilator.mjs and prints each job.
// Run: node worker.mjs [port]
import { Pull } from 'zeromq';

const port = Number(process.argv[2] ?? 5559);
const pull = new Pull();
pull.connect(`tcp://127.0.0.1:${port}`);
console.log(`pulling jobs from tcp://127.0.0.1:${port}`);
process.once('SIGINT', () => {
  pull.close();
  process.exit(0);
});
for await (const [msg] of pull) console.log(`worker got ${msg}`);
