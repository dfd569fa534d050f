import connectPackage from '../../package.json' with { type: 'json' };
import { CliContext, type GlobalOptions } from './context.js';
import type { Handlers } from './program.js';
import { doctorCommand } from './commands/doctor.js';
import { execCommand } from './commands/exec.js';
import { supportBundleCommand } from './commands/support-bundle.js';
import { forwardCommand } from './commands/forward.js';
import { enrollCommand } from './commands/enroll.js';
import { keyShowCommand, loginCommand, logoutCommand } from './commands/login.js';
import { sftpStdioCommand } from './commands/sftp-stdio.js';
import { shellCommand } from './commands/shell.js';
import { uiCommand } from './commands/ui.js';
import { vmsCommand } from './commands/vms.js';

export function realHandlers(global: GlobalOptions): Handlers {
  const ctx = new CliContext(global);
  /** Names the command in the log (never its arguments: an enrollment code may be one). */
  const as = <T>(command: string, run: () => Promise<T>): Promise<T> => {
    ctx.command = command;
    ctx.log.info({ cmd: command, version: connectPackage.version }, `airlock ${command}`);
    return run();
  };
  return {
    enroll: (relayUrl, code, o) => as('enroll', () => enrollCommand(ctx, relayUrl, code, o)),
    login: (o) => as('login', () => loginCommand(ctx, o)),
    logout: () => as('logout', () => logoutCommand(ctx)),
    keyShow: (o) => as('key show', () => keyShowCommand(ctx, o)),
    vms: (o) => as('vms', () => vmsCommand(ctx, o)),
    shell: (vm, o) => as('shell', () => shellCommand(ctx, vm, o)),
    exec: (vm, command, o) => as('exec', () => execCommand(ctx, vm, command, o)),
    forward: (vm, specs, o) => as('forward', () => forwardCommand(ctx, vm, specs, o)),
    sftpStdio: (vm) => as('sftp-stdio', () => sftpStdioCommand(ctx, vm)),
    doctor: (vm, o) => as('doctor', () => doctorCommand(ctx, vm, o)),
    supportBundle: (file, o) => as('support-bundle', () => supportBundleCommand(ctx, file, o)),
    ui: (o) => as('ui', () => uiCommand(ctx, o)),
  };
}
