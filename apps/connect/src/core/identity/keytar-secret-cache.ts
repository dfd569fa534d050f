import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { err, ok, type Result } from '@airlock/shared';
import type { SecretCache, SecretCacheFailure, SecretCacheStatus } from './secret-cache.js';

/**
 * The OS keychain (macOS Keychain, Windows Credential Vault, Secret Service on Linux) through
 * `keytar`, which is optional: it may be missing, fail to load, or load and then fail or hang
 * (no D-Bus, locked keyring waiting for a prompt). Every call here is time-bounded and returns a
 * result; nothing throws to callers. What is stored is the key file's unlock key, never the password.
 */

export const KEYCHAIN_SERVICE = 'airlock';
const DEFAULT_TIMEOUT_MS = 2000;

/** The part of keytar we use; tests and callers may pass their own. */
export interface KeytarLike {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

export type KeychainStatus = SecretCacheStatus;
export type KeychainFailure = SecretCacheFailure;

let loaded: Promise<Result<KeytarLike, string>> | undefined;

/** Loads keytar once; a missing or broken native module becomes a reason, not an exception. */
export function loadKeytar(): Promise<Result<KeytarLike, string>> {
  loaded ??= Promise.resolve().then(requireKeytar);
  return loaded;
}

function requireKeytar(): Result<KeytarLike, string> {
  // A specifier held in a variable: keytar is optional, so the type-check must not need it installed.
  const specifier: string = 'keytar';
  let m: unknown;
  try {
    // `require`, not `import()`: keytar is CommonJS, and the session commands run the CLI as one
    // script (cli/cached-script.ts), where an `import()` makes Node print an experimental warning.
    m = createRequire(import.meta.url)(specifier);
  } catch (e) {
    // keytar is optional: it only builds where libsecret's headers were present at install time.
    // keytar itself missing, not one of its files (a native build that was never made).
    const missing = (e as { code?: string }).code === 'MODULE_NOT_FOUND' && oneLine(e).includes(`'${specifier}'`);
    return missing
      ? err(
          'the keychain module (keytar) is not installed; on Debian/Ubuntu: apt-get install libsecret-1-dev, then npm ci',
        )
      : err(`the keychain module (keytar) does not load (${oneLine(e)})`);
  }
  const k = ((m as { default?: KeytarLike }).default ?? m) as KeytarLike;
  return typeof k.setPassword === 'function' ? ok(k) : err('the keytar module has no setPassword');
}

/**
 * `p` or, after `ms`, a timeout error. A hung native call cannot be cancelled; it is left behind
 * (the CLI exits explicitly when done). The timer stays ref'd: if nothing else holds the event
 * loop, an unref'd timer would let the process end silently in the middle of a command.
 */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e)),
    );
  });
}

function oneLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0]!.trim() || 'unknown error';
}

async function keytarOr(given: KeytarLike | undefined): Promise<Result<KeytarLike, string>> {
  return given ? ok(given) : loadKeytar();
}

/**
 * Whether the keychain works: writes, reads back and deletes a throwaway entry. A read alone is
 * fooled (it "succeeds" with nothing stored when there is no keyring at all).
 */
export async function probeKeychain(
  options: { timeoutMs?: number; keytar?: KeytarLike } = {},
): Promise<KeychainStatus> {
  const ms = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const k = await keytarOr(options.keytar);
  if (!k.ok) return { available: false, reason: k.error };
  const keytar = k.value;
  const account = `probe-${randomBytes(8).toString('hex')}`;
  const value = randomBytes(16).toString('base64');
  try {
    await within(
      (async () => {
        await keytar.setPassword(KEYCHAIN_SERVICE, account, value);
        const back = await keytar.getPassword(KEYCHAIN_SERVICE, account);
        if (back !== value) throw new Error('the keychain did not return what was just stored');
        if (!(await keytar.deletePassword(KEYCHAIN_SERVICE, account)))
          throw new Error('the keychain could not delete a test entry');
      })(),
      ms,
      'the keychain',
    );
    return { available: true };
  } catch (e) {
    // Best effort: do not leave the test entry behind if only the delete failed or timed out.
    void within(keytar.deletePassword(KEYCHAIN_SERVICE, account), ms, 'cleanup').catch(() => undefined);
    return { available: false, reason: oneLine(e) };
  }
}

/** The account for one Airlock home and user: two homes (or users) never share an entry. */
export function keychainAccount(home: string, user: string | undefined): string {
  return `unlock-key:${user ?? '-'}@${home}`;
}

/** The cached unlock key for one key file, in the OS keychain. */
export class KeychainCache implements SecretCache {
  readonly service = KEYCHAIN_SERVICE;
  readonly backend = 'the OS keychain';
  readonly account: string;
  private readonly timeoutMs: number;
  private readonly keytar: KeytarLike | undefined;

  constructor(options: { home: string; user?: string; timeoutMs?: number; keytar?: KeytarLike }) {
    this.account = keychainAccount(options.home, options.user);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.keytar = options.keytar;
  }

  status(): Promise<SecretCacheStatus> {
    return probeKeychain({ timeoutMs: this.timeoutMs, ...(this.keytar ? { keytar: this.keytar } : {}) });
  }

  private async call<T>(what: string, fn: (k: KeytarLike) => Promise<T>): Promise<Result<T, KeychainFailure>> {
    const k = await keytarOr(this.keytar);
    if (!k.ok) return err({ code: 'keychain_unavailable', message: k.error });
    try {
      return ok(await within(fn(k.value), this.timeoutMs, `the keychain (${what})`));
    } catch (e) {
      return err({ code: 'keychain_unavailable', message: oneLine(e) });
    }
  }

  /** The remembered unlock key, or undefined when none is stored (or it is not one of ours). */
  async get(): Promise<Result<Buffer | undefined, KeychainFailure>> {
    const got = await this.call('read', (k) => k.getPassword(this.service, this.account));
    if (!got.ok) return got;
    if (got.value === null) return ok(undefined);
    const key = Buffer.from(got.value, 'base64');
    return ok(key.length === 32 ? key : undefined);
  }

  async set(unlockKey: Buffer): Promise<Result<void, KeychainFailure>> {
    return this.call('write', (k) => k.setPassword(this.service, this.account, unlockKey.toString('base64')));
  }

  /** True if an entry was removed. */
  async delete(): Promise<Result<boolean, KeychainFailure>> {
    return this.call('delete', (k) => k.deletePassword(this.service, this.account));
  }
}
