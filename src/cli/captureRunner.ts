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
import type { CaptureRecord } from '../core/capture/records';
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
  return new CapturePrinter(o).run();
}

/** One run of runAndPrint: prints the capture as it fills, while stdout keeps up, until the run ends. */
class CapturePrinter {
  private readonly out: NodeJS.WritableStream;
  private readonly err: NodeJS.WritableStream;
  /** --json without --decode: lines encoded straight into bytes (see JsonLinesEncoder). */
  private readonly encoder: JsonLinesEncoder | undefined;
  private printedSeq = 0;
  private messages = 0;
  /** Waiting for 'drain': stdout's buffer is full. */
  private waiting = false;
  /** The reader went away (EPIPE) or stdout failed: print nothing more. */
  private outClosed = false;
  private evictedUnreported = 0;
  /** Every record up to this seq was printed or counted as evicted. */
  private accountedSeq = 0;
  private lastReport = 0;
  /** Wakes finish() while it waits for the reader (drain, a second signal, stdout gone). */
  private wakeFinish: (() => void) | undefined;
  private finished = false;
  private signalled = false;
  /** A second signal: stop waiting for the reader. */
  private giveUp = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: { dispose(): void }[] = [];
  private resolve: (code: number) => void = () => undefined;

  constructor(private readonly o: RunOptions) {
    this.out = o.out ?? process.stdout;
    this.err = o.err ?? process.stderr;
    this.encoder = o.json && !o.decoder ? new JsonLinesEncoder() : undefined;
  }

  run(): Promise<number> {
    return new Promise<number>((resolve) => {
      this.resolve = resolve;
      const { o, out, err } = this;
      out.on('error', this.onOutError);
      // stderr may be a closed pipe too: never crash on it
      if (!err.listenerCount('error')) err.on('error', () => undefined);
      this.subscriptions.push(
        o.capture.onDidAppend(() => {
          if (this.waiting) this.reportEvicted(false);
          this.pump();
          if (this.countReached()) void this.finish(0);
        }),
        o.session.onDidChangeState((s) => {
          if (s === 'error') {
            this.pump();
            err.write(`${o.session.label}: ${o.session.error}\n`);
            void this.finish(1);
          }
        }),
      );
      process.on('SIGINT', this.onSignal);
      process.on('SIGTERM', this.onSignal);
      if (o.timeoutSec !== undefined) this.timer = setTimeout(() => void this.finish(0), o.timeoutSec * 1000);
      this.pump();
    });
  }

  private countReached(): boolean {
    return this.o.count !== undefined && this.messages >= this.o.count;
  }

  /** Counts the records the capture evicted before they could be printed (also while waiting for the reader). */
  private noteEvicted(): void {
    // past --count nothing more was going to be printed
    if (this.countReached()) return;
    const oldest = this.o.capture.stats().firstSeq;
    const evictedTo = oldest ? oldest - 1 : this.o.capture.stats().lastSeq;
    if (evictedTo > this.accountedSeq) {
      this.evictedUnreported += evictedTo - this.accountedSeq;
      this.accountedSeq = evictedTo;
    }
  }

  private reportEvicted(force: boolean): void {
    this.noteEvicted();
    if (!this.evictedUnreported || (!force && Date.now() - this.lastReport < REPORT_EVERY_MS)) return;
    this.lastReport = Date.now();
    this.err.write(`${this.evictedUnreported} record(s) were evicted from the capture before they could be printed\n`);
    this.evictedUnreported = 0;
  }

  /** Prints what the capture holds beyond printedSeq, batch by batch, while stdout keeps up. */
  private pump(): void {
    while (!this.waiting && !this.outClosed && !this.countReached()) {
      this.noteEvicted();
      // printed at once, nothing kept: lent records (see Capture.peek)
      const records = this.o.capture.peekSince(this.printedSeq, BATCH_RECORDS);
      if (!records.length) break;
      if (this.encoder) this.printEncoded(records, this.encoder);
      else this.printText(records);
    }
    this.reportEvicted(false);
  }

  /** --json without --decode: the lines' bytes from the encoder, a write per ~64 KiB. */
  private printEncoded(records: readonly CaptureRecord[], encoder: JsonLinesEncoder): void {
    for (let i = 0; i < records.length && !this.countReached(); i++) {
      const r = records[i];
      this.printedSeq = this.accountedSeq = r.seq;
      encoder.add(r);
      if (r.kind === 'message') this.messages++;
      if (encoder.length >= BATCH_CHARS && !this.writeEncoded(encoder)) break;
    }
    if (encoder.length) this.writeEncoded(encoder);
  }

  /** Human lines, or --json with --decode: text, a write per ~64 KiB. */
  private printText(records: readonly CaptureRecord[]): void {
    let text = '';
    for (let i = 0; i < records.length && !this.countReached(); i++) {
      const r = records[i];
      this.printedSeq = this.accountedSeq = r.seq;
      text += printRecord(r, this.o.json, this.o.decoder) + '\n';
      if (r.kind === 'message') this.messages++;
      if (text.length >= BATCH_CHARS) {
        const more = this.write(text);
        text = '';
        if (!more) break;
      }
    }
    if (text) this.write(text);
  }

  /** Writes what the encoder holds; its buffer goes back to the encoder once stdout is done with it. */
  private writeEncoded(encoder: JsonLinesEncoder): boolean {
    const bytes = encoder.take();
    return this.write(bytes, () => encoder.recycle(bytes));
  }

  private write(text: string | Buffer, written?: () => void): boolean {
    if (this.out.write(text, written)) return true;
    if (!this.waiting) {
      this.waiting = true;
      this.out.once('drain', this.onDrain);
    }
    return false;
  }

  private readonly onDrain = (): void => {
    this.waiting = false;
    this.pump();
    if (this.countReached()) void this.finish(0);
    this.wakeFinish?.();
  };

  private readonly onOutError = (e: NodeJS.ErrnoException): void => {
    this.outClosed = true;
    this.out.off('drain', this.onDrain);
    this.wakeFinish?.();
    // the reader went away (`| head`): a normal end, like `yes | head`
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return void this.finish(0);
    this.err.write(`stdout: ${e.message}\n`);
    void this.finish(1);
  };

  private readonly onSignal = (): void => {
    // a second Ctrl-C while finishing: stop waiting for the reader
    if (this.signalled) {
      this.giveUp = true;
      this.wakeFinish?.();
      return;
    }
    this.signalled = true;
    void this.finish(0);
  };

  /** Ends the run once: stops the session, prints what is left (for a while), reports, resolves with the exit code. */
  private async finish(code: number): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    for (const s of this.subscriptions) s.dispose();
    try {
      await this.o.session.stop();
    } catch (e) {
      this.err.write(`${this.o.session.label}: could not stop cleanly: ${(e as Error).message}\n`);
      code = 1;
    }
    // whatever arrived while stopping, unless --count is reached; after a signal only for a moment
    await this.printRest(this.signalled ? Date.now() + SIGNAL_GRACE_MS : Infinity);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    this.reportEnd();
    this.closeOut(code);
  }

  /** Prints what the capture still holds, waiting for the reader until `deadline` (or a second signal). */
  private async printRest(deadline: number): Promise<void> {
    this.pump();
    while (!this.outClosed && this.waiting && !this.giveUp && Date.now() < deadline) {
      await new Promise<void>((r) => {
        this.wakeFinish = r;
        if (deadline !== Infinity) setTimeout(r, Math.max(0, deadline - Date.now())).unref();
      });
      this.wakeFinish = undefined;
    }
  }

  /** On stderr: what was evicted unprinted, what was left unprinted, what the source lost. */
  private reportEnd(): void {
    this.reportEvicted(true);
    const left = this.o.capture.stats().lastSeq - this.accountedSeq;
    if (!this.outClosed && this.waiting && left > 0 && !this.countReached()) this.err.write(`${left} record(s) were not printed: stopped while the reader was behind\n`);
    const st = this.o.capture.stats();
    if (st.dropped) this.err.write(`${st.dropped} message(s) were reported lost by the source\n`);
  }

  /** Resolves with `code` once stdout has taken what it was given (or at once when it is gone or stuck). */
  private closeOut(code: number): void {
    const { out, err } = this;
    out.off('error', this.onOutError);
    out.on('error', () => undefined); // late EPIPEs of what is still buffered
    if (this.outClosed) return this.resolve(code);
    if (this.waiting) {
      // The reader is stuck and we were told to stop: what stdout still buffers is
      // dropped. process.stdout cannot be destroyed (its pending write would keep
      // the process alive forever), so exit once stderr is out; sockets are closed.
      if (out === process.stdout) err.write('', () => process.exit(code));
      else (out as NodeJS.WritableStream & { destroy?: () => void }).destroy?.();
      return this.resolve(code);
    }
    out.write('', () => this.resolve(code));
  }
}
