import type { Result } from '@airlock/shared';

/**
 * Where a front end may remember the key file's unlock key (never the password) so the person
 * need not type the password at every login. Core knows only this interface; the CLI and the
 * browser-mode host use the OS keychain through keytar (keytar-secret-cache.ts), the desktop app
 * Electron's safeStorage (main/). Every call is bounded in time and returns a result.
 */
export interface SecretCache {
  /** What keeps the secret, for people ("OS keychain", "Electron safeStorage (gnome_libsecret)"). */
  readonly backend: string;
  /** Whether it can keep a secret here, and if not why. Probes the backend (may take a moment). */
  status(): Promise<SecretCacheStatus>;
  /** The remembered secret, or undefined when none is stored. */
  get(): Promise<Result<Buffer | undefined, SecretCacheFailure>>;
  set(secret: Buffer): Promise<Result<void, SecretCacheFailure>>;
  /** True if an entry was removed. */
  delete(): Promise<Result<boolean, SecretCacheFailure>>;
}

export type SecretCacheStatus = { available: true } | { available: false; reason: string };
export type SecretCacheFailure = { code: 'keychain_unavailable'; message: string };
