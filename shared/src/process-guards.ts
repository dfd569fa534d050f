import { currentSession } from './session-context.js';

export type StrayKind = 'unhandledRejection' | 'uncaughtException';

/** A bug that reached the process level, with the session it happened in when known. */
export interface StrayError {
  kind: StrayKind;
  error: unknown;
  sid?: string;
}

export interface ProcessGuardOptions {
  /** Logs the bug (message, stack, sid). Must not throw; if it does, stderr gets one line. */
  report: (e: StrayError) => void;
  /**
   * After an uncaught exception: keep serving (`continue`; long-running programs serving many
   * sessions) or exit with this code (one-shot commands serving one user). See the README's
   * design note "Bugs never end a process that serves others".
   */
  onUncaughtException: UncaughtPolicy | (() => UncaughtPolicy);
}

export type UncaughtPolicy = 'continue' | { exit: number };

/**
 * The last line of defence every Airlock entry point installs. Any rejection nobody handled and
 * any exception thrown out of a callback is a bug in our code (network input is handled where it
 * arrives); here it is reported with the session it came from, that session is closed, and the
 * process goes on — one session's bug must not end every other user's session.
 * Returns a function that removes the handlers (tests).
 */
export function installProcessGuards(options: ProcessGuardOptions): () => void {
  const handle = (kind: StrayKind, error: unknown) => {
    const session = currentSession();
    try {
      options.report({ kind, error, ...(session ? { sid: session.sid } : {}) });
    } catch {
      process.stderr.write(`${kind} (bug): ${describe(error)}${session ? ` [sid ${session.sid}]` : ''}\n`);
    }
    try {
      session?.abort?.(`internal error in this session (a bug): ${describe(error)}`);
    } catch {
      // Closing the session is best effort; the report above already names it.
    }
  };
  const onRejection = (reason: unknown) => handle('unhandledRejection', reason);
  const onException = (error: unknown) => {
    handle('uncaughtException', error);
    const policy =
      typeof options.onUncaughtException === 'function' ? options.onUncaughtException() : options.onUncaughtException;
    if (policy !== 'continue') process.exit(policy.exit);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What a structured logger needs to report a stray error (pino's `error`). */
export interface BugLogger {
  error(fields: object, message: string): void;
}

/** The standard report: one `error` line with the kind, the session id when known, and the stack. */
export function logStrayError(log: BugLogger, e: StrayError): void {
  const err =
    e.error instanceof Error ? { message: e.error.message, stack: e.error.stack } : { message: String(e.error) };
  log.error(
    { bug: e.kind, ...(e.sid ? { sid: e.sid } : {}), err },
    `bug: ${e.kind === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception'} (${err.message}); ` +
      (e.sid ? 'that session is being closed, ' : '') +
      'the process goes on',
  );
}
