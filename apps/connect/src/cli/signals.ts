import { onTerminationSignals as onSignals } from '@airlock/shared';

/** How long a command may take to close after Ctrl-C or SIGTERM before it exits anyway. */
export const CLOSE_GRACE_MS = 5000;

/**
 * Runs `handler` on SIGINT, SIGTERM or SIGHUP with the conventional exit code (128 + signal
 * number); returns a function that removes the handlers. The handler closes gracefully (sessions
 * told, forwarded connections reset); a close that hangs ends after `graceMs`, and a second
 * signal exits at once.
 */
export function onTerminationSignals(
  handler: (signal: NodeJS.Signals, exitCode: number) => void,
  graceMs = CLOSE_GRACE_MS,
): () => void {
  return onSignals(handler, { program: 'airlock', graceMs, secondSignal: 'exit' });
}
