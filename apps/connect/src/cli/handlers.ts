import { CliContext, type GlobalOptions } from './context.js';
import type { Handlers } from './program.js';
import { execCommand } from './commands/exec.js';
import { forwardCommand } from './commands/forward.js';
import { enrollCommand } from './commands/enroll.js';
import { keyShowCommand, loginCommand, logoutCommand } from './commands/login.js';
import { sftpStdioCommand } from './commands/sftp-stdio.js';
import { shellCommand } from './commands/shell.js';
import { uiCommand } from './commands/ui.js';
import { vmsCommand } from './commands/vms.js';

export function realHandlers(global: GlobalOptions): Handlers {
  const ctx = new CliContext(global);
  return {
    enroll: (relayUrl, code, o) => enrollCommand(ctx, relayUrl, code, o),
    login: (o) => loginCommand(ctx, o),
    logout: () => logoutCommand(ctx),
    keyShow: (o) => keyShowCommand(ctx, o),
    vms: (o) => vmsCommand(ctx, o),
    shell: (vm, o) => shellCommand(ctx, vm, o),
    exec: (vm, command, o) => execCommand(ctx, vm, command, o),
    forward: (vm, specs, o) => forwardCommand(ctx, vm, specs, o),
    sftpStdio: (vm) => sftpStdioCommand(ctx, vm),
    ui: (o) => uiCommand(ctx, o),
  };
}
