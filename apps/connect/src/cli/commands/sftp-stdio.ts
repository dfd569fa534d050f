import type { CliContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { flushed } from '../exit-status.js';
import { onTerminationSignals } from '../signals.js';
import { ended } from './shell.js';

/**
 * `airlock sftp-stdio <vm>`: the VM's sftp subsystem on our stdin/stdout, so OpenSSH's client
 * can use it (`sftp -D "airlock sftp-stdio demo-vm"`). Only protocol bytes go to stdout;
 * everything else (logs, errors) goes to stderr.
 */
export async function sftpStdioCommand(ctx: CliContext, vm: string): Promise<number> {
  return ctx.withVmSession(vm, async (session) => {
    const opened = await session.openSubsystem('sftp');
    if (!opened.ok) throw CliError.from(opened.error);
    const sftp = opened.value;
    const stopSignals = onTerminationSignals((_signal, code) => {
      void session.close().finally(() => process.exit(code));
    });
    try {
      process.stdin.pipe(sftp.stdin);
      sftp.stdout.pipe(process.stdout, { end: false });
      sftp.stderr.pipe(process.stderr, { end: false });
      const exit = await sftp.exit;
      await ended(sftp.stdout);
      await flushed(process.stdout);
      // The sftp client ends the session by closing our stdin; any status is fine then.
      return exit.exitStatus ?? EXIT.ok;
    } finally {
      stopSignals();
      process.stdin.unpipe(sftp.stdin);
      process.stdin.pause();
    }
  });
}
