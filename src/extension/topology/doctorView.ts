/**
 * The Doctor view: one row per finding, worst first, the full text in the
 * tooltip, and a badge with the count on the view.
 */
import * as vscode from 'vscode';
import { commandLink } from '../commands/registry';
import { baseName } from '../../core/base/bytes';
import { Diagnostic, DOCTOR_RULES } from '../../core/topology/doctor';

export class DoctorItem extends vscode.TreeItem {
  constructor(readonly finding: Diagnostic) {
    super(DOCTOR_RULES[finding.rule], vscode.TreeItemCollapsibleState.None);
    this.id = finding.id;
    const where = finding.location ? `${decodeURIComponent(baseName(finding.location.file))}:${finding.location.line + 1}` : finding.endpoint;
    this.description = where;
    this.tooltip = new vscode.MarkdownString().appendText(finding.message);
    this.iconPath =
      finding.severity === 'error'
        ? new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'))
        : finding.severity === 'warning'
          ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
          : new vscode.ThemeIcon('info', new vscode.ThemeColor('problemsInfoIcon.foreground'));
    this.contextValue = `zmq:doctor:${finding.location ? 'code' : 'live'}`;
    this.command = commandLink('zmqDebugger.doctor.open', 'Show', [this]);
    this.accessibilityInformation = { label: `${finding.severity}: ${finding.message}` };
  }
}

/** The Doctor view: one row per finding, worst first; the full text in the tooltip. */
export class DoctorTree implements vscode.TreeDataProvider<DoctorItem>, vscode.Disposable {
  private items: DoctorItem[] = [];
  private key = '';
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;

  set(findings: Diagnostic[]): void {
    const key = JSON.stringify(findings.map((d) => [d.id, d.message]));
    if (key === this.key) return;
    this.key = key;
    this.items = findings.map((d) => new DoctorItem(d));
    this.changeEmitter.fire();
  }

  getTreeItem(e: DoctorItem): vscode.TreeItem {
    return e;
  }

  getChildren(e?: DoctorItem): DoctorItem[] {
    return e ? [] : this.items;
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }
}

/** The view that shows the DoctorTree, with the number of findings as its badge. */
export class DoctorView implements vscode.Disposable {
  readonly tree = new DoctorTree();
  private readonly view = vscode.window.createTreeView('zmqDebugger.doctor', { treeDataProvider: this.tree });

  private badgeCount = 0;

  show(findings: Diagnostic[]): void {
    this.tree.set(findings);
    const n = findings.length;
    // set only when the count changes: each assignment redraws the view's badge in the renderer
    if (n === this.badgeCount) return;
    this.badgeCount = n;
    this.view.badge = n ? { value: n, tooltip: `${n} ZeroMQ problem${n === 1 ? '' : 's'}` } : undefined;
  }

  dispose(): void {
    this.view.dispose();
    this.tree.dispose();
  }
}
