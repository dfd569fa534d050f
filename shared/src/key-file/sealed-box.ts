import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { err, ok, type Result } from '../result.js';
import { lazySchema } from '../lazy-schema.js';

/**
 * Password-based sealing shared by the key file and the backup file: scrypt turns a password
 * into a 32-byte "unlock key"; AES-256-GCM seals the payload with the file's header as
 * additional authenticated data, so no header field can be changed or swapped undetected.
 * The unlock key is what the OS keychain may cache — never the password, which people reuse.
 */

/** 2^17 × r=8 → 128 MiB and ~0.7 s on a laptop core: slow for guessing, fine once per login. */
export const DEFAULT_SCRYPT_N = 2 ** 17;
const MIN_LOG_N = 14;
// A hostile file must not make us allocate gigabytes: 2^18 × 8 × 128 B = 256 MiB at most.
const MAX_LOG_N = 18;
const UNLOCK_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SALT_BYTES = 16;

const b64 = (bytes: number | undefined) =>
  z
    .string()
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64')
    .refine((s) => bytes === undefined || Buffer.from(s, 'base64').length === bytes, `must be ${bytes} bytes`);

export const ScryptParams = lazySchema(() =>
  z.object({
    name: z.literal('scrypt'),
    N: z
      .number()
      .int()
      .refine((n) => Number.isInteger(Math.log2(n)) && Math.log2(n) >= MIN_LOG_N && Math.log2(n) <= MAX_LOG_N, {
        message: `N must be a power of two between 2^${MIN_LOG_N} and 2^${MAX_LOG_N}`,
      }),
    r: z.literal(8),
    p: z.literal(1),
    salt: b64(SALT_BYTES),
    /** Lets us tell "wrong password" from "file damaged": HMAC(unlock key, label), 16 bytes. */
    check: b64(16),
  }),
);
export type ScryptParams = z.infer<typeof ScryptParams>;
/** What deriving needs; `check` is computed from the result. */
export type KdfInput = Omit<ScryptParams, 'check'>;

export const GcmParams = lazySchema(() =>
  z.object({ name: z.literal('aes-256-gcm'), iv: b64(IV_BYTES), tag: b64(TAG_BYTES) }),
);
export type GcmParams = z.infer<typeof GcmParams>;

export interface Sealed {
  kdf: ScryptParams;
  cipher: GcmParams;
  ciphertext: string;
}

export type OpenError = { code: 'wrong_password'; message: string } | { code: 'tampered'; message: string };

export function newKdfInput(N: number = DEFAULT_SCRYPT_N): KdfInput {
  return { name: 'scrypt', N, r: 8, p: 1, salt: randomBytes(SALT_BYTES).toString('base64') };
}

/** The 32-byte unlock key for `password` under these parameters (async: keeps the event loop free). */
export function deriveUnlockKey(password: string, kdf: KdfInput): Promise<Buffer> {
  const { N, r, p } = kdf;
  return new Promise((resolve, reject) =>
    scrypt(
      // NFC: the same password typed through different input methods gives the same bytes.
      Buffer.from(password.normalize('NFC'), 'utf8'),
      Buffer.from(kdf.salt, 'base64'),
      UNLOCK_KEY_BYTES,
      { N, r, p, maxmem: 128 * N * r + 16 * 1024 * 1024 },
      (e, key) => (e ? reject(e) : resolve(key)),
    ),
  );
}

function subKey(unlockKey: Buffer, label: string): Buffer {
  return createHmac('sha256', unlockKey).update(label).digest();
}

export function checkValue(unlockKey: Buffer): string {
  return subKey(unlockKey, 'airlock unlock check').subarray(0, 16).toString('base64');
}

/**
 * Seals `plaintext`. `aad(kdf, iv)` returns the header bytes to authenticate — computed by the
 * file format, which knows its own header.
 */
export function seal(
  plaintext: Buffer,
  unlockKey: Buffer,
  kdfInput: KdfInput,
  aad: (kdf: ScryptParams, iv: string) => Buffer,
): Sealed {
  if (unlockKey.length !== UNLOCK_KEY_BYTES) throw new Error('unlock key must be 32 bytes');
  const kdf: ScryptParams = { ...kdfInput, check: checkValue(unlockKey) };
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', subKey(unlockKey, 'airlock aes-256-gcm'), iv);
  cipher.setAAD(aad(kdf, iv.toString('base64')));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    kdf,
    cipher: { name: 'aes-256-gcm', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64') },
    ciphertext: ciphertext.toString('base64'),
  };
}

export function open(sealed: Sealed, unlockKey: Buffer, aad: Buffer): Result<Buffer, OpenError> {
  const expected = Buffer.from(sealed.kdf.check, 'base64');
  const actual = Buffer.from(checkValue(unlockKey), 'base64');
  if (unlockKey.length !== UNLOCK_KEY_BYTES || !timingSafeEqual(expected, actual))
    return err({ code: 'wrong_password', message: 'wrong password' });
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      subKey(unlockKey, 'airlock aes-256-gcm'),
      Buffer.from(sealed.cipher.iv, 'base64'),
    );
    decipher.setAAD(aad);
    decipher.setAuthTag(Buffer.from(sealed.cipher.tag, 'base64'));
    return ok(Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]));
  } catch {
    // The password was right (check matched), so the header or ciphertext was changed.
    return err({ code: 'tampered', message: 'the file was damaged or altered (authentication failed)' });
  }
}
