import type { Command } from 'commander';
import type { GlobalOptions } from '../context.js';

/** The command line of `airlock passwd`, `airlock backup export|import` and `airlock keychain status|forget`. */
export function addKeyProtectionCommands(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  // The commands' code (and core with it) is loaded only when one of them runs.
  const commands = () => import('./key-protection.js');
  const ctx = async () => new (await import('../context.js')).CliContext(program.opts<GlobalOptions>());

  program
    .command('passwd')
    .description('change the password that protects your user key')
    .action(() => run(async () => (await commands()).passwdCommand(await ctx())));

  const backup = program.command('backup').description('encrypted backups of your user key and settings');
  backup
    .command('export')
    .description('write your key and Connect settings to <file>, encrypted with a backup password')
    .argument('<file>', 'where to write the backup (mode 0600)')
    .option('--force', 'replace <file> if it exists')
    .action((file: string, opts: { force?: boolean }) =>
      run(async () => (await commands()).backupExportCommand(await ctx(), file, opts)),
    );
  backup
    .command('import')
    .description('restore your key and settings from a backup on this machine')
    .argument('<file>', 'a file written by `airlock backup export`')
    .option('--force', 'replace the user key already on this machine')
    .action((file: string, opts: { force?: boolean }) =>
      run(async () => (await commands()).backupImportCommand(await ctx(), file, opts)),
    );

  const keychain = program.command('keychain').description('the OS keychain that can remember your password');
  keychain
    .command('status')
    .description('whether the OS keychain works here, and whether it remembers your password')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }) => run(async () => (await commands()).keychainStatusCommand(await ctx(), opts)));
  keychain
    .command('forget')
    .description('remove the password remembered on this device')
    .action(() => run(async () => (await commands()).keychainForgetCommand(await ctx())));
}
