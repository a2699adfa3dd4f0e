/**
 * Where a finding or a map node points in the workspace's code: its URI, its
 * range (the rest of the line) and how to show it.
 */
import * as vscode from 'vscode';
import type { CodeLocation } from '../../core/topology/topologyFacts';

export function uriOf(file: string): vscode.Uri {
  return /^[a-z][a-z0-9+.-]*:/i.test(file) && !/^[a-z]:[\\/]/i.test(file) ? vscode.Uri.parse(file) : vscode.Uri.file(file);
}

export function rangeOf(l: CodeLocation): vscode.Range {
  const col = l.column ?? 0;
  // the whole rest of the line: VS Code clamps to its length
  return new vscode.Range(l.line, col, l.line, col + 1000);
}

export async function showLocation(l: CodeLocation, preserveFocus: boolean): Promise<void> {
  const col = l.column ?? 0;
  await vscode.window.showTextDocument(uriOf(l.file), {
    selection: new vscode.Range(l.line, col, l.line, col),
    preserveFocus,
    viewColumn: preserveFocus ? vscode.ViewColumn.Beside : undefined,
  });
}
