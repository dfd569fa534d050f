import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { flushed, remoteExitCode } from '../exit-status.js';
import { onTerminationSignals } from '../signals.js';
import { ended } from './shell.js';

/** `airlock exec <vm> -- <cmd…>`: stdout and stderr kept apart, stdin forwarded with EOF, exit code passed through. */
export async function execCommand(
  ctx: CliContext,
  vm: string,
  command: string,
  opts: { stdin: boolean },
): Promise<number> {
  return ctx.withVmSession(vm, async (session) => {
    const opened = await session.exec(command);
    if (!opened.ok) throw CliError.from(opened.error);
    const proc = opened.value;
    const stopSignals = onTerminationSignals((signal, code) => {
      process.stderr.write(`airlock: ${signal}; closing the session\n`);
      void session.close().finally(() => process.exit(code));
    });
    try {
      if (opts.stdin) process.stdin.pipe(proc.stdin);
      else proc.stdin.end();
      proc.stdout.pipe(process.stdout, { end: false });
      proc.stderr.pipe(process.stderr, { end: false });
      const exit = await proc.exit;
      await Promise.all([ended(proc.stdout), ended(proc.stderr)]);
      await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
      return await remoteExitCode(exit, session);
    } finally {
      stopSignals();
      if (opts.stdin) {
        process.stdin.unpipe(proc.stdin);
        process.stdin.pause();
      }
    }
  });
}
