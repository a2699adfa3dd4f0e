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
import { badLineCount, ImportResult, parseJsonLines } from '../../core/capture/exportFormat';
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
        title: 'Export Capture (JSON Lines)',
        defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
        filters: { 'JSON Lines': ['jsonl'], 'All files': ['*'] },
        saveLabel: 'Export',
      });
      if (!uri) return undefined;
    }
    // a snapshot: running sessions keep appending (and evicting) while the file is written
    const records = [...capture.records()];
    const where = uri.fsPath || uri.toString();
    const started = Date.now();
    try {
      await writeCaptureFile(uri, records, stats);
    } catch (e) {
      throw new UserError(`Could not write ${where}: ${messageOf(e)}`);
    }
    log.info(`exported ${records.length} records to ${where} in ${Date.now() - started} ms (${stats.evicted} evicted, ${stats.dropped} dropped before the export)`);
    const note = stats.evicted ? ` (${formatCount(stats.evicted)} older records had been evicted and are not in it)` : '';
    void vscode.window.showInformationMessage(`Exported ${formatCount(records.length)} records to ${path.basename(where)}${note}.`);
    return { uri: uri.toString(), records: records.length };
  }

  async importCapture(arg?: unknown): Promise<ImportOutcome | undefined> {
    const { log } = this.deps;
    let uri = uriFrom(arg);
    if (!uri) {
      const picked = await vscode.window.showOpenDialog({
        title: 'Import Capture (JSON Lines)',
        canSelectMany: false,
        filters: { 'JSON Lines': ['jsonl', 'json', 'txt'], 'All files': ['*'] },
        openLabel: 'Import',
      });
      uri = picked?.[0];
      if (!uri) return undefined;
    }
    const where = uri.fsPath || uri.toString();
    let text: string;
    try {
      text = Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
    } catch (e) {
      throw new UserError(`Could not read ${where}: ${messageOf(e)}`);
    }
    const result = parseJsonLines(text);
    for (const e of result.errors) log.warn(`import ${where} line ${e.line}: ${e.message}`);
    if (!result.records.length && result.errors.length) {
      throw new UserError(`No record could be read from ${path.basename(where)}: ${describeLineErrors(result.errors)}`);
    }
    // the file opens in the frames viewer as its own capture; the live capture is untouched
    this.deps.viewer.showImported(path.basename(where), result);
    const s = result.summary;
    const original = s && (s.evicted || s.dropped) ? ` The original capture had evicted ${formatCount(s.evicted)} and dropped ${formatCount(s.dropped)}.` : '';
    const bad = badLineCount(result);
    log.info(`imported ${result.records.length} records from ${where}; ${bad} bad lines`);
    if (bad) {
      const showLog = 'Show Log';
      void vscode.window
        .showWarningMessage(
          `Imported ${formatCount(result.records.length)} records from ${path.basename(where)}; ${bad} line${bad === 1 ? '' : 's'} could not be read: ${describeLineErrors(result.errors)}.${original}`,
          showLog,
        )
        .then((p) => {
          if (p === showLog) log.show(true);
        });
    } else {
      void vscode.window.showInformationMessage(`Imported ${formatCount(result.records.length)} records from ${path.basename(where)}.${original}`);
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

/**
 * Writes a snapshot of records to `uri` in the export format (the records, then
 * the summary) with the one streaming export writer of the core: batches that
 * wait for the file to drain, so a large capture never becomes one giant string.
 * Local files stream through node:fs; other schemes are gathered and written
 * through workspace.fs. The command and the frames viewer both export here.
 */
export async function writeCaptureFile(uri: vscode.Uri, records: CaptureRecord[], totals: ExportTotals): Promise<void> {
  if (uri.scheme !== 'file') {
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk);
        done();
      },
    });
    await writeExport(records, sink, { totals });
    await vscode.workspace.fs.writeFile(uri, Buffer.concat(chunks));
    return;
  }
  const out = fs.createWriteStream(uri.fsPath);
  try {
    await writeExport(records, out, { totals });
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.end(() => resolve());
    });
  } finally {
    out.destroy();
  }
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
