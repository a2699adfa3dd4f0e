/** `zmq-debug tap`: the decoding TCP tap on the command line. */
import { RelayPcapngWriter } from '../core/pcap/relayPcapng';
import { ZmtpTap } from '../core/sessions/tap';
import { flag, has, intFlag, parseArgs, PRINT_FLAGS, secondsFlag } from './args';
import { CAPTURE_FLAGS, CAPTURE_FLAGS_HELP, captureFromFlags, runAndPrint } from './captureRunner';
import { DECODE_FLAG, DECODE_HELP, decoderFromArgs } from './decodeOption';
import { UsageError } from './errors';
import { latencySummary } from './latencySummary';
import { registerSubcommand } from './registry';

const TAP_FLAGS = { listen: { type: 'string' }, target: { type: 'string' }, 'max-frame-bytes': { type: 'string' }, timeout: { type: 'string' }, pcapng: { type: 'string' } } as const;

registerSubcommand(
  'tap --target HOST:PORT',
  `relay [--listen 127.0.0.1:PORT] to the target and print greetings, commands and messages [--max-frame-bytes N] [--pcapng FILE] [--count N] [--timeout SEC] [--json] ${CAPTURE_FLAGS_HELP} ${DECODE_HELP}`,
  async (args) => {
    const p = parseArgs(args, { ...TAP_FLAGS, ...PRINT_FLAGS, ...CAPTURE_FLAGS, ...DECODE_FLAG });
    if (p.positional.length) throw new UsageError(`unexpected argument '${p.positional[0]}'`);
    const target = flag(p, 'target');
    if (!target) throw new UsageError('give the real endpoint with --target HOST:PORT, e.g. zmq-debug tap --listen 127.0.0.1:6556 --target 127.0.0.1:5556');
    const decoder = decoderFromArgs(p);
    const count = intFlag(p, 'count');
    const timeoutSec = secondsFlag(p, 'timeout');
    const maxCapturedFrameBytes = intFlag(p, 'max-frame-bytes', 0);
    const capture = captureFromFlags(p);
    const pcapngFile = flag(p, 'pcapng');
    let tap: ZmtpTap;
    try {
      tap = new ZmtpTap({ target, listen: flag(p, 'listen'), maxCapturedFrameBytes, id: 'tap' }, capture);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    // the relayed bytes as Wireshark reads them; the file is created once the arguments are known good
    let pcapng: RelayPcapngWriter | undefined;
    try {
      if (pcapngFile !== undefined) tap.options.wire = pcapng = new RelayPcapngWriter(pcapngFile);
    } catch (e) {
      throw new UsageError(`--pcapng ${pcapngFile}: ${(e as Error).message}`);
    }
    try {
      await tap.listen(); // "port N in use" → exit 1
    } catch (e) {
      await pcapng?.close().catch(() => undefined);
      throw e;
    }
    // on stderr, so that --json output stays one record per line
    process.stderr.write(`tap listening on ${tap.listenEndpoint}, relaying to ${tap.endpoint}: point your peer at port ${tap.port}\n`);
    const code = await runAndPrint({ capture, session: tap, json: has(p, 'json'), decoder, count, timeoutSec });
    for (const line of latencySummary(capture)) process.stderr.write(line + '\n');
    if (pcapng) {
      try {
        const st = await pcapng.close();
        process.stderr.write(`wrote ${st.connections} connection(s) to ${pcapngFile}${st.droppedBytes ? `; ${st.droppedBytes} relayed byte(s) could not be written in time (marked in the file)` : ''}\n`);
      } catch (e) {
        process.stderr.write(`--pcapng ${pcapngFile}: ${(e as Error).message}\n`);
        return 1;
      }
    }
    return code;
  },
);
