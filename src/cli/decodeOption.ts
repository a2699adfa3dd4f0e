/** `--decode NAME` for spy, monitor and tap: the flag spec, its parsing, and how a record is printed with it. */
import { recordToJson, recordToLine } from '../core/capture/exportFormat';
import { CaptureRecord } from '../core/capture/records';
import { formatRecord } from '../core/capture/recordText';
import { Decoder } from '../core/decoders/decoder';
import { JupyterDecoder } from '../core/decoders/jupyter';
import { JupyterKeyFinder } from '../core/discovery/jupyterKeyFiles';
import { decodedFields, formatDecoded } from '../core/decoders/decodedText';
import { createDecoder, decoderUsages } from '../core/decoders/registry';
import { flag, ParsedArgs } from './args';
import { UsageError } from './errors';

export const DECODE_FLAG = { decode: { type: 'string' } } as const;

export const DECODE_HELP = `[--decode ${decoderUsages().join('|')}]`;

export function decoderFromArgs(p: ParsedArgs): Decoder | undefined {
  const spec = flag(p, 'decode');
  if (spec === undefined) return undefined;
  if (spec === 'jupyter') {
    // no file: the key of the one connection file on this machine that names the message's port
    const finder = new JupyterKeyFinder();
    return new JupyterDecoder(undefined, (endpoint) => finder.keyFor(endpoint));
  }
  try {
    return createDecoder(spec);
  } catch (e) {
    throw new UsageError(`--decode: ${(e as Error).message}`);
  }
}

/** A record as printed: the JSON Lines record (with `decoded`/`decodeError` for messages) or a human line. */
export function printRecord(r: CaptureRecord, json: boolean, decoder: Decoder | undefined): string {
  if (!decoder || r.kind !== 'message') return json ? recordToLine(r) : formatRecord(r);
  const result = decoder.decode(r);
  if (json) return JSON.stringify({ ...recordToJson(r), ...decodedFields(result) });
  return `${formatRecord(r)} ⇒ ${formatDecoded(result)}`;
}
