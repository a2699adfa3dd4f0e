import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = join(__dirname, '..', '..', 'dist', 'cli.js');

describe('zmq-debug CLI', () => {
  it('--version prints its own and libzmq 4.3.5 versions', async () => {
    const { stdout } = await run(process.execPath, [cli, '--version']);
    const pkg = require('../../package.json');
    assert.match(stdout, new RegExp(`^zmq-debug ${pkg.version.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(stdout, /^libzmq 4\.3\.5$/m);
  });

  it('exits 2 with a clear error on an unknown command', async () => {
    await assert.rejects(run(process.execPath, [cli, 'nope']), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /unknown command 'nope'/);
      return true;
    });
  });
});
