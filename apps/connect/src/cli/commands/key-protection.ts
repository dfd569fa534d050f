import { readFileIfExists } from '@airlock/shared';
import { parseBackup, type BackupRestored } from '../../core/identity/key-backup.js';
import { KeychainCache, probeKeychain } from '../../core/identity/keytar-secret-cache.js';
import { promptFailure, type Prompter } from '../../core/identity/prompter.js';
import { confirmNewPassword, type NewPasswordFailure } from '../prompters.js';
import type { UserKey, UserKeyError } from '../../core/identity/user-key-store.js';
import { UserKeyVault, type BackupFileError } from '../../core/identity/user-key-vault.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';

/**
 * What `airlock passwd`, `airlock backup export|import` and `airlock keychain status|forget` do
 * (their command line is in key-protection-commands.ts): looking after the password-encrypted
 * user key. Prompts go to the terminal (or AIRLOCK_ASKPASS); results to stdout; failures are one
 * line and exit 255.
 */
const FORGOT_HINT = 'if you forgot it, restore a backup with `airlock backup import <file> --force`';

function keyError(e: UserKeyError | NewPasswordFailure | BackupFileError): CliError {
  switch (e.code) {
    case 'cancelled':
      return new CliError('cancelled');
    case 'askpass_failed':
      return new CliError(e.message, 'check the program AIRLOCK_ASKPASS names');
    case 'wrong_password':
      return new CliError(e.message, 'path' in e ? FORGOT_HINT : undefined);
    case 'no_user_key':
      return new CliError(e.message, 'run `airlock enroll`, or `airlock backup import <file>`');
    case 'user_key_unencrypted':
      return new CliError(e.message, 'move it away, then run `airlock enroll` or `airlock backup import <file>`');
    case 'user_key_exists':
      return new CliError(e.message, 'use --force to replace it (export a backup of it first)');
    default:
      return new CliError(e.message);
  }
}

async function keychainFor(ctx: CliContext): Promise<KeychainCache> {
  const config = await ctx.readConfig();
  return new KeychainCache({ home: ctx.paths.home, user: config.user });
}

/** Asks for the current password (three tries); never uses the keychain: these commands need the person. */
async function unlockByPassword(vault: UserKeyVault, prompter: Prompter): Promise<UserKey> {
  const unlocked = await vault.unlock(prompter);
  if (!unlocked.ok) throw keyError(unlocked.error);
  return unlocked.value.key;
}

async function newPassword(prompter: Prompter, label?: string): Promise<string> {
  const chosen = await confirmNewPassword(prompter, { label });
  if (!chosen.ok) throw keyError(chosen.error);
  return chosen.value;
}

export async function passwdCommand(ctx: CliContext): Promise<number> {
  const vault = new UserKeyVault(ctx.keys, ctx.store);
  const prompter = ctx.prompter;
  const key = await unlockByPassword(vault, prompter);
  const password = await newPassword(prompter);
  const changed = await vault.rekey(key, password, { keychain: await keychainFor(ctx) });
  if (!changed.ok) throw keyError(changed.error);
  process.stdout.write(`changed the password of your key ${key.fingerprint}\n`);
  if (changed.value.keychain === 'updated')
    process.stdout.write('the password remembered on this device was updated\n');
  if (changed.value.keychain === 'forgotten')
    process.stdout.write('the keychain refused the new password, so this device no longer remembers it\n');
  return EXIT.ok;
}

export async function backupExportCommand(ctx: CliContext, file: string, opts: { force?: boolean }): Promise<number> {
  if (!opts.force && (await readFileIfExists(file).catch(() => '')) !== undefined)
    throw new CliError(`${file} already exists; refusing to overwrite it`, 'choose another file or use --force');
  const vault = new UserKeyVault(ctx.keys, ctx.store);
  const prompter = ctx.prompter;
  const key = await unlockByPassword(vault, prompter);
  prompter.info('Choose a password for the backup (needed to import it; keep it apart from the file).');
  const backupPassword = await newPassword(prompter, 'backup password');
  const { relayUrl, relayPin, user, deviceId } = await ctx.readConfig();
  const settings = { relayUrl, relayPin, user, deviceId };
  const written = await vault.exportBackup(key, file, backupPassword, settings, { overwrite: opts.force });
  if (!written.ok) throw keyError(written.error);
  process.stdout.write(`wrote an encrypted backup of your key ${key.fingerprint} to ${file}\n`);
  return EXIT.ok;
}

export async function backupImportCommand(ctx: CliContext, file: string, opts: { force?: boolean }): Promise<number> {
  if (!opts.force && (await ctx.keys.exists()))
    throw keyError({
      code: 'user_key_exists',
      path: ctx.paths.userKey,
      message: `a user key already exists at ${ctx.paths.userKey}; refusing to overwrite it`,
    });
  // Fail on a missing or foreign file before asking for anything.
  let text: string | undefined;
  try {
    text = await readFileIfExists(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EFBIG') throw new CliError(`${(e as Error).message}: that is not an Airlock key backup`);
    throw new CliError(`cannot read ${file}: ${code ?? (e as Error).message}`);
  }
  if (text === undefined) throw new CliError(`no backup file at ${file}`);
  const parsed = parseBackup(text);
  if (!parsed.ok) throw keyError(parsed.error);

  const vault = new UserKeyVault(ctx.keys, ctx.store);
  const prompter = ctx.prompter;
  const restored = await openBackupAsking(vault, prompter, file);
  prompter.info('Choose the password that will protect your key on this machine.');
  const password = await newPassword(prompter);
  const done = await vault.restoreBackup(restored, password, {
    force: opts.force,
    keychain: await keychainFor(ctx),
  });
  if (!done.ok) throw keyError(done.error);
  const { relayUrl, user } = done.value.config;
  const where = [relayUrl && `relay ${relayUrl}`, user && `user ${user}`].filter(Boolean).join(', ');
  process.stdout.write(`restored your key ${done.value.key.fingerprint}${where ? ` (${where})` : ''} from ${file}\n`);
  return EXIT.ok;
}

async function openBackupAsking(vault: UserKeyVault, prompter: Prompter, file: string): Promise<BackupRestored> {
  for (let i = 1; ; i++) {
    let password: string;
    try {
      password = await prompter.password(`Backup password for ${file}: `);
    } catch (e) {
      throw keyError(promptFailure(e));
    }
    const restored = await vault.openBackup(file, password);
    if (restored.ok) return restored.value;
    if (restored.error.code !== 'wrong_password' || i === 3) throw keyError(restored.error);
    prompter.info('wrong backup password; try again');
  }
}

export async function keychainStatusCommand(ctx: CliContext, opts: { json?: boolean }): Promise<number> {
  const status = await probeKeychain();
  const cache = await keychainFor(ctx);
  const stored = status.available ? await cache.get() : undefined;
  const remembered = stored?.ok ? stored.value !== undefined : undefined;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ...status, remembered: remembered ?? null, account: cache.account }) + '\n');
    return EXIT.ok;
  }
  if (!status.available) process.stdout.write(`keychain: not available (${status.reason})\n`);
  else
    process.stdout.write(
      `keychain: available; ${remembered ? 'your password is remembered on this device' : 'nothing remembered on this device'}\n`,
    );
  return EXIT.ok;
}

export async function keychainForgetCommand(ctx: CliContext): Promise<number> {
  const removed = await (await keychainFor(ctx)).delete();
  if (!removed.ok) throw new CliError(`cannot reach the keychain: ${removed.error.message}`, 'nothing was changed');
  process.stdout.write(
    removed.value ? 'forgot the password remembered on this device\n' : 'nothing was remembered on this device\n',
  );
  return EXIT.ok;
}
