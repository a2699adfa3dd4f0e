/**
 * `zmq-debug`: the headless command line over the same src/core as the extension.
 * Exit codes: 0 ok, 2 bad arguments (with the error on stderr), 1 runtime failure.
 */
import { libzmqVersion, productVersion } from '../core/zmq/version';
import { UsageError } from './errors';
import { subcommands } from './registry';
// Subcommand modules register themselves in ./registry when imported (one line each).
import './spy';
import './examples';
import './tap';
import './run';
import './read';

export { UsageError };

const USAGE = `zmq-debug ${productVersion()} — see every frame of a running ZeroMQ topology

Usage:
  zmq-debug --version            print the tool's and libzmq's versions
  zmq-debug help                 this text
`;

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v' || first === 'version') {
    process.stdout.write(`zmq-debug ${productVersion()}\n`);
    try {
      process.stdout.write(`libzmq ${libzmqVersion()}\n`);
    } catch (err) {
      process.stderr.write(`zmq-debug: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
    return 0;
  }
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(usage());
    return first === undefined ? 2 : 0;
  }
  const sub = [...subcommands].find(([name]) => name.split(' ')[0] === first)?.[1];
  if (!sub) {
    process.stderr.write(`zmq-debug: unknown command '${first}'\n\n${usage()}`);
    return 2;
  }
  try {
    return await sub.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`zmq-debug ${first}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`zmq-debug ${first}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

function usage(): string {
  const lines = [...subcommands].map(([name, s]) => `  zmq-debug ${name}\n      ${s.summary}`);
  return USAGE + (lines.length ? lines.join('\n') + '\n' : '');
}

if (require.main === module) {
  // A reader that goes away (`zmq-debug examples list | head -1`) ends us quietly with 0, like
  // `yes | head`. Commands that capture handle it themselves first (they close their sockets).
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (process.stdout.listenerCount('error') > 1) return;
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    process.stderr.write(`zmq-debug: stdout: ${e.message}\n`);
    process.exit(1);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`zmq-debug: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
