/**
 * Runs one capture session from the command line: prints every record as it is
 * captured (human lines, or the JSON Lines export format with --json), and ends
 * after --count messages, after --timeout seconds, or on Ctrl-C.
 */
import { Capture } from '../core/capture/capture';
import { Decoder } from '../core/decoders/decoder';
import { CaptureSession } from '../core/sessions/session';
import { printRecord } from './decodeOption';

export interface RunOptions {
  capture: Capture;
  session: CaptureSession;
  json: boolean;
  /** --decode: messages printed with their decoded value (or why they did not decode). */
  decoder?: Decoder;
  /** Stop after this many message records. */
  count?: number;
  timeoutSec?: number;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

/** Resolves with the process exit code: 0 when it ended as asked, 1 when the session failed. */
export function runAndPrint(o: RunOptions): Promise<number> {
  const out = o.out ?? process.stdout;
  const err = o.err ?? process.stderr;
  let printedSeq = 0;
  let messages = 0;
  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = async (code: number) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      sub.dispose();
      stateSub.dispose();
      await o.session.stop();
      flush(); // whatever arrived while stopping, unless --count is reached
      const st = o.capture.stats();
      if (st.dropped) err.write(`${st.dropped} message(s) were reported lost by the source\n`);
      out.write('', () => resolve(code));
    };
    const flush = () => {
      const records = o.capture.since(printedSeq);
      if (records.length && records[0].seq !== printedSeq + 1 && printedSeq !== 0) {
        err.write(`${records[0].seq - printedSeq - 1} record(s) were evicted from the capture before they could be printed\n`);
      }
      for (const r of records) {
        if (o.count !== undefined && messages >= o.count) break;
        printedSeq = r.seq;
        out.write(printRecord(r, o.json, o.decoder) + '\n');
        if (r.kind === 'message') messages++;
      }
      if (o.count !== undefined && messages >= o.count) void finish(0);
    };
    const sub = o.capture.onDidAppend(flush);
    const stateSub = o.session.onDidChangeState((s) => {
      if (s === 'error') {
        flush();
        err.write(`${o.session.label}: ${o.session.error}\n`);
        void finish(1);
      }
    });
    const onSignal = () => void finish(0);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const timer = o.timeoutSec !== undefined ? setTimeout(() => void finish(0), o.timeoutSec * 1000) : undefined;
    flush();
  });
}
