import { createPrivateKey, type KeyObject } from 'node:crypto';
import { err, ok, readFileIfExists, writeFileAtomic, type Result } from '@airlock/shared';
import { ConnectConfig, type ConfigStore } from './config-store.js';
import {
  decryptBackup,
  encryptBackup,
  parseBackup,
  BackupConfig,
  type BackupError,
  type BackupRestored,
} from './key-backup.js';
import type { SecretCache } from './secret-cache.js';
import { promptFailure, type PromptFailure, type Prompter } from './prompter.js';
import type { UserKey, UserKeyError, UserKeyStore } from './user-key-store.js';

export interface KeychainOptions {
  /** Where the unlock key may be remembered (the OS keychain…); without it nothing is remembered or looked up. */
  keychain?: SecretCache;
  /** After a password unlock, store the unlock key in `keychain` ("remember on this device"). */
  remember?: boolean;
}

export interface Unlocked {
  key: UserKey;
  source: 'keychain' | 'password';
  /** Whether the keychain now holds this key's unlock key. */
  remembered: boolean;
}

export type UnlockError = UserKeyError | PromptFailure;
export type BackupFileError =
  BackupError | { code: 'backup_unreadable'; message: string } | { code: 'backup_exists'; message: string };
export type ImportError = UserKeyError | BackupFileError;

/** 'updated': the keychain holds the new unlock key; 'forgotten': the stale entry was removed. */
export type KeychainChange = 'updated' | 'forgotten' | 'untouched';

/**
 * The user key's life cycle on top of the encrypted key file: create, unlock (keychain first, then
 * up to three password tries), change password, and encrypted backup export/import with the
 * Connect settings. Expected failures are typed results; prompts that are cancelled become
 * `{ code: 'cancelled' }`.
 */
export class UserKeyVault {
  constructor(
    readonly store: UserKeyStore,
    readonly config: ConfigStore,
  ) {}

  /** Saves `privateKey` (a KeyObject or PKCS#8/SEC1 PEM) under `password`; remembers it if asked. */
  async create(
    privateKey: KeyObject | string,
    password: string,
    options: KeychainOptions & { overwrite?: boolean } = {},
  ): Promise<Result<Unlocked & { keychainError?: string }, UserKeyError>> {
    const keyObject = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
    const saved = await this.store.save(keyObject, password, { overwrite: options.overwrite });
    if (!saved.ok) return saved;
    const r = await this.remember(saved.value.unlockKey, options);
    return ok({ key: saved.value.key, source: 'password', ...r });
  }

  /**
   * The private key, unlocked: with the keychain's remembered unlock key when there is one that
   * fits, else by asking the password (`tries` times, saying "wrong password" after each miss).
   * A remembered key that no longer fits (password changed elsewhere) is removed.
   */
  async unlock(
    prompter: Prompter,
    options: KeychainOptions & { tries?: number; prompt?: string } = {},
  ): Promise<Result<Unlocked, UnlockError>> {
    const file = await this.store.publicKey();
    if (!file.ok) return file;
    const loose = await this.store.tightenMode().catch(() => undefined);
    if (loose !== undefined)
      prompter.info(
        `your key file ${this.store.paths.userKey} was readable by others (mode 0${loose.toString(8)}); it is 0600 now — ` +
          'anyone who copied it meanwhile could try passwords against it offline',
      );
    const { keychain } = options;
    if (keychain) {
      const cached = await keychain.get();
      if (cached.ok && cached.value) {
        const opened = await this.store.unlockWithUnlockKey(cached.value);
        if (opened.ok) return ok({ key: opened.value.key, source: 'keychain', remembered: true });
        if (opened.error.code !== 'wrong_password') return opened;
        await keychain.delete();
        prompter.info('the password remembered on this device no longer fits the key; forgot it');
      }
    }
    const tries = options.tries ?? 3;
    const prompt = options.prompt ?? `Password for your Airlock key ${file.value.fingerprint}: `;
    for (let i = 1; i <= tries; i++) {
      let password: string;
      try {
        password = await prompter.password(prompt);
      } catch (e) {
        return err(promptFailure(e));
      }
      const opened = await this.store.unlockWithPassword(password);
      if (opened.ok) {
        const r = await this.remember(opened.value.unlockKey, options);
        if (r.keychainError) prompter.info(`could not remember the password on this device: ${r.keychainError}`);
        return ok({ key: opened.value.key, source: 'password', remembered: r.remembered });
      }
      if (opened.error.code !== 'wrong_password') return opened;
      prompter.info(i < tries ? 'wrong password; try again' : 'wrong password');
    }
    return err({ code: 'wrong_password', path: this.store.paths.userKey, message: `wrong password (${tries} tries)` });
  }

  /** Checks a password without changing anything. */
  async verifyPassword(password: string): Promise<Result<UserKey, UserKeyError>> {
    const opened = await this.store.unlockWithPassword(password);
    return opened.ok ? ok(opened.value.key) : opened;
  }

  /**
   * Re-encrypts the key under `newPassword` with a fresh salt and IV. A remembered unlock key is
   * replaced by the new one (or removed if the keychain refuses the new one).
   */
  async changePassword(
    oldPassword: string,
    newPassword: string,
    options: { keychain?: SecretCache } = {},
  ): Promise<Result<{ key: UserKey; keychain: KeychainChange }, UserKeyError>> {
    const opened = await this.store.unlockWithPassword(oldPassword);
    if (!opened.ok) return opened;
    return this.rekey(opened.value.key, newPassword, options);
  }

  /** `changePassword` for a key already unlocked (by `unlock`), saving one slow key derivation. */
  async rekey(
    key: UserKey,
    newPassword: string,
    options: { keychain?: SecretCache } = {},
  ): Promise<Result<{ key: UserKey; keychain: KeychainChange }, UserKeyError>> {
    const saved = await this.store.save(key.privateKey, newPassword, { overwrite: true });
    if (!saved.ok) return saved;
    let change: KeychainChange = 'untouched';
    const kc = options.keychain;
    if (kc) {
      const had = await kc.get();
      if (had.ok && had.value) change = (await kc.set(saved.value.unlockKey)).ok ? 'updated' : 'forgotten';
      if (change === 'forgotten') await kc.delete();
    }
    return ok({ key: saved.value.key, keychain: change });
  }

  /** Writes an encrypted backup (0600) of `key` and `settings`. Refuses to replace a file unless `overwrite`. */
  async exportBackup(
    key: UserKey,
    file: string,
    backupPassword: string,
    settings: BackupConfig,
    options: { overwrite?: boolean; scryptN?: number } = {},
  ): Promise<Result<void, BackupFileError>> {
    if (!options.overwrite && (await readFileIfExists(file).catch(() => '')) !== undefined)
      return err({ code: 'backup_exists', message: `${file} already exists; refusing to overwrite it` });
    const text = await encryptBackup(key.privateKey, BackupConfig.parse(settings), backupPassword, {
      N: options.scryptN,
    });
    await writeFileAtomic(file, text, 0o600);
    return ok(undefined);
  }

  /** Opens a backup file with its password (nothing is written). */
  async openBackup(file: string, backupPassword: string): Promise<Result<BackupRestored, BackupFileError>> {
    let text: string | undefined;
    try {
      text = await readFileIfExists(file);
    } catch (e) {
      return err({ code: 'backup_unreadable', message: `cannot read ${file}: ${(e as Error).message}` });
    }
    if (text === undefined) return err({ code: 'backup_unreadable', message: `no backup file at ${file}` });
    const parsed = parseBackup(text);
    return parsed.ok ? decryptBackup(parsed.value, backupPassword) : parsed;
  }

  /**
   * Installs an opened backup here: the key under `newPassword`, and its settings over the
   * current config. Refuses to replace an existing key unless `force`; a replaced key's
   * remembered unlock key is removed.
   */
  async restoreBackup(
    restored: BackupRestored,
    newPassword: string,
    options: { force?: boolean; keychain?: SecretCache } = {},
  ): Promise<Result<{ key: UserKey; config: BackupConfig }, ImportError>> {
    let current: ConnectConfig = {};
    try {
      current = await this.config.readConfig();
    } catch {
      // An unreadable config is replaced by the backup's settings.
    }
    const merged = { ...current, ...definedOnly(restored.config) };
    const valid = ConnectConfig.safeParse(merged);
    if (!valid.success)
      return err({
        code: 'backup_corrupt',
        message: `the backup's settings are invalid: ${valid.error.issues[0]?.message ?? 'invalid'}`,
      });
    const saved = await this.store.save(restored.privateKey, newPassword, { overwrite: options.force });
    if (!saved.ok) return saved;
    if (options.force) await options.keychain?.delete();
    await this.config.writeConfig(valid.data);
    return ok({ key: saved.value.key, config: restored.config });
  }

  /** `openBackup` then `restoreBackup`, for callers that already have both passwords. */
  async importBackup(
    file: string,
    backupPassword: string,
    newPassword: string,
    options: { force?: boolean; keychain?: SecretCache } = {},
  ): Promise<Result<{ key: UserKey; config: BackupConfig }, ImportError>> {
    if (!options.force && (await this.store.exists()))
      return err({
        code: 'user_key_exists',
        path: this.store.paths.userKey,
        message: `a user key already exists at ${this.store.paths.userKey}; refusing to overwrite it`,
      });
    const opened = await this.openBackup(file, backupPassword);
    if (!opened.ok) return opened;
    return this.restoreBackup(opened.value, newPassword, options);
  }

  private async remember(
    unlockKey: Buffer,
    options: KeychainOptions,
  ): Promise<{ remembered: boolean; keychainError?: string }> {
    if (!options.remember || !options.keychain) return { remembered: false };
    const set = await options.keychain.set(unlockKey);
    return set.ok ? { remembered: true } : { remembered: false, keychainError: set.error.message };
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
