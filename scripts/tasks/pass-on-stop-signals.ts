import type { ChildProcess } from 'node:child_process';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Passes stop signals on to `child` so that it hears each stop request once. A signal sent to
 * the whole job (a terminal's Ctrl-C, closing the terminal, a supervisor) reaches the child
 * itself, and this task twice — from the sender, and passed on by the npm scripts' bootstrap
 * (scripts/run-task.mjs) a moment later; a signal sent to the bootstrap alone reaches this task
 * once and the child not at all. So a signal is passed on only if no second copy follows within
 * `copyWindowMs`; one that comes `repeatAfterMs` or more after the first is a repeated request
 * and is passed on (Electron, whose graceful quit is one shot, then stops at once).
 */
export function passOnStopSignals(
  child: Pick<ChildProcess, 'kill'>,
  on: (signal: StopSignal, handler: () => void) => void,
  { copyWindowMs = 200, repeatAfterMs = 1000 } = {},
): void {
  let first: number | undefined;
  let pending: NodeJS.Timeout | undefined;
  for (const signal of STOP_SIGNALS)
    on(signal, () => {
      const now = performance.now();
      if (first === undefined) {
        first = now;
        pending = setTimeout(() => child.kill(signal), copyWindowMs);
      } else if (now - first < copyWindowMs) {
        clearTimeout(pending); // the whole job got it: so did the child
      } else if (now - first >= repeatAfterMs) {
        child.kill(signal);
      }
    });
}
