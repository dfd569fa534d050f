import type { ChildProcess } from 'node:child_process';

/** Each live child, and whether its whole process group (a `detached` child's) goes with it. */
const live = new Map<ChildProcess, boolean>();
let installed = false;

/**
 * Makes `child` end with this process, however this process ends: the test runner stops a test
 * file that overran its timeout with SIGTERM, which by default ends Node at once — without the
 * `finally` that stops the programs a test started, which then ran on (seen with agents left by
 * timed-out fuzz runs). `group`: the child was spawned `detached` and leads a process group,
 * all of which goes (the programs it started too). Returns `child`.
 */
export function endsWithThisProcess<C extends ChildProcess>(child: C, { group = false } = {}): C {
  live.set(child, group);
  child.once('exit', () => live.delete(child));
  if (!installed) {
    installed = true;
    const killAll = () => {
      for (const [c, group] of live)
        try {
          if (group && c.pid !== undefined) process.kill(-c.pid, 'SIGKILL');
          else c.kill('SIGKILL');
        } catch {
          // already gone
        }
    };
    process.on('exit', killAll);
    for (const [signal, code] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const)
      process.once(signal, () => {
        killAll();
        process.exit(code);
      });
  }
  return child;
}
