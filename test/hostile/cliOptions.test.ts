/**
 * Numeric options of every zmq-debug command, as a careless user types them:
 * too big for a timer, too many digits, negative, fractional, exponent, NaN,
 * Infinity. Each is refused before anything opens: exit 2 with the option,
 * the allowed range and the value (abbreviated when long), no stack trace, no
 * Node warning. The largest allowed --timeout still waits.
 */
import { strict as assert } from 'node:assert';
import { main } from '../../src/cli/main';
import { runCli } from '../unit/helpers/cli';
import { cliWithin } from './helpers/hostileCli';

const SPY = ['spy', 'tcp://127.0.0.1:9'];
const MONITOR = ['monitor', 'tcp://127.0.0.1:9'];
const TAP = ['tap', '--target', '127.0.0.1:9', '--listen', '127.0.0.1:0'];
const EXAMPLES = ['examples', 'run', 'pub-sub'];
const RUN = ['run'];
const digits400 = '7'.repeat(400);

/** [command, option, value, what stderr must say]. */
const cases: [string[], string, string, RegExp][] = [];
const intRange = (name: string, min: number) => new RegExp(`--${name} must be a whole number in \\[${min}, 9007199254740991\\]`);
const secondsRange = (name: string) => new RegExp(`--${name} must be a number of seconds in \\(0, 2147483\\.647\\]`);
for (const cmd of [SPY, MONITOR, TAP]) {
  for (const name of ['count', 'max-messages', 'max-bytes']) {
    for (const v of [digits400, '9007199254740992', '-1', '0', '1.5', '1e3', 'NaN', 'Infinity', '0x10', ' 5', '']) cases.push([cmd, name, v, intRange(name, 1)]);
  }
  for (const v of ['3000000', '2147483.648', digits400, '0', '-1', '1e3', 'Infinity', 'NaN', '.5', '']) cases.push([cmd, 'timeout', v, secondsRange('timeout')]);
}
for (const v of [digits400, '-1', '1.5']) cases.push([TAP, 'max-frame-bytes', v, intRange('max-frame-bytes', 0)]);
for (const v of ['3000000', digits400, '0']) cases.push([EXAMPLES, 'seconds', v, secondsRange('seconds')]);
for (const v of ['2147483648', digits400, '9', '-10']) cases.push([EXAMPLES, 'interval', v, /--interval must be a whole number in \[10, 2147483647\]/]);
// run's options come before the program's command (`-- true` is appended below); 0 is allowed there
for (const v of ['3000000', '2147483.648', digits400, '-1', '1e3', 'soon', '']) cases.push([RUN, 'wait-exits', v, /--wait-exits must be a number of seconds in \[0, 2147483\.647\]/]);

/** main() of the CLI in this process (fast: a bad option is refused before anything opens), its stderr collected. */
async function mainInProcess(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    // a value taken as valid starts the command, which then runs on: a failure, reported as such
    const ran = new Promise<number>((r) => setTimeout(() => r(-1), 10000).unref());
    return { code: await Promise.race([main(argv), ran]), stderr };
  } finally {
    process.stderr.write = write;
  }
}

describe('hostile input: numeric options of every command', function () {
  this.timeout(120000);

  it(`${cases.length} bad values: exit 2 with the option, the range and the value, before anything opens`, async () => {
    const failures: string[] = [];
    for (const [cmd, name, value, re] of cases) {
      const r = await mainInProcess([...cmd, `--${name}=${value}`, ...(cmd === RUN ? ['--', 'true'] : [])]);
      const line = `${cmd[0]} --${name}=${value.length > 30 ? value.slice(0, 10) + '…' : value}`;
      if (r.code !== 2) failures.push(`${line}: exit ${r.code}, stderr ${r.stderr.slice(0, 200)}`);
      else if (!re.test(r.stderr)) failures.push(`${line}: stderr ${r.stderr.slice(0, 200)}`);
      else if (/\n\s+at /.test(r.stderr)) failures.push(`${line}: a stack trace: ${r.stderr.slice(0, 300)}`);
      else if (value.length > 100 && r.stderr.length > 300) failures.push(`${line}: the long value printed whole`);
    }
    assert.deepEqual(failures, []);
  });

  for (const [cmd, name, value, re] of [
    [SPY, 'timeout', '3000000', secondsRange('timeout')],
    [TAP, 'max-messages', digits400, intRange('max-messages', 1)],
  ] as const) {
    it(`the real process: ${cmd[0]} --${name} ${value.slice(0, 10)}${value.length > 10 ? '…' : ''} exits 2 with the reason, no Node warning`, async () => {
      const r = await cliWithin([...cmd, `--${name}`, value], 30000);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /Warning|\n\s+at /);
    });
  }

  it('the longest allowed --timeout (2147483.647 s) waits, with no overflow warning, until Ctrl-C', async () => {
    const run = runCli([...SPY, '--timeout', '2147483.647']);
    const early = await Promise.race([run.code, new Promise((r) => setTimeout(() => r('running'), 3000))]);
    assert.equal(early, 'running', `ended at once: ${run.err()}`);
    assert.equal(await run.stop(), 0, run.err());
    assert.doesNotMatch(run.err(), /TimeoutOverflowWarning/);
  });
});
