import { ChildProcess } from 'node:child_process';
import { Server, Socket } from 'node:net';
import { within } from './within.js';

/** One step of a test file's teardown: what it waits for (said if it fails) and the step. */
export type TeardownStep = readonly [what: string, step: () => unknown];

/**
 * Runs every step of a test file's teardown in turn, each bounded by `stepMs` and named, and
 * rejects with the first failure once all have run: a step that failed and skipped the rest would
 * leave a server listening and the file hanging until the runner's timeout with nothing said.
 * Then, if the process is still alive 15 s later, it says on stderr what holds it open.
 */
export async function tearDown(file: string, steps: readonly TeardownStep[], stepMs = 30_000): Promise<void> {
  const failures: unknown[] = [];
  for (const [what, step] of steps)
    await within(Promise.resolve().then(step), stepMs, what).catch((e: unknown) => {
      failures.push(e);
      // Said at once: several slow steps can outlast the runner's timeout for the file, which
      // then kills it before anything below is written (seen: resume-org.test.ts at 180 s).
      process.stderr.write(`${file}: teardown step failed: ${(e as Error).message}\n`);
    });
  reportWhatOutlivesTeardown(file);
  if (failures.length > 0) throw failures[0];
}

/**
 * If the process is still running `afterMs` from now, writes to stderr (which the test runner
 * shows) each handle that keeps it alive: listening servers, sockets with their ports, child
 * processes with their arguments. The timer itself holds nothing open.
 */
export function reportWhatOutlivesTeardown(file: string, afterMs = 15_000): void {
  setTimeout(() => {
    // Node's only way to name the handles, not only count their kinds; used for a diagnosis only.
    const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
    // This process's own stdout and stderr are always listed and never what keeps it alive (stdin
    // is left alone: reading process.stdin would open it).
    const lines = handles
      .filter((h) => h !== process.stdout && h !== process.stderr)
      .map(describeHandle)
      .filter((l) => l !== undefined);
    process.stderr.write(
      `${file}: still running ${afterMs / 1000} s after its teardown; held open by:\n` +
        lines.map((l) => `  ${l}\n`).join('') +
        `  (resources: ${process.getActiveResourcesInfo().join(', ')})\n`,
    );
  }, afterMs).unref();
}

/** One line for a handle; a diagnosis must never throw from its timer. */
function describeHandle(handle: unknown): string | undefined {
  try {
    return describe(handle);
  } catch (e) {
    return `a ${(handle as object | null)?.constructor?.name ?? 'handle'} (not described: ${(e as Error).message})`;
  }
}

function describe(handle: unknown): string | undefined {
  if (handle instanceof Server) return `a server listening on ${JSON.stringify(handle.address())}`;
  if (handle instanceof ChildProcess) return `child process ${handle.pid}: ${handle.spawnargs.join(' ')}`;
  if (handle instanceof Socket) {
    if (handle.remotePort !== undefined)
      return `a socket ${handle.localAddress}:${handle.localPort} → ${handle.remoteAddress}:${handle.remotePort}`;
    const fd = (handle as unknown as { _handle?: { fd?: number } })._handle?.fd;
    return `a pipe or unconnected socket (fd ${fd ?? '?'}; a child's stdio?)`;
  }
  // Timers are not handles here; the resources line counts them.
  return (handle as object | null)?.constructor?.name ?? String(handle);
}
