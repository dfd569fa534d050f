import { createPrivateKey, type KeyObject } from 'node:crypto';
import * as z from 'zod';
import { err, ok, spkiPemFromPrivateKey, type Result } from '@airlock/shared';
import {
  deriveUnlockKey,
  GcmParams,
  newKdfInput,
  open,
  ScryptParams,
  seal,
  type ScryptParams as Kdf,
} from '@airlock/shared/key-file';
import { lazySchema } from '@airlock/shared';

/**
 * A backup of the user key plus the Connect settings needed to use it elsewhere, sealed under its
 * own backup password (scrypt + AES-256-GCM, like the key file). Nothing is in clear but the
 * format header, which is authenticated.
 */
export const BACKUP_FORMAT = 'airlock-backup';
export const BACKUP_VERSION = 1;

export const BackupFile = lazySchema(() =>
  z.object({
    format: z.literal(BACKUP_FORMAT),
    version: z.literal(BACKUP_VERSION),
    kdf: ScryptParams,
    cipher: GcmParams,
    ciphertext: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'not base64'),
  }),
);
export type BackupFile = z.infer<typeof BackupFile>;

/** The Connect settings a backup carries (all optional: a key can be backed up before enrolling). */
export const BackupConfig = lazySchema(() =>
  z.object({
    relayUrl: z.string().optional(),
    /** The relay certificate's SPKI pin, from enrollment. */
    relayPin: z.string().optional(),
    user: z.string().optional(),
    deviceId: z.string().optional(),
  }),
);
export type BackupConfig = z.infer<typeof BackupConfig>;

const BackupContents = lazySchema(() =>
  z.object({
    privateKeyPkcs8: z.string(),
    publicKeyPem: z.string(),
    config: BackupConfig,
    createdAt: z.string(),
  }),
);

export interface BackupRestored {
  privateKey: KeyObject;
  config: BackupConfig;
  createdAt: string;
}

export type BackupError =
  | { code: 'wrong_password'; message: string }
  | { code: 'backup_corrupt'; message: string }
  | { code: 'backup_unsupported'; message: string };

function headerAad(kdf: Kdf, iv: string): Buffer {
  const fields = [BACKUP_FORMAT, BACKUP_VERSION, kdf.name, kdf.N, kdf.r, kdf.p, kdf.salt, kdf.check, 'aes-256-gcm', iv];
  return Buffer.from(JSON.stringify(fields), 'utf8');
}

export async function encryptBackup(
  privateKey: KeyObject,
  config: BackupConfig,
  backupPassword: string,
  options: { N?: number; now?: Date } = {},
): Promise<string> {
  const kdf = newKdfInput(options.N);
  const unlockKey = await deriveUnlockKey(backupPassword, kdf);
  const contents = Buffer.from(
    JSON.stringify({
      privateKeyPkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
      publicKeyPem: spkiPemFromPrivateKey(privateKey),
      config: BackupConfig.parse(config),
      createdAt: (options.now ?? new Date()).toISOString(),
    }),
    'utf8',
  );
  try {
    const sealed = seal(contents, unlockKey, kdf, headerAad);
    const file: BackupFile = { format: BACKUP_FORMAT, version: BACKUP_VERSION, ...sealed };
    return JSON.stringify(file, null, 2) + '\n';
  } finally {
    contents.fill(0);
    unlockKey.fill(0);
  }
}

export function parseBackup(text: string): Result<BackupFile, BackupError> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return err({ code: 'backup_corrupt', message: 'not an Airlock backup (not JSON)' });
  }
  const head = z.object({ format: z.unknown(), version: z.unknown() }).safeParse(json);
  if (!head.success || head.data.format !== BACKUP_FORMAT)
    return err({ code: 'backup_corrupt', message: `not an Airlock backup (format is not "${BACKUP_FORMAT}")` });
  if (head.data.version !== BACKUP_VERSION)
    return err({
      code: 'backup_unsupported',
      message: `backup version ${JSON.stringify(head.data.version)} is not supported (this Airlock reads version ${BACKUP_VERSION}); upgrade Airlock`,
    });
  const parsed = BackupFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return err({
      code: 'backup_corrupt',
      message: `the backup is damaged: ${issue?.path.join('.')}: ${issue?.message}`,
    });
  }
  return ok(parsed.data);
}

export async function decryptBackup(
  file: BackupFile,
  backupPassword: string,
): Promise<Result<BackupRestored, BackupError>> {
  const unlockKey = await deriveUnlockKey(backupPassword, file.kdf);
  const opened = open(file, unlockKey, headerAad(file.kdf, file.cipher.iv));
  unlockKey.fill(0);
  if (!opened.ok)
    return opened.error.code === 'wrong_password'
      ? err({ code: 'wrong_password', message: 'wrong backup password' })
      : err({ code: 'backup_corrupt', message: `the backup ${opened.error.message}` });
  try {
    const contents = BackupContents.parse(JSON.parse(opened.value.toString('utf8')));
    const privateKey = createPrivateKey({
      key: Buffer.from(contents.privateKeyPkcs8, 'base64'),
      format: 'der',
      type: 'pkcs8',
    });
    if (spkiPemFromPrivateKey(privateKey) !== contents.publicKeyPem)
      return err({ code: 'backup_corrupt', message: 'the backup’s public key does not match its private key' });
    return ok({ privateKey, config: contents.config, createdAt: contents.createdAt });
  } catch (e) {
    return err({ code: 'backup_corrupt', message: `the backup’s contents are invalid: ${(e as Error).message}` });
  } finally {
    opened.value.fill(0);
  }
}
