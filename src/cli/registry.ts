/**
 * Where zmq-debug subcommands register themselves (a module of its own so that
 * subcommand modules and main.ts do not import each other).
 */
export type Subcommand = (args: string[]) => Promise<number>;

export const subcommands = new Map<string, { summary: string; run: Subcommand }>();

export function registerSubcommand(name: string, summary: string, run: Subcommand): void {
  subcommands.set(name, { summary, run });
}
