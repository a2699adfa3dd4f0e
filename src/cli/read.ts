/**
 * `zmq-debug read FILE`: prints a saved capture as a live session prints it.
 * FILE is sniffed: a pcap or pcapng (tcpdump -w, tshark -w), whose ZMTP
 * connections are found by their greeting and decoded as a tap decodes them,
 * or this project's export format (JSON Lines, as `--json` and Export Capture…
 * write it). Streaming: records are printed batch by batch as the file is read,
 * waiting for stdout, so a file of any size goes through in bounded memory.
 */
import type { CaptureRecord } from '../core/capture/records';
import { JsonLinesEncoder } from '../core/capture/jsonLinesEncoder';
import { CaptureFileError, readCaptureFile, type ReadCaptureResult } from '../core/pcap/captureFileReader';
import { diagnose } from '../core/topology/doctor';
import { RequestLatency } from '../core/topology/latency';
import { TopologyModel } from '../core/topology/topology';
import { latencySummary as summaryText } from '../shared/latencyText';
import { DEFAULT_FILTER, DIRECTIONS, RECORD_KINDS, type DirectionName, type FrameFilter, type RecordKind } from '../shared/protocol/frames';
import { compileFilter, FilterError } from '../viewers/framesQuery';
import { flag, flagList, has, intFlag, parseArgs, PRINT_FLAGS } from './args';
import { DECODE_FLAG, DECODE_HELP, decoderFromArgs, printRecord } from './decodeOption';
import { UsageError } from './errors';
import { registerSubcommand } from './registry';

const FILTER_HELP = '[--kind K]... [--direction D] [--topic PREFIX] [--text TEXT] [--socket-type T] [--session S] [--process NAME|PID]';

/** Characters per write to stdout. */
const BATCH_CHARS = 64 * 1024;

const READ_FLAGS = {
  ...PRINT_FLAGS,
  doctor: { type: 'boolean' },
  'max-frame-bytes': { type: 'string' },
  kind: { type: 'list' },
  direction: { type: 'string' },
  topic: { type: 'string' },
  text: { type: 'string' },
  'socket-type': { type: 'string' },
  session: { type: 'string' },
  process: { type: 'string' },
  ...DECODE_FLAG,
} as const;

/** Thrown inside the read to stop it once --count messages were printed. */
class Enough extends Error {}

registerSubcommand('read FILE', `print a saved capture (pcap, pcapng or the JSON Lines export) as a live one [--count N] [--json] [--doctor] ${DECODE_HELP} ${FILTER_HELP}`, async (args) => {
  const p = parseArgs(args, READ_FLAGS);
  if (p.positional.length !== 1) throw new UsageError('give one capture file, e.g. zmq-debug read capture.pcap');
  const file = p.positional[0];
  const decoder = decoderFromArgs(p);
  const count = intFlag(p, 'count');
  const json = has(p, 'json');
  const keep = filterFromArgs(p);
  const out = process.stdout;
  const err = process.stderr;
  const latency = new RequestLatency();
  // --doctor: the capture as a topology frozen at its last record, judged by the doctor
  const topology = has(p, 'doctor') ? new TopologyModel(undefined, undefined, { throttleMs: 0 }) : undefined;
  let lastTs = 0;
  const encoder = json && !decoder ? new JsonLinesEncoder() : undefined;
  let messages = 0;
  let seq = 0;
  const stdout = drainingWriter(out);
  const write = stdout.write;
  /** The encoder's bytes; its buffer goes back to it once stdout is done with them. */
  const writeEncoded = (e: JsonLinesEncoder) => {
    const bytes = e.take();
    return write(bytes, () => e.recycle(bytes));
  };
  const print = async (records: CaptureRecord[]) => {
    let text = '';
    for (const r of records) {
      // as a capture numbers them; an export keeps its own numbers
      if (!r.seq) r.seq = ++seq;
      else seq = r.seq;
      latency.observe(r);
      topology?.ingest(r);
      if (r.ts > lastTs) lastTs = r.ts;
      if (keep && !keep(r)) continue;
      if (encoder) encoder.add(r);
      else text += printRecord(r, json, decoder) + '\n';
      if (r.kind === 'message' && count !== undefined && ++messages >= count) break;
      if (encoder && encoder.length >= BATCH_CHARS) await writeEncoded(encoder);
      else if (text.length >= BATCH_CHARS) {
        await write(text);
        text = '';
      }
    }
    if (encoder?.length) await writeEncoded(encoder);
    if (text) await write(text);
    if (stdout.closed() || (count !== undefined && messages >= count)) throw new Enough();
  };

  let result: ReadCaptureResult | undefined;
  try {
    result = await readCaptureFile(file, print, { maxCapturedFrameBytes: intFlag(p, 'max-frame-bytes', 0) });
  } catch (e) {
    if (e instanceof CaptureFileError) {
      err.write(`zmq-debug read: ${e.message}\n`);
      return 2;
    }
    if (!(e instanceof Enough)) throw e;
  }
  for (const [id, s] of latency.all()) if (s.requests) err.write(`latency ${id}: ${summaryText(s)}\n`);
  if (result) {
    for (const line of summaryLines(result)) err.write(line + '\n');
    if (topology) err.write(doctorText(topology, lastTs));
    if (result.lineErrors.length || result.moreLineErrors) return 2;
  }
  return 0;
});

/** Writes to `out` waiting for 'drain'; after an error (a closed pipe) writes are dropped and closed() says so. */
function drainingWriter(out: NodeJS.WriteStream): { write: (chunk: string | Buffer, written?: () => void) => Promise<void>; closed: () => boolean } {
  let closed = false;
  out.on('error', () => (closed = true));
  const write = async (chunk: string | Buffer, written?: () => void) => {
    if (closed || out.write(chunk, written)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        out.off('drain', done);
        out.off('error', done);
        resolve();
      };
      out.once('drain', done);
      out.once('error', done);
    });
  };
  return { write, closed: () => closed };
}

/** --doctor: the capture as a topology frozen at its last record, judged by the doctor. */
function doctorText(topology: TopologyModel, lastTs: number): string {
  const findings = diagnose(topology.snapshot(lastTs || Date.now()));
  topology.dispose();
  return findings.length ? findings.map((d) => `doctor ${d.severity}: ${d.message}${d.endpoint ? ` (${d.endpoint})` : ''}\n`).join('') : 'doctor: no findings\n';
}

/** What the file held besides the printed records, on stderr. */
function summaryLines(r: ReadCaptureResult): string[] {
  const lines: string[] = [];
  if (r.stats) {
    const s = r.stats;
    const parts = [`${s.packets} packet(s), ${s.zmtpConnections} ZMTP connection(s), ${r.records} record(s)`];
    if (s.otherConnections) parts.push(`${s.otherConnections} other TCP connection(s) without a ZMTP greeting in the capture (not ZMTP, or begun before it) skipped`);
    if (s.retransmitted) parts.push(`${s.retransmitted} retransmitted or duplicate segment(s) ignored`);
    if (s.reordered) parts.push(`${s.reordered} out-of-order segment(s) put back in order`);
    lines.push(`${r.kind}: ${parts.join('; ')}`);
    if (s.gaps) lines.push(`${s.gaps} gap(s) in ZMTP streams: ${s.missingBytes} byte(s) not in the capture; those directions were not decoded past them`);
    if (s.cutMessages) lines.push(`${s.cutMessages} message(s) in flight were cut off (by a gap, a close or the end of the capture) and not captured`);
    if (s.openAtEnd) lines.push(`${s.openAtEnd} ZMTP connection(s) still open when the capture ended`);
    if (s.fragments) lines.push(`${s.fragments} IP fragment(s) not reassembled`);
    if (s.unknownLinkType) lines.push(`${s.unknownLinkType} packet(s) of link type(s) ${(r.unknownLinkTypes ?? []).join(', ')} not read`);
    if (s.untracked) lines.push(`${s.untracked} TCP connection(s) not read: too many open at once`);
  }
  if (r.summary && (r.summary.evicted || r.summary.dropped)) {
    lines.push(`the original capture had evicted ${r.summary.evicted} record(s) and sources reported ${r.summary.dropped} message(s) lost before it was saved`);
  }
  for (const e of r.lineErrors.slice(0, 10)) lines.push(`line ${e.line}: ${e.message}`);
  const more = r.lineErrors.length - 10 + (r.moreLineErrors ?? 0);
  if (more > 0) lines.push(`and ${more} more line(s) that could not be read`);
  return lines;
}

function filterFromArgs(p: ReturnType<typeof parseArgs>): ((r: CaptureRecord) => boolean) | undefined {
  const kinds = flagList(p, 'kind');
  for (const k of kinds) if (!RECORD_KINDS.includes(k as RecordKind)) throw new UsageError(`--kind must be one of ${RECORD_KINDS.join(', ')} (got '${k}')`);
  const direction = flag(p, 'direction') ?? '';
  if (direction && !DIRECTIONS.includes(direction as DirectionName)) throw new UsageError(`--direction must be one of ${DIRECTIONS.join(', ')} (got '${direction}')`);
  const f: FrameFilter = {
    ...DEFAULT_FILTER,
    kinds: kinds.length ? (kinds as RecordKind[]) : [...RECORD_KINDS],
    direction: direction as DirectionName | '',
    topicPrefix: flag(p, 'topic') ?? '',
    text: flag(p, 'text') ?? '',
    socketType: flag(p, 'socket-type') ?? '',
    session: flag(p, 'session') ?? '',
    process: flag(p, 'process') ?? '',
  };
  try {
    return compileFilter(f);
  } catch (e) {
    if (e instanceof FilterError) throw new UsageError(e.message);
    throw e;
  }
}
