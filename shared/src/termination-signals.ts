import { constants } from 'node:os';

export interface TerminationPolicy {
  /** The program's name at the start of what it says on stderr ("airlock", "bench"). */
  program: string;
  /**
   * How long the handler's close may take. A close that hangs — a peer that stopped answering
   * mid-close, or a bug — must not keep the process alive: after this it says so and exits with
   * the signal's code. The timer does not hold the process open by itself.
   */
  graceMs: number;
  /**
   * What a second signal does while the first is being handled. `exit`: exit at once, as a person
   * pressing Ctrl-C again expects of a command. `wait`: nothing — for a cleanup that stops child
   * processes, where exiting half-way would leave them running (the grace time still bounds it).
   */
  secondSignal: 'exit' | 'wait';
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs `handler` once on SIGINT, SIGTERM or SIGHUP with the conventional exit code (128 + the
 * signal's number), under `policy`. Returns a function that removes the handlers.
 */
export function onTerminationSignals(
  handler: (signal: NodeJS.Signals, exitCode: number) => void,
  policy: TerminationPolicy,
): () => void {
  let fired: number | undefined;
  const listeners = SIGNALS.map((signal) => {
    const listener = () => {
      if (fired !== undefined) {
        if (policy.secondSignal === 'wait') return;
        process.stderr.write(`${policy.program}: ${signal} again; exiting without closing\n`);
        process.exit(fired);
      }
      const code = 128 + (constants.signals[signal] ?? 0);
      fired = code;
      setTimeout(() => {
        const ms = policy.graceMs;
        const within = ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
        process.stderr.write(`${policy.program}: did not close within ${within} of ${signal}; exiting\n`);
        process.exit(code);
      }, policy.graceMs).unref();
      handler(signal, code);
    };
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}
