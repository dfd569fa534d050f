import { rmSync } from 'node:fs';
import { constants } from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** However long the cleanup takes (each child gets SIGKILL 5 s after SIGTERM), the tool is gone by then. */
const CLEANUP_LIMIT_MS = 30_000;

/**
 * When this process is told to stop (SIGINT, SIGTERM, SIGHUP), runs `cleanup` — stopping the
 * relay, agent, sshd and forwards the tool started, removing its temporary folder — then exits as
 * that signal would have ended it (128 + n). Without it, a signal sent to the tool alone (`kill`,
 * a process manager, `timeout`, the npm bootstrap passing one on) ended the tool and left its
 * children running. `cleanup` must be safe to run twice: the tool's own `finally` may run it too.
 */
export function cleanUpOnSignal(tool: string, cleanup: () => Promise<void>): void {
  let stopping = false;
  for (const signal of SIGNALS)
    process.on(signal, () => {
      // A second signal (a repeated Ctrl-C) changes nothing: the cleanup is bounded.
      if (stopping) return;
      stopping = true;
      const code = 128 + constants.signals[signal];
      process.stderr.write(`${tool}: ${signal}: stopping the processes it started…\n`);
      setTimeout(() => process.exit(code), CLEANUP_LIMIT_MS).unref();
      cleanup().then(
        () => process.exit(code),
        (e: unknown) => {
          process.stderr.write(`${tool}: cleanup failed: ${e instanceof Error ? e.message : String(e)}\n`);
          process.exit(code);
        },
      );
    });
}

/**
 * Stops what a run started, newest first, then removes its folder (after `settleMs`, for children
 * whose files close a moment after they exit). Takes the stops out of the list, so a second call
 * (the signal's cleanup, then the tool's own `finally`) finds nothing left to stop.
 */
export async function stopAllAndRemove(
  stops: Array<() => void | Promise<void>>,
  folder: string,
  settleMs = 0,
): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop();
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  try {
    rmSync(folder, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  } catch (e) {
    console.error(`could not remove ${folder}: ${(e as Error).message}`);
  }
}
