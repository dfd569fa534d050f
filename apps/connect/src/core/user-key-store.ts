import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { KeyPair } from '@microsoft/dev-tunnels-ssh';
import { err, ok, sshFingerprintFromPem, type Result } from '@airlock/shared';
import { sshKeyPairFromPem, spkiPemFromPrivateKey } from '@airlock/shared/ssh';
import { ensureHome, type AirlockPaths } from './paths.js';
import { readFileIfExists, writeFileAtomic } from '@airlock/shared';

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

export type UserKeyError =
  | { code: 'no_user_key'; message: string; path: string }
  | { code: 'user_key_exists'; message: string; path: string }
  | { code: 'user_key_unreadable'; message: string; path: string };

/**
 * How a key file's text becomes a key and back. Today: unencrypted PKCS#8 PEM. Issue 3 adds a
 * password-protected codec (scrypt + AES-256-GCM, versioned file) behind this same seam.
 */
export interface KeyFileCodec {
  encode(privateKey: KeyObject): string;
  decode(text: string): KeyObject;
}

export const plainPkcs8Codec: KeyFileCodec = {
  encode: (privateKey) => privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  decode: (text) => {
    if (!text.includes('-----BEGIN PRIVATE KEY-----'))
      throw new Error('not an unencrypted PKCS#8 PEM private key (encrypted key files need a newer Airlock)');
    return createPrivateKey({ key: text, format: 'pem' });
  },
};

export function userKeyFromPrivateKey(privateKey: KeyObject): UserKey {
  const publicKeyPem = spkiPemFromPrivateKey(privateKey);
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  let sshKey: Promise<KeyPair> | undefined;
  return {
    privateKey,
    publicKeyPem,
    fingerprint: sshFingerprintFromPem(publicKeyPem),
    sshKeyPair: () => (sshKey ??= sshKeyPairFromPem(pkcs8)),
  };
}

/** The user key file under AIRLOCK_HOME: generate once, load many times, mode 0600. */
export class UserKeyStore {
  constructor(
    readonly paths: AirlockPaths,
    private readonly codec: KeyFileCodec = plainPkcs8Codec,
  ) {}

  async exists(): Promise<boolean> {
    return (await readFileIfExists(this.paths.userKey)) !== undefined;
  }

  /** Generates an ECDSA P-256 key and saves it (0600) with its public half beside it. Never overwrites. */
  async generate(): Promise<Result<UserKey, UserKeyError>> {
    if (await this.exists())
      return err({
        code: 'user_key_exists',
        path: this.paths.userKey,
        message: `a user key already exists at ${this.paths.userKey}; refusing to overwrite it`,
      });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = userKeyFromPrivateKey(privateKey);
    await ensureHome(this.paths);
    await writeFileAtomic(this.paths.userKey, this.codec.encode(privateKey), 0o600);
    await writeFileAtomic(this.paths.userPublicKey, key.publicKeyPem, 0o644);
    return ok(key);
  }

  async load(): Promise<Result<UserKey, UserKeyError>> {
    const path = this.paths.userKey;
    let text: string | undefined;
    try {
      text = await readFileIfExists(path);
    } catch (e) {
      return err({ code: 'user_key_unreadable', path, message: `cannot read ${path}: ${errnoText(e)}` });
    }
    if (text === undefined) return err({ code: 'no_user_key', path, message: `no user key at ${path}` });
    try {
      return ok(userKeyFromPrivateKey(this.codec.decode(text)));
    } catch (e) {
      return err({ code: 'user_key_unreadable', path, message: `cannot use ${path}: ${(e as Error).message}` });
    }
  }

  /** The file mode bits of the private key (for diagnostics and tests). */
  async mode(): Promise<number> {
    return (await stat(this.paths.userKey)).mode & 0o777;
  }
}

function errnoText(e: unknown): string {
  const x = e as NodeJS.ErrnoException;
  return x.code ?? x.message ?? String(e);
}
