import { printableText } from '@airlock/shared';
import { describeError, type ConnectError } from '../core/next-action.js';
import { nextStep } from './next-step.js';

/** Exit codes: like ssh, 255 for connection and authentication failures; remote exit codes pass through. */
export const EXIT = {
  ok: 0,
  /** An unexpected internal error (a bug). */
  internal: 1,
  /** Bad arguments. */
  usage: 2,
  /** Could not connect, log in, or open what was asked for. */
  failure: 255,
} as const;

/** An expected failure: printed as one line (`airlock: what. what to do.`), no stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }

  static from(error: ConnectError): CliError {
    return new CliError(describeError(error), nextStep(error));
  }
}

export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, hint, EXIT.usage);
  }
}

export function formatCliError(e: CliError): string {
  // A relay message may already end in the same advice ("…; ask your admin"): say it once.
  const hint = e.hint && !e.message.toLowerCase().includes(e.hint.toLowerCase()) ? ` — ${e.hint}` : '';
  // The message may quote the far side (a close reason, a relay's words): never a terminal escape.
  return `airlock: ${printableText(e.message, 2000)}${hint}`;
}
