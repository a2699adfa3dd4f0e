/**
 * Commands on the capture: export it (JSON Lines, streamed), import a file,
 * clear it. Import has one meaning everywhere: the file opens in the frames
 * viewer as a capture of its own, apart from the live one, which keeps
 * capturing untouched ("live" in the viewer switches back). The viewer's
 * Import… button does the same.
 *   executeCommand('zmqDebugger.capture.export', '/tmp/capture.jsonl')
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import * as vscode from 'vscode';
import type { Capture } from '../../core/capture/capture';
import { badLineCount, type ImportResult } from '../../core/capture/exportFormat';
import { CaptureFileError, readCaptureBytes, readCaptureFile, type ReadCaptureResult } from '../../core/pcap/captureFileReader';
import { writeRecordsPcapng, type RecordsPcapngResult } from '../../core/pcap/recordsPcapng';
import { ExportTotals, writeExport } from '../../core/capture/exportWriter';
import type { CaptureRecord } from '../../core/capture/records';
import { formatCount } from '../../shared/format';
import { Log, messageOf, UserError } from '../log';
import type { CommandRegistry } from './registry';

/** What an import read: the records now shown in the frames viewer, and the lines it could not read. */
export interface ImportOutcome {
  records: number;
  errors: { line: number; message: string }[];
}

export class CaptureCommands {
  constructor(private readonly deps: { capture: Capture; log: Log; viewer: { showImported(name: string, result: ImportResult): void } }) {}

  register(registry: CommandRegistry): void {
    registry.register('zmqDebugger.capture.export', (a) => this.exportCapture(a));
    registry.register('zmqDebugger.capture.import', (a) => this.importCapture(a));
    registry.register('zmqDebugger.capture.clear', (a) => this.clearCapture(a));
  }

  async exportCapture(arg?: unknown): Promise<{ uri: string; records: number } | undefined> {
    const { capture, log } = this.deps;
    const stats = capture.stats();
    if (!stats.retained) {
      void vscode.window.showInformationMessage('The capture is empty: nothing to export.');
      return undefined;
    }
    let uri = uriFrom(arg);
    if (!uri) {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const name = `zmq-capture-${new Date().toISOString().replace(/[:T]/g, '-').replace(/\..*$/, '')}.jsonl`;
      uri = await vscode.window.showSaveDialog({
        title: 'Export Capture (JSON Lines, or pcapng for Wireshark)',
        defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
        filters: EXPORT_FILTERS,
        saveLabel: 'Export',
      });
      if (!uri) return undefined;
    }
    // a snapshot: running sessions keep appending (and evicting) while the file is written
    const records = [...capture.records()];
    const where = uri.fsPath || uri.toString();
    const started = Date.now();
    let pcapng: RecordsPcapngResult | undefined;
    try {
      pcapng = await writeCaptureFile(uri, records, stats);
    } catch (e) {
      throw new UserError(`Could not write ${where}: ${messageOf(e)}`);
    }
    log.info(`exported ${records.length} records to ${where} in ${Date.now() - started} ms (${stats.evicted} evicted, ${stats.dropped} dropped before the export)${pcapng ? `: ${pcapngText(pcapng)}` : ''}`);
    const note = (stats.evicted ? ` (${formatCount(stats.evicted)} older records had been evicted and are not in it)` : '') + (pcapng ? `: ${pcapngText(pcapng)}` : '');
    void vscode.window.showInformationMessage(`Exported ${formatCount(records.length)} records to ${path.basename(where)}${note}.`);
    return { uri: uri.toString(), records: records.length };
  }

  async importCapture(arg?: unknown): Promise<ImportOutcome | undefined> {
    const { log } = this.deps;
    let uri = uriFrom(arg);
    if (!uri) {
      const picked = await vscode.window.showOpenDialog({
        title: 'Import Capture (JSON Lines, pcap, pcapng)',
        canSelectMany: false,
        filters: { Captures: ['jsonl', 'json', 'txt', 'pcap', 'pcapng', 'cap'], 'All files': ['*'] },
        openLabel: 'Import',
      });
      uri = picked?.[0];
      if (!uri) return undefined;
    }
    const where = uri.fsPath || uri.toString();
    const name = path.basename(where);
    // the kind of file is sniffed: the export format, or a pcap/pcapng whose ZMTP connections are decoded
    const records: CaptureRecord[] = [];
    const collect = (rs: CaptureRecord[]) => {
      for (const r of rs) records.push(r);
    };
    let read: ReadCaptureResult | undefined;
    /** Why a packet capture stopped early (cut or corrupt): what came before it is imported. */
    let cut: string | undefined;
    try {
      read = uri.scheme === 'file' ? await readCaptureFile(uri.fsPath, collect) : await readCaptureBytes(name, await vscode.workspace.fs.readFile(uri), collect);
    } catch (e) {
      if (!(e instanceof CaptureFileError) || !records.length) throw new UserError(`Could not import ${name}: ${messageOf(e)}`);
      cut = e.message;
      log.warn(`import ${where}: ${cut}`);
    }
    const result: ImportResult = { records, errors: read?.lineErrors ?? [] };
    if (read?.moreLineErrors) result.moreErrors = read.moreLineErrors;
    if (read?.summary) result.summary = read.summary;
    for (const e of result.errors) log.warn(`import ${where} line ${e.line}: ${e.message}`);
    if (!result.records.length && result.errors.length) {
      throw new UserError(`No record could be read from ${path.basename(where)}: ${describeLineErrors(result.errors)}`);
    }
    const packets = read?.stats ? packetNotes(read) : undefined;
    if (read?.stats && !records.length) {
      throw new UserError(`No ZMTP connection found in ${name} (${packets!.found}): a connection is found by its greeting, so the capture must hold its start`);
    }
    // the file opens in the frames viewer as its own capture; the live capture is untouched
    this.deps.viewer.showImported(path.basename(where), result);
    const s = result.summary;
    const original = s && (s.evicted || s.dropped) ? ` The original capture had evicted ${formatCount(s.evicted)} and dropped ${formatCount(s.dropped)}.` : '';
    const found = packets ? ` (${packets.found})` : '';
    const bad = badLineCount(result);
    log.info(`imported ${result.records.length} records from ${where}${found}; ${bad} bad lines${packets?.warnings.length ? `; ${packets.warnings.join('; ')}` : ''}`);
    const problems = [...(cut ? [`reading stopped early: ${cut}`] : []), ...(packets?.warnings ?? [])];
    if (bad || problems.length) {
      const showLog = 'Show Log';
      const lines = bad ? ` ${bad} line${bad === 1 ? '' : 's'} could not be read: ${describeLineErrors(result.errors)}.` : '';
      void vscode.window
        .showWarningMessage(`Imported ${formatCount(result.records.length)} records from ${name}${found}.${lines}${problems.length ? ` ${problems.join('; ')}.` : ''}${original}`, showLog)
        .then((p) => {
          if (p === showLog) log.show(true);
        });
    } else {
      void vscode.window.showInformationMessage(`Imported ${formatCount(result.records.length)} records from ${name}${found}.${original}`);
    }
    return { records: result.records.length, errors: result.errors };
  }

  async clearCapture(confirmed?: unknown): Promise<boolean> {
    const { retained } = this.deps.capture.stats();
    if (retained && confirmed !== true) {
      const clear = 'Clear';
      const picked = await vscode.window.showWarningMessage(
        `Clear ${formatCount(retained)} captured records and every counter? Running sessions keep capturing.`,
        { modal: true },
        clear,
      );
      if (picked !== clear) return false;
    }
    this.deps.capture.clear();
    this.deps.log.info(`capture cleared (${retained} records)`);
    return true;
  }
}

/** The save dialog's choices: the export format (lossless), or pcapng for Wireshark. */
export const EXPORT_FILTERS = { 'JSON Lines': ['jsonl'], 'pcapng (Wireshark)': ['pcapng'], 'All files': ['*'] };

/**
 * Writes a snapshot of records to `uri`: in the export format (the records,
 * then the summary) with the one streaming export writer of the core, or, for
 * a `.pcapng` file, as packets Wireshark reads (see core/pcap/recordsPcapng.ts;
 * resolves with what went into it). Both stream in batches that wait for the
 * file to drain. Local files stream through node:fs; other schemes are
 * gathered and written through workspace.fs. The command and the frames
 * viewer both export here.
 */
export async function writeCaptureFile(uri: vscode.Uri, records: CaptureRecord[], totals: ExportTotals): Promise<RecordsPcapngResult | undefined> {
  const asPcapng = /\.pcapng$/i.test(uri.path);
  let result: RecordsPcapngResult | undefined;
  const write = async (out: Writable | NodeJS.WritableStream) => {
    if (asPcapng) result = await writeRecordsPcapng(records, out);
    else await writeExport(records, out, { totals });
  };
  if (uri.scheme !== 'file') {
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk);
        done();
      },
    });
    await write(sink);
    await vscode.workspace.fs.writeFile(uri, Buffer.concat(chunks));
    return result;
  }
  const out = fs.createWriteStream(uri.fsPath);
  try {
    await write(out);
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.end(() => resolve());
    });
  } finally {
    out.destroy();
  }
  return result;
}

/** What a pcapng export holds, for the user. */
export function pcapngText(r: RecordsPcapngResult): string {
  const parts = [`${formatCount(r.packets)} packets`, `${r.connections} tap connection${r.connections === 1 ? '' : 's'}`];
  if (r.synthesized) parts.push(`${r.synthesized} ZMTP stream${r.synthesized === 1 ? '' : 's'} synthesised for messages without a TCP stream (see the packet comments)`);
  if (r.skipped) parts.push(`${formatCount(r.skipped)} records with nothing on the wire (events, sockets, processes) left out: export JSON Lines to keep them`);
  return parts.join(', ');
}

/** What a packet capture held, and what the user should know it lacked (gaps, cut messages). */
function packetNotes(read: ReadCaptureResult): { found: string; warnings: string[] } {
  const s = read.stats!;
  const warnings: string[] = [];
  if (s.gaps) warnings.push(`${s.gaps} gap${s.gaps === 1 ? '' : 's'} in ZMTP streams (${formatCount(s.missingBytes)} bytes not in the capture; not decoded past them)`);
  if (s.cutMessages) warnings.push(`${s.cutMessages} message${s.cutMessages === 1 ? '' : 's'} cut off and not captured`);
  return { found: `${s.zmtpConnections} ZMTP connection${s.zmtpConnections === 1 ? '' : 's'} in ${formatCount(s.packets)} packets`, warnings };
}

function describeLineErrors(errors: { line: number; message: string }[]): string {
  const shown = errors.slice(0, 3).map((e) => `line ${e.line}: ${e.message}`);
  return shown.join('; ') + (errors.length > 3 ? `; and ${errors.length - 3} more (see the log)` : '');
}

function uriFrom(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg) return path.isAbsolute(arg) ? vscode.Uri.file(arg) : vscode.Uri.parse(arg);
  return undefined;
}
