/**
 * Publishes the doctor's findings that have a place in code to the Problems
 * panel, one diagnostic per finding, with its related locations. Findings that
 * concern only live sockets stay in the Doctor view.
 */
import * as vscode from 'vscode';
import type { Diagnostic } from '../../core/topology/doctor';
import { rangeOf, uriOf } from './codeLocations';

export class ProblemsPublisher implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('ZeroMQ');
  private key = '';

  publish(findings: Diagnostic[]): void {
    const located = findings.filter((d) => d.location);
    // the Problems panel flickers when replaced with the same content once a second
    const key = JSON.stringify(located.map((d) => [d.id, d.message, d.location]));
    if (key === this.key) return;
    this.key = key;
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const d of located) {
      const loc = d.location!;
      const vd = new vscode.Diagnostic(rangeOf(loc), d.message, severityOf(d));
      vd.source = 'ZeroMQ';
      vd.code = d.rule;
      if (d.related?.length) vd.relatedInformation = d.related.map((r) => new vscode.DiagnosticRelatedInformation(new vscode.Location(uriOf(r.location.file), rangeOf(r.location)), r.message));
      byFile.set(loc.file, [...(byFile.get(loc.file) ?? []), vd]);
    }
    this.collection.clear();
    for (const [file, ds] of byFile) this.collection.set(uriOf(file), ds);
  }

  dispose(): void {
    this.collection.dispose();
  }
}

function severityOf(d: Diagnostic): vscode.DiagnosticSeverity {
  return d.severity === 'error' ? vscode.DiagnosticSeverity.Error : d.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information;
}
