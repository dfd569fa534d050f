import { constants } from 'node:os';

/**
 * Runs `handler` on SIGINT, SIGTERM or SIGHUP with the conventional exit code (128 + signal
 * number). Returns a function that removes the handlers.
 */
export function onTerminationSignals(handler: (signal: NodeJS.Signals, exitCode: number) => void): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let fired = false;
  const listeners = signals.map((signal) => {
    const l = () => {
      if (fired) return;
      fired = true;
      handler(signal, 128 + (constants.signals[signal] ?? 0));
    };
    process.on(signal, l);
    return [signal, l] as const;
  });
  return () => {
    for (const [signal, l] of listeners) process.off(signal, l);
  };
}
