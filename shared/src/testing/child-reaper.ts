import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let installed = false;

/**
 * Makes `child` end with this process, however this process ends: the test runner stops a test
 * file that overran its timeout with SIGTERM, which by default ends Node at once — without the
 * `finally` that stops the programs a test started, which then ran on (seen with agents left by
 * timed-out fuzz runs). Returns `child`.
 */
export function endsWithThisProcess<C extends ChildProcess>(child: C): C {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!installed) {
    installed = true;
    const killAll = () => {
      for (const c of live) c.kill('SIGKILL');
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
