import { rmSync } from 'node:fs';
import { onTerminationSignals } from '@airlock/shared';
import { stopEveryChild } from './processes.js';

/** However long the cleanup takes (each child gets SIGKILL 5 s after SIGTERM), the tool is gone by then. */
const CLEANUP_LIMIT_MS = 30_000;
/** Set once a signal is being handled. */
let stopping = false;

/**
 * When this process is told to stop (SIGINT, SIGTERM, SIGHUP), runs `cleanup` — stopping the
 * relay, agent, sshd and forwards the tool started and any child still starting, removing its
 * temporary folder — then exits as that signal would have ended it (128 + n). Without it, a
 * signal sent to the tool alone (`kill`, a process manager, `timeout`, the npm bootstrap passing
 * one on) ended the tool and left its children running. The exit status is set at once, so a
 * tool that ends by itself meanwhile (`process.exit()` with no code) ends with it too. A second
 * signal (a repeated Ctrl-C) changes nothing: exiting half-way would orphan children, and the
 * cleanup is bounded.
 */
export function cleanUpOnSignal(tool: string, cleanup: () => Promise<void>): void {
  onTerminationSignals(
    (signal, code) => {
      stopping = true;
      process.exitCode = code;
      process.stderr.write(`${tool}: ${signal}: stopping the processes it started…\n`);
      // Registered on the cleanup's own promise before the tool's `finally` can wait on it, so
      // this runs first when it settles: the tool's own failure (a measurement that lost its
      // child) never gets to end the process with 1 and a stack trace.
      cleanup().then(
        () => process.exit(code),
        (e: unknown) => {
          process.stderr.write(`${tool}: cleanup failed: ${e instanceof Error ? e.message : String(e)}\n`);
          process.exit(code);
        },
      );
    },
    { program: tool, graceMs: CLEANUP_LIMIT_MS, secondSignal: 'wait' },
  );
}

const cleanups = new WeakMap<object, Promise<void>>();

/**
 * Stops what a run started, newest first, then removes its folder (after `settleMs`, for children
 * whose files close a moment after they exit). Called again for the same list — the signal's
 * cleanup, then the tool's own `finally` — it returns the same run, so the second caller waits for
 * the first to finish instead of finding the list empty and going on.
 */
export function stopAllAndRemove(
  stops: Array<() => void | Promise<void>>,
  folder: string,
  settleMs = 0,
): Promise<void> {
  let run = cleanups.get(stops);
  if (!run) {
    run = (async () => {
      for (const stop of stops.splice(0).reverse()) await stop();
      // Children still starting are in no list yet.
      if (stopping) await stopEveryChild();
      if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
      try {
        rmSync(folder, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      } catch (e) {
        console.error(`could not remove ${folder}: ${(e as Error).message}`);
      }
    })();
    cleanups.set(stops, run);
  }
  return run;
}
