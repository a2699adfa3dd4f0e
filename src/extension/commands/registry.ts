/**
 * The one way a command is registered: `registry.register(id, handler)`. The id
 * must be one of COMMAND_IDS (checked by the compiler; the list is checked
 * against package.json by a unit test), each id is registered once, and a
 * handler that throws or rejects is reported the same way everywhere: an error
 * notification with the error's actions plus "Show Log", and a line in the log.
 * A cancelled prompt returns undefined and is not a failure.
 */
import * as vscode from 'vscode';
import { Log, reportError } from '../log';
import type { CommandId } from './commandIds';

export type CommandHandler = (...args: unknown[]) => unknown;

export class CommandRegistry implements vscode.Disposable {
  private readonly registrations = new Map<CommandId, vscode.Disposable>();

  constructor(private readonly log: Log) {}

  register(id: CommandId, handler: CommandHandler): void {
    if (this.registrations.has(id)) throw new Error(`command ${id} is registered twice`);
    const registration = vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await handler(...args);
      } catch (e) {
        void reportError(this.log, id, e);
        return undefined;
      }
    });
    this.registrations.set(id, registration);
  }

  /** The ids registered so far (the host tests compare them with COMMAND_IDS). */
  get registered(): CommandId[] {
    return [...this.registrations.keys()];
  }

  dispose(): void {
    for (const r of this.registrations.values()) r.dispose();
    this.registrations.clear();
  }
}

/** Runs one of our own commands by its typed id. */
export function runCommand<T = unknown>(id: CommandId, ...args: unknown[]): Thenable<T> {
  return vscode.commands.executeCommand<T>(id, ...args);
}

/** A command for a tree item, a status bar item or a CodeLens, by its typed id. */
export function commandLink(id: CommandId, title: string, args?: unknown[], tooltip?: string): vscode.Command {
  return { command: id, title, ...(args ? { arguments: args } : {}), ...(tooltip ? { tooltip } : {}) };
}
