import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { flushed, remoteExitCode } from '../exit-status.js';
import { enterRawMode, terminalSize } from '../terminal.js';
import { onTerminationSignals } from '../signals.js';

/**
 * `airlock shell <vm>`: a pty shell when stdin is a terminal (raw mode, live resize), else a
 * plain shell that reads commands from stdin (like ssh). The remote exit code becomes ours.
 */
export async function shellCommand(ctx: CliContext, vm: string, opts: { tty?: boolean }): Promise<number> {
  const pty = opts.tty ?? Boolean(process.stdin.isTTY);
  return ctx.withVmSession(vm, async (session) => {
    const size = terminalSize();
    const opened = await session.openShell({ pty, term: process.env.TERM || 'xterm-256color', ...size });
    if (!opened.ok) throw CliError.from(opened.error);
    const shell = opened.value;

    const restoreTerminal = pty ? enterRawMode() : () => {};
    const onResize = () => {
      const s = terminalSize();
      shell.resize(s.cols, s.rows);
    };
    if (pty && process.stdout.isTTY) process.stdout.on('resize', onResize);
    const stopSignals = onTerminationSignals((signal, code) => {
      restoreTerminal();
      process.stderr.write(`\nairlock: ${signal}; closing the session\n`);
      void session.close().finally(() => process.exit(code));
    });
    try {
      process.stdin.pipe(shell.stdin);
      shell.stdout.pipe(process.stdout, { end: false });
      shell.stderr.pipe(process.stderr, { end: false });
      const exit = await shell.exit;
      await Promise.all([ended(shell.stdout), ended(shell.stderr)]);
      await flushed(process.stdout);
      return await remoteExitCode(exit, session);
    } finally {
      stopSignals();
      process.stdout.off('resize', onResize);
      process.stdin.unpipe(shell.stdin);
      process.stdin.pause();
      restoreTerminal();
    }
  });
}

/** Resolves when a readable has delivered everything (or was destroyed). */
export function ended(r: NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean }): Promise<void> {
  return new Promise((resolve) => {
    if (r.readableEnded || r.destroyed) return resolve();
    r.once('end', resolve);
    r.once('close', resolve);
  });
}
