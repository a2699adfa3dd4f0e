/** What every in-host test needs: the extension's id, its activated API, and a way to print a measured number. */
import * as assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { ExtensionApi } from '../../../src/extension/extension';

export const EXTENSION_ID = 'zmq-debugger.zmq-topology-debugger';

/** Activates the extension (if it is not yet) and returns the API activate() returned. */
export async function api(): Promise<ExtensionApi> {
  const ext = vscode.extensions.getExtension<ExtensionApi>(EXTENSION_ID);
  assert.ok(ext, 'extension not loaded');
  return ext.activate();
}

/** A measured number, printed with the test output (runHost streams ZMQ_E2E_LOG). */
export function note(line: string): void {
  console.log(line);
  if (process.env.ZMQ_E2E_LOG) appendFileSync(process.env.ZMQ_E2E_LOG, `        (${line})\n`);
}
