/**
 * The "ZeroMQ" log (a LogOutputChannel: levels, timestamps, "Set Log Level"),
 * and the one way command failures reach the user: a notification with actions
 * and a line in the log, never a silent rejection.
 */
import * as vscode from 'vscode';

export type Log = vscode.LogOutputChannel;

export function createLog(): Log {
  return vscode.window.createOutputChannel('ZeroMQ', { log: true });
}

/** A button on an error notification. */
export interface ErrorAction {
  title: string;
  run(): unknown;
}

/** An error whose message is meant for the user as it is, with actions that help. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly actions: ErrorAction[] = [],
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Shows `err` as an error notification (with its actions plus "Show Log") and
 * logs it. Resolves when the notification is dismissed or an action ran; callers
 * usually do not wait.
 */
export async function reportError(log: Log, context: string, err: unknown): Promise<void> {
  const message = messageOf(err);
  if (err instanceof UserError) log.error(`${context}: ${message}`);
  else log.error(`${context}: ${err instanceof Error ? (err.stack ?? message) : message}`);
  const actions = err instanceof UserError ? err.actions : [];
  const showLog: ErrorAction = { title: 'Show Log', run: () => log.show(true) };
  const all = [...actions, showLog];
  const picked = await vscode.window.showErrorMessage(message, ...all.map((a) => a.title));
  const action = all.find((a) => a.title === picked);
  if (action) {
    try {
      await action.run();
    } catch (e) {
      log.error(`${context} (action '${action.title}'): ${messageOf(e)}`);
    }
  }
}
