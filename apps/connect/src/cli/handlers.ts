import type { GlobalOptions } from './context.js';
import type { Handlers } from './program.js';

/**
 * Each command's code is loaded when that command runs, not before: `airlock --help` and a
 * mistyped option need none of it, and `exec` needs no browser host or enrollment (issue 11).
 */
export function realHandlers(global: GlobalOptions): Handlers {
  const context = async () => new (await import('./context.js')).CliContext(global);
  return {
    enroll: async (relayUrl, code, o) =>
      (await import('./commands/enroll.js')).enrollCommand(await context(), relayUrl, code, o),
    login: async (o) => (await import('./commands/login.js')).loginCommand(await context(), o),
    logout: async () => (await import('./commands/login.js')).logoutCommand(await context()),
    keyShow: async (o) => (await import('./commands/login.js')).keyShowCommand(await context(), o),
    vms: async (o) => (await import('./commands/vms.js')).vmsCommand(await context(), o),
    shell: async (vm, o) => (await import('./commands/shell.js')).shellCommand(await context(), vm, o),
    exec: async (vm, command, o) => (await import('./commands/exec.js')).execCommand(await context(), vm, command, o),
    forward: async (vm, specs, o) =>
      (await import('./commands/forward.js')).forwardCommand(await context(), vm, specs, o),
    sftpStdio: async (vm) => (await import('./commands/sftp-stdio.js')).sftpStdioCommand(await context(), vm),
    ui: async (o) => (await import('./commands/ui.js')).uiCommand(await context(), o),
  };
}
