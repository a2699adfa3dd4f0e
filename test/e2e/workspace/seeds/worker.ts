// TypeScript, zeromq.js v6: a pull worker that reports to a sink.
import * as zmq from 'zeromq';

const VENTILATOR = process.env.VENTILATOR ?? 'tcp://127.0.0.1:5557';
const sinkPort: number = 5558;

export async function work(): Promise<void> {
  const receiver = new zmq.Pull();
  receiver.connect(VENTILATOR);
  const sender = new zmq.Push();
  sender.connect('tcp://127.0.0.1:' + sinkPort);
  for await (const [msg] of receiver) {
    await sender.send(msg);
  }
}
