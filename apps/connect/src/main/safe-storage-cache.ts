import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { err, ok, writeFileAtomic, type Result } from '@airlock/shared';
import type { SecretCache, SecretCacheFailure, SecretCacheStatus } from '../core/identity/secret-cache.js';
import type { SafeStorageSeam } from './seam.js';

/**
 * The desktop app's place to remember the unlock key: Electron's safeStorage (the OS keychain's
 * key on macOS and Windows, the Secret Service or KWallet on Linux) encrypts it, and the result
 * sits in AIRLOCK_HOME (0600). Where safeStorage would only obfuscate — its `basic_text` backend,
 * used on Linux when no keyring is found — it refuses to remember, and says why.
 */
export class SafeStorageSecretCache implements SecretCache {
  readonly backend: string;
  private readonly file: string;

  constructor(
    private readonly safeStorage: SafeStorageSeam,
    home: string,
    user: string | undefined,
  ) {
    const store = safeStorage.getSelectedStorageBackend?.();
    this.backend = store ? `Electron safeStorage (${store})` : 'Electron safeStorage (the OS keychain)';
    // One file per Airlock home and user, named without the user name in clear.
    const id = createHash('sha256')
      .update(`${home}\0${user ?? '-'}`)
      .digest('hex')
      .slice(0, 16);
    this.file = join(home, `remembered-unlock-${id}.sealed`);
  }

  async status(): Promise<SecretCacheStatus> {
    if (!this.safeStorage.isEncryptionAvailable())
      return { available: false, reason: 'Electron safeStorage cannot encrypt here (no keychain available)' };
    if (this.safeStorage.getSelectedStorageBackend?.() === 'basic_text')
      return {
        available: false,
        reason:
          'Electron safeStorage found no keyring (its backend is basic_text: a fixed key that protects nothing); install and unlock GNOME Keyring or KWallet to remember the password',
      };
    return { available: true };
  }

  private async usable(): Promise<Result<void, SecretCacheFailure>> {
    const s = await this.status();
    return s.available ? ok(undefined) : err({ code: 'keychain_unavailable', message: s.reason });
  }

  async get(): Promise<Result<Buffer | undefined, SecretCacheFailure>> {
    const usable = await this.usable();
    if (!usable.ok) return usable;
    const sealed = await readFile(this.file, 'utf8').catch(() => undefined);
    if (sealed === undefined) return ok(undefined);
    try {
      const key = Buffer.from(this.safeStorage.decryptString(Buffer.from(sealed, 'base64')), 'base64');
      return ok(key.length === 32 ? key : undefined);
    } catch (e) {
      return err({
        code: 'keychain_unavailable',
        message: `cannot decrypt the remembered unlock: ${(e as Error).message}`,
      });
    }
  }

  async set(secret: Buffer): Promise<Result<void, SecretCacheFailure>> {
    const usable = await this.usable();
    if (!usable.ok) return usable;
    const sealed = this.safeStorage.encryptString(secret.toString('base64'));
    await writeFileAtomic(this.file, sealed.toString('base64'), 0o600);
    return ok(undefined);
  }

  async delete(): Promise<Result<boolean, SecretCacheFailure>> {
    const existed = await readFile(this.file).then(
      () => true,
      () => false,
    );
    await rm(this.file, { force: true });
    return ok(existed);
  }
}
