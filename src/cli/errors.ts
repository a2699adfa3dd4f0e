/** A mistake in the command line: printed with the subcommand's name, exit code 2. */
export class UsageError extends Error {}
