import { strict as assert } from 'node:assert';
import { killAllPython, runPython } from './helpers/peers';

describe('test peers', () => {
  afterEach(killAllPython);

  it('Debian pyzmq is available as an independent peer', async () => {
    const p = runPython('import zmq; print("pyzmq", zmq.__version__, "libzmq", zmq.zmq_version(), flush=True)');
    await p.waitFor(/libzmq \d+\.\d+\.\d+/);
    assert.equal(await p.exited, 0);
  });
});
