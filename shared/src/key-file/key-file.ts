import { createPrivateKey, type KeyObject } from 'node:crypto';
import * as z from 'zod';
import { err, ok, type Result } from '../result.js';
import { spkiPemFromPrivateKey } from '../spki.js';
import {
  deriveUnlockKey,
  GcmParams,
  newKdfInput,
  open,
  ScryptParams,
  seal,
  type KdfInput,
  type OpenError,
} from './sealed-box.js';
import { lazySchema } from '../lazy-schema.js';

/**
 * A private key at rest — Connect's device key (issue 3 §3), and the organisation's root and
 * approver keys (`airlock-org`): a versioned JSON file, the PKCS#8 DER sealed with
 * scrypt + AES-256-GCM. The public key stays in clear so `airlock key show` works while locked;
 * it is part of the authenticated header, so it cannot be swapped for another.
 */
export const KEY_FILE_FORMAT = 'airlock-key';
export const KEY_FILE_VERSION = 1;

export const KeyFile = lazySchema(() =>
  z.object({
    format: z.literal(KEY_FILE_FORMAT),
    version: z.literal(KEY_FILE_VERSION),
    kdf: ScryptParams,
    cipher: GcmParams,
    ciphertext: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'not base64'),
    publicKeyPem: z.string().startsWith('-----BEGIN PUBLIC KEY-----'),
  }),
);
export type KeyFile = z.infer<typeof KeyFile>;

export type KeyFileError =
  | OpenError
  | { code: 'key_file_corrupt'; message: string }
  | { code: 'key_file_unsupported'; message: string }
  | { code: 'key_file_unencrypted'; message: string };

export interface Decrypted {
  privateKey: KeyObject;
  /** What the keychain may cache to skip the password next time. */
  unlockKey: Buffer;
}

/** Every header field except the tag, in a fixed order: the GCM additional authenticated data. */
function headerAad(kdf: ScryptParams, iv: string, publicKeyPem: string): Buffer {
  const fields = [KEY_FILE_FORMAT, KEY_FILE_VERSION, kdf.name, kdf.N, kdf.r, kdf.p, kdf.salt, kdf.check];
  return Buffer.from(JSON.stringify([...fields, 'aes-256-gcm', iv, publicKeyPem]), 'utf8');
}

/** Seals `privateKey` under an already derived unlock key (re-use after unlocking, or for a fresh file). */
export function encryptWithUnlockKey(privateKey: KeyObject, unlockKey: Buffer, kdf: KdfInput): KeyFile {
  const publicKeyPem = spkiPemFromPrivateKey(privateKey);
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  try {
    const sealed = seal(der, unlockKey, kdf, (k, iv) => headerAad(k, iv, publicKeyPem));
    return { format: KEY_FILE_FORMAT, version: KEY_FILE_VERSION, ...sealed, publicKeyPem };
  } finally {
    der.fill(0);
  }
}

/** A fresh salt and IV every time: changing the password never reuses either. */
export async function encryptKeyFile(
  privateKey: KeyObject,
  password: string,
  options: { N?: number } = {},
): Promise<{ file: KeyFile; unlockKey: Buffer }> {
  const kdf = newKdfInput(options.N);
  const unlockKey = await deriveUnlockKey(password, kdf);
  return { file: encryptWithUnlockKey(privateKey, unlockKey, kdf), unlockKey };
}

export function decryptWithUnlockKey(file: KeyFile, unlockKey: Buffer): Result<KeyObject, KeyFileError> {
  const opened = open(file, unlockKey, headerAad(file.kdf, file.cipher.iv, file.publicKeyPem));
  if (!opened.ok) return opened;
  try {
    const privateKey = createPrivateKey({ key: opened.value, format: 'der', type: 'pkcs8' });
    // Belt and braces: the clear public key must be the sealed key's own.
    if (spkiPemFromPrivateKey(privateKey) !== file.publicKeyPem)
      return err({ code: 'key_file_corrupt', message: 'the public key in the file does not match its private key' });
    return ok(privateKey);
  } catch (e) {
    return err({ code: 'key_file_corrupt', message: `the sealed key is not a private key: ${(e as Error).message}` });
  } finally {
    opened.value.fill(0);
  }
}

export async function decryptKeyFile(file: KeyFile, password: string): Promise<Result<Decrypted, KeyFileError>> {
  const unlockKey = await deriveUnlockKey(password, file.kdf);
  const key = decryptWithUnlockKey(file, unlockKey);
  return key.ok ? ok({ privateKey: key.value, unlockKey }) : key;
}

export function encodeKeyFile(file: KeyFile): string {
  return JSON.stringify(file, null, 2) + '\n';
}

/** Parses and validates; says plainly when the file is from a newer Airlock or not a key file at all. */
export function parseKeyFile(text: string): Result<KeyFile, KeyFileError> {
  if (text.includes('-----BEGIN') && text.includes('PRIVATE KEY-----'))
    return err({ code: 'key_file_unencrypted', message: 'the key file holds an unencrypted PEM private key' });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return err({ code: 'key_file_corrupt', message: 'the key file is not valid JSON' });
  }
  const head = z.object({ format: z.unknown(), version: z.unknown() }).safeParse(json);
  if (!head.success || head.data.format !== KEY_FILE_FORMAT)
    return err({ code: 'key_file_corrupt', message: `not an Airlock key file (format is not "${KEY_FILE_FORMAT}")` });
  if (head.data.version !== KEY_FILE_VERSION)
    return err({
      code: 'key_file_unsupported',
      message: `key file version ${JSON.stringify(head.data.version)} is not supported (this Airlock reads version ${KEY_FILE_VERSION}); upgrade Airlock`,
    });
  const parsed = KeyFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return err({
      code: 'key_file_corrupt',
      message: `the key file is damaged: ${issue?.path.join('.') || 'file'}: ${issue?.message ?? 'invalid'}`,
    });
  }
  return ok(parsed.data);
}
