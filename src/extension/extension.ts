/**
 * The composition root: builds the core objects, the views and the command
 * handlers, and registers every one of them for disposal. Thin by design: all
 * protocol logic lives in src/core.
 */
import * as vscode from 'vscode';
import { Capture } from '../core/capture';
import { SessionManager } from '../core/sessionManager';
import { productVersion } from '../core/version';

export interface ExtensionApi {
  capture: Capture;
  sessions: SessionManager;
  /** The Endpoints tree's data provider (tests read its items). */
  endpoints: vscode.TreeDataProvider<unknown>;
}

export function activate(context: vscode.ExtensionContext): ExtensionApi {
  const capture = new Capture();
  const sessions = new SessionManager(capture);
  context.subscriptions.push(capture, sessions);

  const endpoints = new EndpointsTreeProvider();
  context.subscriptions.push(
    vscode.window.registerTreeDataProvider('zmqDebugger.endpoints', endpoints),
    vscode.commands.registerCommand('zmqDebugger.about.show', async () => {
      // zeromq is loaded lazily so that activation stays fast
      const { libzmqVersion } = await import('../core/version');
      const text = `ZeroMQ Topology Debugger ${productVersion()} — libzmq ${libzmqVersion()}`;
      void vscode.window.showInformationMessage(text);
      return text;
    }),
  );
  return { capture, sessions, endpoints: endpoints as vscode.TreeDataProvider<unknown> };
}

export function deactivate() {
  // everything is disposed through context.subscriptions
}

class EndpointsTreeProvider implements vscode.TreeDataProvider<string> {
  getTreeItem(element: string): vscode.TreeItem {
    return new vscode.TreeItem(element);
  }
  getChildren(): string[] {
    return vscode.workspace.getConfiguration('zmqDebugger').get<string[]>('endpoints', []);
  }
}
