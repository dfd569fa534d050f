import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A refusal a CLI user can act on: one line plus a hint, exit code 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Whether the module at `moduleUrl` is the program node was started with (not imported by a test). */
export function invokedDirectly(moduleUrl: string): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
