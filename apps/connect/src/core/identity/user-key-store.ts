import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, stat } from 'node:fs/promises';
import type { KeyPair } from '@microsoft/dev-tunnels-ssh';
import { err, ok, spkiPemFromPrivateKey, sshFingerprintFromPem, type Result } from '@airlock/shared';
import { ensureHome, type AirlockPaths } from '../paths.js';
import { readFileIfExists, writeFileAtomic } from '@airlock/shared';
import {
  decryptKeyFile,
  decryptWithUnlockKey,
  encodeKeyFile,
  encryptKeyFile,
  parseKeyFile,
  type KeyFile,
  type KeyFileError,
} from '@airlock/shared/key-file';

/** The user's key pair, loaded. The private key never leaves this process. */
export interface UserKey {
  privateKey: KeyObject;
  /** SPKI PEM: what an admin registers with the relay. */
  publicKeyPem: string;
  /** `SHA256:…` of the SSH public key blob — the same string the relay and agent log. */
  fingerprint: string;
  /** The key in the SSH library's form, for client authentication. */
  sshKeyPair(): Promise<KeyPair>;
}

/** What `airlock key show` needs; readable while the key is locked. */
export interface UserPublicKey {
  publicKeyPem: string;
  fingerprint: string;
}

export interface UnlockedKey {
  key: UserKey;
  /** The derived secret that opens this key file; what "remember on this device" caches. */
  unlockKey: Buffer;
}

export type UserKeyError =
  | { code: 'no_user_key'; message: string; path: string }
  | { code: 'user_key_exists'; message: string; path: string }
  | { code: 'user_key_unreadable'; message: string; path: string }
  | { code: 'user_key_unencrypted'; message: string; path: string }
  | { code: 'wrong_password'; message: string; path: string };

export function userKeyFromPrivateKey(privateKey: KeyObject): UserKey {
  const publicKeyPem = spkiPemFromPrivateKey(privateKey);
  let sshKey: Promise<KeyPair> | undefined;
  return {
    privateKey,
    publicKeyPem,
    fingerprint: sshFingerprintFromPem(publicKeyPem),
    // Loaded when first needed: the SSH library is the largest module of the CLI, and only
    // commands that open a session need it (vm-session.ts).
    sshKeyPair: () =>
      (sshKey ??= import('@airlock/shared/ssh').then((ssh) => ssh.sshKeyPairFromPrivateKey(privateKey))),
  };
}

export interface UserKeyStoreOptions {
  /** scrypt cost for files this store writes (tests use 2^14 to stay fast). */
  scryptN?: number;
}

/**
 * The password-encrypted user key file under AIRLOCK_HOME (mode 0600, format in `key-file.ts`)
 * and its public half beside it. Never overwrites a key unless told to.
 */
export class UserKeyStore {
  constructor(
    readonly paths: AirlockPaths,
    private readonly options: UserKeyStoreOptions = {},
  ) {}

  async exists(): Promise<boolean> {
    return (await readFileIfExists(this.paths.userKey)) !== undefined;
  }

  /** Generates an ECDSA P-256 key and saves it encrypted under `password`. Never overwrites. */
  async generate(password: string): Promise<Result<UnlockedKey, UserKeyError>> {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return this.save(privateKey, password);
  }

  /** Encrypts `privateKey` under `password` (fresh salt and IV) and writes both files atomically. */
  async save(
    privateKey: KeyObject,
    password: string,
    options: { overwrite?: boolean } = {},
  ): Promise<Result<UnlockedKey, UserKeyError>> {
    const path = this.paths.userKey;
    if (!options.overwrite && (await this.exists()))
      return err({
        code: 'user_key_exists',
        path,
        message: `a user key already exists at ${path}; refusing to overwrite it`,
      });
    const { file, unlockKey } = await encryptKeyFile(privateKey, password, { N: this.options.scryptN });
    await ensureHome(this.paths);
    await writeFileAtomic(path, encodeKeyFile(file), 0o600);
    await writeFileAtomic(this.paths.userPublicKey, file.publicKeyPem, 0o644);
    return ok({ key: userKeyFromPrivateKey(privateKey), unlockKey });
  }

  /** The parsed key file, still locked. */
  async readKeyFile(): Promise<Result<KeyFile, UserKeyError>> {
    const path = this.paths.userKey;
    let text: string | undefined;
    try {
      text = await readFileIfExists(path);
    } catch (e) {
      return err({ code: 'user_key_unreadable', path, message: `cannot read ${path}: ${errnoText(e)}` });
    }
    if (text === undefined) {
      const legacy = this.paths.legacyUserKey;
      if ((await readFileIfExists(legacy).catch(() => undefined)) !== undefined)
        return err({
          code: 'user_key_unencrypted',
          path: legacy,
          message: `${legacy} is an unencrypted key from an older Airlock; Airlock now keeps keys only encrypted`,
        });
      return err({ code: 'no_user_key', path, message: `no user key at ${path}` });
    }
    const parsed = parseKeyFile(text);
    return parsed.ok ? parsed : err(this.fileError(parsed.error));
  }

  /** The public key and fingerprint without the password. */
  async publicKey(): Promise<Result<UserPublicKey, UserKeyError>> {
    const file = await this.readKeyFile();
    if (!file.ok) return file;
    return ok({ publicKeyPem: file.value.publicKeyPem, fingerprint: sshFingerprintFromPem(file.value.publicKeyPem) });
  }

  async unlockWithPassword(password: string): Promise<Result<UnlockedKey, UserKeyError>> {
    const file = await this.readKeyFile();
    if (!file.ok) return file;
    const opened = await decryptKeyFile(file.value, password);
    if (!opened.ok) return err(this.fileError(opened.error));
    return ok({ key: userKeyFromPrivateKey(opened.value.privateKey), unlockKey: opened.value.unlockKey });
  }

  async unlockWithUnlockKey(unlockKey: Buffer): Promise<Result<UnlockedKey, UserKeyError>> {
    const file = await this.readKeyFile();
    if (!file.ok) return file;
    const opened = decryptWithUnlockKey(file.value, unlockKey);
    if (!opened.ok) return err(this.fileError(opened.error));
    return ok({ key: userKeyFromPrivateKey(opened.value), unlockKey });
  }

  /**
   * Makes the private key file 0600 when others may read it, and returns the mode it had; else
   * undefined. OpenSSH refuses such a key; this one is encrypted, so it is used, closed, and the
   * person is told (anyone who copied it meanwhile can try passwords against it offline).
   */
  async tightenMode(): Promise<number | undefined> {
    const mode = await this.mode().catch(() => undefined);
    if (mode === undefined || (mode & 0o077) === 0) return undefined;
    await chmod(this.paths.userKey, 0o600);
    return mode;
  }

  /** The file mode bits of the private key (for diagnostics and tests). */
  async mode(): Promise<number> {
    return (await stat(this.paths.userKey)).mode & 0o777;
  }

  private fileError(e: KeyFileError): UserKeyError {
    const path = this.paths.userKey;
    switch (e.code) {
      case 'wrong_password':
        return { code: 'wrong_password', path, message: 'wrong password' };
      case 'key_file_unencrypted':
        return { code: 'user_key_unencrypted', path, message: `${path}: ${e.message}` };
      case 'tampered':
      case 'key_file_corrupt':
      case 'key_file_unsupported':
        return { code: 'user_key_unreadable', path, message: `cannot use ${path}: ${e.message}` };
    }
  }
}

function errnoText(e: unknown): string {
  const x = e as NodeJS.ErrnoException;
  return x.code ?? x.message ?? String(e);
}
