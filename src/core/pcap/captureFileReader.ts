/**
 * Reads a saved capture of any kind this project knows, as capture records,
 * streaming: pcap and pcapng (the ZMTP connections found in them, see
 * zmtpStreams.ts) and the project's own export format (JSON Lines). The file
 * is read in chunks into one reused buffer and records are handed on in
 * batches, waiting for the consumer (e.g. a slow stdout) before reading on, so
 * memory stays bounded whatever the file's size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addImportError, ImportError, lineTooLong, MAX_IMPORT_LINE_CHARS, parseExportLine, type ImportResult, type SummaryRecord } from '../capture/exportFormat';
import type { CaptureRecord } from '../capture/records';
import { sniffCaptureFile, SNIFF_BYTES, type CaptureFileKind } from './captureFile';
import { PacketFileError, PacketFileParser } from './packetFile';
import { ZmtpStreamFinder, type ZmtpStreamStats } from './zmtpStreams';

/** The file cannot be read as a capture: the reason says why (not a capture, truncated, corrupt...). */
export class CaptureFileError extends Error {}

export interface ReadCaptureOptions {
  /** Session stamped on records found in a pcap/pcapng (default: the file's name). */
  session?: string;
  maxCapturedFrameBytes?: number;
  /** Bytes per read (default 1 MiB). */
  chunkBytes?: number;
}

export interface ReadCaptureResult {
  kind: CaptureFileKind;
  records: number;
  /** pcap/pcapng: what the packets held. */
  stats?: ZmtpStreamStats;
  /** pcap/pcapng: link types seen that are not read. */
  unknownLinkTypes?: number[];
  /** The export's closing summary (what the original capture evicted and dropped). */
  summary?: SummaryRecord;
  /** The export's lines that could not be read (1-based, the first MAX_LISTED_IMPORT_ERRORS), never silently skipped. */
  lineErrors: { line: number; message: string }[];
  /** Bad lines beyond those listed: counted, not listed. */
  moreLineErrors?: number;
}

const CHUNK_BYTES = 1024 * 1024;

/** Where the bytes come from: a file read chunk by chunk, or bytes already in memory. */
interface ChunkSource {
  /** Fills `buf` from the start with the next bytes; 0 at the end. */
  read(buf: Buffer): Promise<number>;
}

/**
 * Reads `file`, handing records to `onRecords` in batches (awaited before the
 * next read). Throws CaptureFileError for a file that is not a capture or is
 * cut/corrupt (records before the fault were handed on already).
 */
export async function readCaptureFile(file: string, onRecords: (records: CaptureRecord[]) => void | Promise<void>, options: ReadCaptureOptions = {}): Promise<ReadCaptureResult> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CaptureFileError(err.code === 'ENOENT' ? `${file}: no such file` : err.code === 'EISDIR' ? `${file} is a directory` : `cannot open ${file}: ${err.message}`);
  }
  try {
    const source: ChunkSource = {
      async read(buf) {
        try {
          return (await fh.read(buf, 0, buf.length, null)).bytesRead;
        } catch (e) {
          throw new CaptureFileError(`cannot read ${file}: ${(e as Error).message}`);
        }
      },
    };
    return await readCapture(path.basename(file), source, onRecords, options);
  } finally {
    await fh.close();
  }
}

/** Like readCaptureFile, for a capture already in memory (a file of a remote workspace); `name` names it in messages and records. */
export function readCaptureBytes(name: string, bytes: Uint8Array, onRecords: (records: CaptureRecord[]) => void | Promise<void>, options: ReadCaptureOptions = {}): Promise<ReadCaptureResult> {
  let pos = 0;
  const source: ChunkSource = {
    read(buf) {
      const n = Math.min(buf.length, bytes.length - pos);
      buf.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
  };
  return readCapture(path.basename(name), source, onRecords, options);
}

async function readCapture(name: string, source: ChunkSource, onRecords: (records: CaptureRecord[]) => void | Promise<void>, options: ReadCaptureOptions): Promise<ReadCaptureResult> {
  const buf = Buffer.allocUnsafe(Math.max(SNIFF_BYTES, options.chunkBytes ?? CHUNK_BYTES));
  const first = await source.read(buf);
  const kind = sniffCaptureFile(buf.subarray(0, first));
  if (typeof kind !== 'string') throw new CaptureFileError(`${name}: ${kind.error}`);
  if (kind === 'jsonl') return readExport(source, buf, first, onRecords);
  return readPackets(source, buf, first, kind, onRecords, { session: options.session ?? name, maxCapturedFrameBytes: options.maxCapturedFrameBytes }, name);
}

async function readPackets(
  source: ChunkSource,
  buf: Buffer,
  firstBytes: number,
  kind: 'pcap' | 'pcapng',
  onRecords: (records: CaptureRecord[]) => void | Promise<void>,
  options: { session: string; maxCapturedFrameBytes?: number },
  name: string,
): Promise<ReadCaptureResult> {
  let batch: CaptureRecord[] = [];
  let records = 0;
  const finder = new ZmtpStreamFinder(options, (r) => {
    batch.push(r);
    records++;
  });
  const parser = new PacketFileParser((p) => finder.packet(p));
  const flush = async () => {
    if (!batch.length) return;
    const b = batch;
    batch = [];
    await onRecords(b);
  };
  let n = firstBytes;
  try {
    while (n > 0) {
      parser.push(buf.subarray(0, n));
      await flush();
      n = await source.read(buf);
    }
    parser.end();
  } catch (e) {
    if (e instanceof PacketFileError) {
      // what the file held up to the fault was real: hand it on, then say why reading stopped
      finder.end();
      await flush();
      throw new CaptureFileError(`${name}: ${e.message}`);
    }
    throw e;
  }
  finder.end();
  await flush();
  return { kind, records, stats: finder.stats, unknownLinkTypes: [...finder.unknownLinkTypes], lineErrors: [] };
}

async function readExport(source: ChunkSource, buf: Buffer, firstBytes: number, onRecords: (records: CaptureRecord[]) => void | Promise<void>): Promise<ReadCaptureResult> {
  const result: ReadCaptureResult = { kind: 'jsonl', records: 0, lineErrors: [] };
  const decoder = new TextDecoder('utf-8');
  let lineNo = 0;
  let n = firstBytes;
  const errors: Pick<ImportResult, 'errors' | 'moreErrors'> = { errors: result.lineErrors };
  const take = (line: string, batch: CaptureRecord[], last = false) => {
    lineNo++;
    if (line.length > MAX_IMPORT_LINE_CHARS) {
      addImportError(errors, lineNo, lineTooLong(line.length));
      result.moreLineErrors = errors.moreErrors;
      return;
    }
    try {
      const r = parseExportLine(lineNo === 1 ? line.replace(/^\ufeff/, '') : line, last && lineNo > 1);
      if (r?.kind === 'summary') result.summary = r;
      else if (r) {
        batch.push(r);
        result.records++;
      }
    } catch (e) {
      addImportError(errors, lineNo, e instanceof ImportError ? e.message : String(e));
    }
    result.moreLineErrors = errors.moreErrors;
  };
  // A line longer than any record is passed over, unbuffered, as the in-memory
  // import does (parseJsonLines): `skipped` counts its characters so far.
  let skipped = 0;
  const passOver = () => {
    lineNo++;
    addImportError(errors, lineNo, lineTooLong(skipped));
    result.moreLineErrors = errors.moreErrors;
    skipped = 0;
  };
  // The current line's text so far, in pieces: joined once its newline comes
  // (joining at every chunk would copy a long line over and over).
  let pending: string[] = [];
  let pendingChars = 0;
  while (n > 0) {
    let text = decoder.decode(buf.subarray(0, n), { stream: true });
    n = await source.read(buf);
    if (skipped) {
      const nl = text.indexOf('\n');
      skipped += nl < 0 ? text.length : nl;
      if (nl < 0) continue;
      passOver();
      text = text.slice(nl + 1);
    }
    if (!text.includes('\n')) {
      pending.push(text);
      pendingChars += text.length;
      if (pendingChars > MAX_IMPORT_LINE_CHARS) {
        skipped = pendingChars;
        pending = [];
        pendingChars = 0;
      }
      continue;
    }
    pending.push(text);
    const lines = pending.join('').split('\n');
    const rest = lines.pop()!;
    pending = [rest];
    pendingChars = rest.length;
    const batch: CaptureRecord[] = [];
    for (const line of lines) take(line, batch);
    if (batch.length) await onRecords(batch);
  }
  const batch: CaptureRecord[] = [];
  if (skipped) passOver();
  else take(pending.join('') + decoder.decode(), batch, true);
  if (batch.length) await onRecords(batch);
  return result;
}
