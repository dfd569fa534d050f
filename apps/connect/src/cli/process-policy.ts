import { installProcessGuards, type StrayError } from '@airlock/shared';
import { EXIT } from './errors.js';

/**
 * What the `airlock` process does with a bug that reached the process level (a rejection nobody
 * handled, an exception thrown out of a callback). It always says so on stderr, naming the session;
 * that session is closed. A one-shot command (exec, shell, login…) serves one person and one
 * session, so it then exits with EXIT.internal rather than hang in a state nobody planned for;
 * a command that serves many connections for a long time (`forward`) goes on.
 */
const policy = { keepRunning: false };

/** Called by long-running commands: a bug in one session must not take the others down. */
export function keepRunningAfterBugs(): void {
  policy.keepRunning = true;
}

export function installCliProcessGuards(): void {
  installProcessGuards({
    report: reportBug,
    onUncaughtException: () => (policy.keepRunning ? 'continue' : { exit: EXIT.internal }),
  });
}

function reportBug(e: StrayError): void {
  const error = e.error as Error | undefined;
  const detail = process.env.AIRLOCK_DEBUG ? (error?.stack ?? String(e.error)) : (error?.message ?? String(e.error));
  const where = e.sid ? ` [session ${e.sid}]` : '';
  const next = policy.keepRunning ? (e.sid ? '; that session was closed, the rest goes on' : '; going on') : '';
  process.stderr.write(
    `airlock: internal error (a bug — please report it)${where}: ${detail}${next} (set AIRLOCK_DEBUG=1 for details)\n`,
  );
}
