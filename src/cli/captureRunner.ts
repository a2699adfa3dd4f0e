/**
 * Runs one capture session from the command line: prints every record as it is
 * captured (human lines, or the JSON Lines export format with --json), and ends
 * after --count messages, after --timeout seconds, on Ctrl-C/SIGTERM, or when
 * the reader of stdout goes away (`| head`: exit 0 after closing the sockets).
 *
 * Output is written in batches (~64 KiB, never one write per record) and only
 * while stdout keeps up: when its buffer is full the runner waits for 'drain',
 * and meanwhile the capture's own bound decides what is kept. So memory stays
 * within the capture's limits (--max-messages, --max-bytes) plus one batch,
 * whatever the reader's speed; records evicted before they could be printed are
 * counted on stderr.
 */
import { Capture, type CaptureLimits } from '../core/capture/capture';
import { JsonLinesEncoder } from '../core/capture/jsonLinesEncoder';
import type { Decoder } from '../core/decoders/decoder';
import { CaptureSession } from '../core/sessions/session';
import { intFlag, type FlagSpec, type ParsedArgs } from './args';
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

/** The flags every capturing subcommand takes for the capture's window. */
export const CAPTURE_FLAGS: Record<string, FlagSpec> = { 'max-messages': { type: 'string' }, 'max-bytes': { type: 'string' } };
export const CAPTURE_FLAGS_HELP = '[--max-messages N] [--max-bytes N]';

/** A capture bounded as the flags say (the defaults otherwise). */
export function captureFromFlags(p: ParsedArgs): Capture {
  const limits: Partial<CaptureLimits> = {};
  const maxRecords = intFlag(p, 'max-messages');
  const maxBytes = intFlag(p, 'max-bytes');
  if (maxRecords !== undefined) limits.maxRecords = maxRecords;
  if (maxBytes !== undefined) limits.maxBytes = maxBytes;
  return new Capture(limits);
}

/** Records per read from the capture, and characters (bytes) per write. */
const BATCH_RECORDS = 1024;
const BATCH_CHARS = 64 * 1024;
/** Evictions are reported at most this often while running (and once more at the end). */
const REPORT_EVERY_MS = 1000;
/** After a signal, the rest of the window is printed for at most this long. */
const SIGNAL_GRACE_MS = 2000;

/** Resolves with the process exit code: 0 when it ended as asked (or the reader left), 1 when the session failed. */
export function runAndPrint(o: RunOptions): Promise<number> {
  const out = o.out ?? process.stdout;
  const err = o.err ?? process.stderr;
  let printedSeq = 0;
  let messages = 0;
  /** Waiting for 'drain': stdout's buffer is full. */
  let waiting = false;
  /** The reader went away (EPIPE) or stdout failed: print nothing more. */
  let outClosed = false;
  let evictedUnreported = 0;
  /** Every record up to this seq was printed or counted as evicted. */
  let accountedSeq = 0;
  let lastReport = 0;
  const encoder = o.json && !o.decoder ? new JsonLinesEncoder() : undefined;
  const countReached = () => o.count !== undefined && messages >= o.count;

  /** Counts the records the capture evicted before they could be printed (also while waiting for the reader). */
  const noteEvicted = () => {
    // past --count nothing more was going to be printed
    if (countReached()) return;
    const oldest = o.capture.stats().firstSeq;
    const evictedTo = oldest ? oldest - 1 : o.capture.stats().lastSeq;
    if (evictedTo > accountedSeq) {
      evictedUnreported += evictedTo - accountedSeq;
      accountedSeq = evictedTo;
    }
  };
  const reportEvicted = (force: boolean) => {
    noteEvicted();
    if (!evictedUnreported || (!force && Date.now() - lastReport < REPORT_EVERY_MS)) return;
    lastReport = Date.now();
    err.write(`${evictedUnreported} record(s) were evicted from the capture before they could be printed\n`);
    evictedUnreported = 0;
  };

  /** Prints what the capture holds beyond printedSeq, batch by batch, while stdout keeps up. */
  const pump = () => {
    while (!waiting && !outClosed && !countReached()) {
      noteEvicted();
      // printed at once, nothing kept: lent records (see Capture.peek)
      const records = o.capture.peekSince(printedSeq, BATCH_RECORDS);
      if (!records.length) break;
      if (encoder) {
        // --json without --decode: lines encoded straight into bytes (see JsonLinesEncoder)
        for (let i = 0; i < records.length && !countReached(); i++) {
          const r = records[i];
          printedSeq = accountedSeq = r.seq;
          encoder.add(r);
          if (r.kind === 'message') messages++;
          if (encoder.length >= BATCH_CHARS && !write(encoder.take())) break;
        }
        if (encoder.length) write(encoder.take());
        continue;
      }
      let text = '';
      let i = 0;
      for (; i < records.length && !countReached(); i++) {
        const r = records[i];
        printedSeq = accountedSeq = r.seq;
        text += printRecord(r, o.json, o.decoder) + '\n';
        if (r.kind === 'message') messages++;
        if (text.length >= BATCH_CHARS) {
          const more = write(text);
          text = '';
          if (!more) break;
        }
      }
      if (text) write(text);
    }
    reportEvicted(false);
  };
  const write = (text: string | Buffer): boolean => {
    if (out.write(text)) return true;
    if (!waiting) {
      waiting = true;
      out.once('drain', onDrain);
    }
    return false;
  };
  const onDrain = () => {
    waiting = false;
    pump();
    if (countReached()) void finish(0);
    wakeFinish?.();
  };
  let wakeFinish: (() => void) | undefined;
  let finish: (code: number) => Promise<void>;

  return new Promise<number>((resolve) => {
    let finished = false;
    let signalled = false;
    /** A second signal: stop waiting for the reader. */
    let giveUp = false;
    finish = async (code: number) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sub.dispose();
      stateSub.dispose();
      try {
        await o.session.stop();
      } catch (e) {
        err.write(`${o.session.label}: could not stop cleanly: ${(e as Error).message}\n`);
        code = 1;
      }
      // whatever arrived while stopping, unless --count is reached; after a signal only for a moment
      const deadline = signalled ? Date.now() + SIGNAL_GRACE_MS : Infinity;
      pump();
      while (!outClosed && waiting && !giveUp && Date.now() < deadline) {
        await new Promise<void>((r) => {
          wakeFinish = r;
          if (deadline !== Infinity) setTimeout(r, Math.max(0, deadline - Date.now())).unref();
        });
        wakeFinish = undefined;
      }
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      reportEvicted(true);
      const left = o.capture.stats().lastSeq - accountedSeq;
      if (!outClosed && waiting && left > 0 && !countReached()) err.write(`${left} record(s) were not printed: stopped while the reader was behind\n`);
      const st = o.capture.stats();
      if (st.dropped) err.write(`${st.dropped} message(s) were reported lost by the source\n`);
      out.off('error', onOutError);
      out.on('error', () => undefined); // late EPIPEs of what is still buffered
      if (outClosed) return resolve(code);
      if (waiting) {
        // The reader is stuck and we were told to stop: what stdout still buffers is
        // dropped. process.stdout cannot be destroyed (its pending write would keep
        // the process alive forever), so exit once stderr is out; sockets are closed.
        if (out === process.stdout) err.write('', () => process.exit(code));
        else (out as NodeJS.WritableStream & { destroy?: () => void }).destroy?.();
        return resolve(code);
      }
      out.write('', () => resolve(code));
    };
    const onOutError = (e: NodeJS.ErrnoException) => {
      outClosed = true;
      out.off('drain', onDrain);
      wakeFinish?.();
      // the reader went away (`| head`): a normal end, like `yes | head`
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return void finish(0);
      err.write(`stdout: ${e.message}\n`);
      void finish(1);
    };
    out.on('error', onOutError);
    // stderr may be a closed pipe too: never crash on it
    if (!err.listenerCount('error')) err.on('error', () => undefined);
    const sub = o.capture.onDidAppend(() => {
      if (waiting) reportEvicted(false);
      pump();
      if (countReached()) void finish(0);
    });
    const stateSub = o.session.onDidChangeState((s) => {
      if (s === 'error') {
        pump();
        err.write(`${o.session.label}: ${o.session.error}\n`);
        void finish(1);
      }
    });
    const onSignal = () => {
      // a second Ctrl-C while finishing: stop waiting for the reader
      if (signalled) {
        giveUp = true;
        wakeFinish?.();
        return;
      }
      signalled = true;
      void finish(0);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const timer = o.timeoutSec !== undefined ? setTimeout(() => void finish(0), o.timeoutSec * 1000) : undefined;
    pump();
  });
}
