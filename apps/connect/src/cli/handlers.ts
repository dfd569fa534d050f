import connectPackage from '../../package.json' with { type: 'json' };
import type { CliContext, GlobalOptions } from './context.js';
import { chosenLogLevel } from './log-level.js';
import type { Handlers } from './program.js';

/** The commands that reach the relay once enrolled (not logout, key show or the key-protection ones). */
const TALKS_TO_RELAY = new Set([
  'login',
  'vms',
  'shell',
  'exec',
  'forward',
  'sftp-stdio',
  'doctor',
  'support-bundle',
  'ui',
]);

/**
 * Each command's code is loaded when that command runs, not before: `airlock --help` and a
 * mistyped option need none of it, and `exec` needs no browser host or enrollment (issue 11).
 */
export function realHandlers(global: GlobalOptions): Handlers {
  /** Names the command in the log (never its arguments: an enrollment code may be one). */
  const contextFor = async (command: string): Promise<CliContext> => {
    const ctx = new (await import('./context.js')).CliContext(global);
    ctx.command = command;
    ctx.log.info({ cmd: command, version: connectPackage.version }, `airlock ${command}`);
    // A command that talks to the relay first says, on stderr, when this device trusts the relay alone.
    if (TALKS_TO_RELAY.has(command)) await (await import('./trust-notice.js')).noticeRelayOnlyTrust(ctx);
    return ctx;
  };
  const as = async <T>(command: string, run: (ctx: CliContext) => Promise<T>): Promise<T> => {
    const ctx = await contextFor(command);
    const result = await run(ctx);
    // `enroll` says it once it has enrolled such a device.
    if (command === 'enroll' && result === 0) await (await import('./trust-notice.js')).noticeRelayOnlyTrust(ctx);
    return result;
  };
  return {
    enroll: (relayUrl, code, o) =>
      as('enroll', async (ctx) => (await import('./commands/enroll.js')).enrollCommand(ctx, relayUrl, code, o)),
    login: (o) => as('login', async (ctx) => (await import('./commands/login.js')).loginCommand(ctx, o)),
    logout: () => as('logout', async (ctx) => (await import('./commands/login.js')).logoutCommand(ctx)),
    keyShow: (o) => as('key show', async (ctx) => (await import('./commands/login.js')).keyShowCommand(ctx, o)),
    vms: (o) => as('vms', async (ctx) => (await import('./commands/vms.js')).vmsCommand(ctx, o)),
    shell: (vm, o) => as('shell', async (ctx) => (await import('./commands/shell.js')).shellCommand(ctx, vm, o)),
    exec: (vm, command, o) =>
      as('exec', async (ctx) => (await import('./commands/exec.js')).execCommand(ctx, vm, command, o)),
    forward: (vm, specs, o) =>
      as('forward', async (ctx) => (await import('./commands/forward.js')).forwardCommand(ctx, vm, specs, o)),
    sftpStdio: (vm) =>
      as('sftp-stdio', async (ctx) => (await import('./commands/sftp-stdio.js')).sftpStdioCommand(ctx, vm)),
    doctor: (vm, o) => as('doctor', async (ctx) => (await import('./commands/doctor.js')).doctorCommand(ctx, vm, o)),
    supportBundle: (file, o) =>
      as('support-bundle', async (ctx) =>
        (await import('./commands/support-bundle.js')).supportBundleCommand(ctx, file, o),
      ),
    // Serves the page first and builds the context while the browser loads it (ui.ts).
    ui: async (o) => {
      chosenLogLevel(global); // a bad level is refused before the address is given
      return (await import('./commands/ui.js')).uiCommand(() => contextFor('ui'), o);
    },
  };
}
