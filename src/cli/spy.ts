/** `zmq-debug spy` and `zmq-debug monitor`: the PUB spy and the monitor spy on the command line. */
import { MonitorSpy, PubSpy } from '../core/sessions/spy';
import { parseTopic } from '../core/zmq/topics';
import { flag, flagList, has, intFlag, parseArgs, PRINT_FLAGS, secondsFlag } from './args';
import { CAPTURE_FLAGS, CAPTURE_FLAGS_HELP, captureFromFlags, runAndPrint } from './captureRunner';
import { DECODE_FLAG, DECODE_HELP, decoderFromArgs } from './decodeOption';
import { UsageError } from './errors';
import { registerSubcommand } from './registry';

const COMMON = { ...PRINT_FLAGS, timeout: { type: 'string' }, ...CAPTURE_FLAGS, ...DECODE_FLAG } as const;

registerSubcommand('spy <endpoint>...', `print what PUB endpoints publish [--topic T]... [--count N] [--timeout SEC] [--json] ${CAPTURE_FLAGS_HELP} ${DECODE_HELP}`, async (args) => {
  const p = parseArgs(args, { ...COMMON, topic: { type: 'list' } });
  if (p.positional.length === 0) throw new UsageError('give at least one endpoint, e.g. zmq-debug spy tcp://127.0.0.1:5556');
  const topics = flagList(p, 'topic').map((t) => {
    try {
      return parseTopic(t);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });
  const decoder = decoderFromArgs(p);
  const count = intFlag(p, 'count');
  const timeoutSec = secondsFlag(p, 'timeout');
  const capture = captureFromFlags(p);
  const session = asUsage(() => new PubSpy({ id: 'spy', endpoints: p.positional, topics, capture }));
  return runAndPrint({ capture, session, json: has(p, 'json'), decoder, count, timeoutSec });
});

registerSubcommand('monitor <endpoint>', `print a monitored queue's traffic [--in-prefix in] [--out-prefix out] [--count N] [--timeout SEC] [--json] ${CAPTURE_FLAGS_HELP} ${DECODE_HELP}`, async (args) => {
  const p = parseArgs(args, { ...COMMON, 'in-prefix': { type: 'string' }, 'out-prefix': { type: 'string' } });
  if (p.positional.length !== 1) throw new UsageError('give exactly one monitor endpoint, e.g. zmq-debug monitor tcp://127.0.0.1:5562');
  const decoder = decoderFromArgs(p);
  const count = intFlag(p, 'count');
  const timeoutSec = secondsFlag(p, 'timeout');
  const capture = captureFromFlags(p);
  const session = asUsage(
    () => new MonitorSpy({ id: 'monitor', endpoint: p.positional[0], inPrefix: flag(p, 'in-prefix'), outPrefix: flag(p, 'out-prefix'), capture }),
  );
  return runAndPrint({ capture, session, json: has(p, 'json'), decoder, count, timeoutSec });
});

/** Bad endpoints and options found while building a session are usage errors (exit 2). */
function asUsage<T>(build: () => T): T {
  try {
    return build();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
