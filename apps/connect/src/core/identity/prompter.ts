/**
 * How core asks the person for a password or a line of text when a front end hands it one: the
 * CLI's prompters ask on the terminal or through AIRLOCK_ASKPASS (cli/prompters.ts); the app asks
 * in its own screens and calls core's services with the answers instead. A prompt that cannot be
 * answered rejects with a `PromptError`, never hangs.
 */
export interface Prompter {
  password(prompt: string): Promise<string>;
  text(prompt: string): Promise<string>;
  info(message: string): void;
}

export type PromptFailure =
  | { code: 'cancelled'; message: string }
  | { code: 'no_terminal'; message: string }
  | { code: 'askpass_failed'; message: string };

export class PromptError extends Error {
  constructor(readonly failure: PromptFailure) {
    super(failure.message);
  }
}

/** The typed failure inside a rejected prompt; other errors are bugs and are rethrown. */
export function promptFailure(e: unknown): PromptFailure {
  if (e instanceof PromptError) return e.failure;
  throw e;
}
