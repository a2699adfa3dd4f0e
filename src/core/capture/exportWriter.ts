/**
 * Streams records to a Writable in the export format (JSON Lines, see
 * exportFormat.ts), in batches of about 64 KiB, waiting for 'drain' when the
 * destination is slow, so that memory stays bounded by one batch whatever the
 * export's size. Used by Export Capture… (a file), the frames viewer and the CLI.
 *
 * Records handed out by the capture keep their bytes however long they are held
 * (see recordStore.ts), so a snapshot taken before the first await exports the
 * bytes that travelled even while live sessions keep appending and evicting.
 */
import type { Writable } from 'node:stream';
import { FORMAT_VERSION, recordToLine, type SummaryRecord } from './exportFormat';
import type { CaptureRecord } from './records';

export interface ExportTotals {
  evicted: number;
  evictedBytes: number;
  dropped: number;
}

export interface WriteExportOptions {
  /**
   * Written last as the summary record (what the capture knew it did not keep);
   * no summary when absent. A function (e.g. `() => capture.stats()`) is read at the end.
   */
  totals?: ExportTotals | (() => ExportTotals);
  /** Characters per write (default 64 Ki). */
  batchChars?: number;
  /** Stops between batches; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface WriteExportResult {
  records: number;
}

const BATCH_CHARS = 64 * 1024;
/** A fast destination never asks to wait: yield to the event loop this often anyway, so sources keep flowing. */
const YIELD_EVERY_CHARS = 1024 * 1024;

/**
 * Writes `records` (e.g. `[...capture.records()]`, taken at once) to `out`, then
 * the summary when `totals` is given. Resolves when everything was handed to
 * `out` (it does not end it); rejects on the stream's error (EPIPE, ENOSPC...).
 */
export async function writeExport(records: Iterable<CaptureRecord>, out: Writable | NodeJS.WritableStream, options: WriteExportOptions = {}): Promise<WriteExportResult> {
  const limit = options.batchChars ?? BATCH_CHARS;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  const onError = (e: Error) => {
    failed = e;
    wake?.();
  };
  const onDrain = () => wake?.();
  out.on('error', onError);
  out.on('drain', onDrain);
  const check = () => {
    if (failed) throw failed;
    options.signal?.throwIfAborted();
  };
  /** Hands `text` to `out`; waits for 'drain' (or an error) when its buffer is full. */
  let sinceYield = 0;
  const write = async (text: string) => {
    check();
    sinceYield += text.length;
    if (out.write(text)) {
      if (sinceYield >= YIELD_EVERY_CHARS) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
        check();
      }
      return;
    }
    sinceYield = 0;
    await new Promise<void>((resolve) => {
      wake = resolve;
      options.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    wake = undefined;
    check();
  };
  try {
    let n = 0;
    let batch: string[] = [];
    let chars = 0;
    for (const r of records) {
      const line = recordToLine(r) + '\n';
      batch.push(line);
      chars += line.length;
      n++;
      if (chars >= limit) {
        await write(batch.join(''));
        batch = [];
        chars = 0;
      }
    }
    if (options.totals) {
      // taken at the end: what the capture evicted and lost while the export ran counts too
      const t = typeof options.totals === 'function' ? options.totals() : options.totals;
      const summary: SummaryRecord = { kind: 'summary', ts: Date.now(), format: FORMAT_VERSION, records: n, evicted: t.evicted, evictedBytes: t.evictedBytes, dropped: t.dropped };
      batch.push(JSON.stringify(summary) + '\n');
    }
    if (batch.length) await write(batch.join(''));
    return { records: n };
  } finally {
    out.off('error', onError);
    out.off('drain', onDrain);
  }
}
