import { constants } from 'node:os';

/** How long a command may take to close after Ctrl-C or SIGTERM before it exits anyway. */
export const CLOSE_GRACE_MS = 5000;

/**
 * Runs `handler` on SIGINT, SIGTERM or SIGHUP with the conventional exit code (128 + signal
 * number). Returns a function that removes the handlers.
 *
 * The handler closes gracefully (sessions told, forwarded connections reset). A close that hangs —
 * a relay that stopped answering mid-close, or a bug — must not keep the command alive: after
 * `graceMs` it says so and exits with the same code, and a second signal exits at once, as a
 * person pressing Ctrl-C again expects. The timer does not hold the process open by itself.
 */
export function onTerminationSignals(
  handler: (signal: NodeJS.Signals, exitCode: number) => void,
  graceMs = CLOSE_GRACE_MS,
): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let fired: number | undefined;
  const listeners = signals.map((signal) => {
    const l = () => {
      if (fired !== undefined) {
        process.stderr.write(`airlock: ${signal} again; exiting without closing\n`);
        process.exit(fired);
      }
      const code = 128 + (constants.signals[signal] ?? 0);
      fired = code;
      setTimeout(() => {
        const within = graceMs >= 1000 ? `${Math.round(graceMs / 1000)} s` : `${graceMs} ms`;
        process.stderr.write(`airlock: did not close within ${within} of ${signal}; exiting\n`);
        process.exit(code);
      }, graceMs).unref();
      handler(signal, code);
    };
    process.on(signal, l);
    return [signal, l] as const;
  });
  return () => {
    for (const [signal, l] of listeners) process.off(signal, l);
  };
}
