import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@airlock/shared';
import { generateRelaySigningKey, relaySigningKeyFromPem, type RelaySigningKey } from '@airlock/shared';
import { makeFolders } from '@airlock/shared';

export const SIGNING_KEY_FILE = 'relay-signing-key.pem';
export const SIGNING_PUBLIC_KEY_FILE = 'relay-signing-key.pub.pem';

export interface LoadedSigningKey {
  key: RelaySigningKey;
  publicKeyPem: string;
  /** Where agents find the public key to pin (absent for an ephemeral key). */
  publicKeyPath?: string;
  created: boolean;
}

export function publicKeyPemOf(key: RelaySigningKey): string {
  return key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * Loads the relay's Ed25519 signing key from `<dataDir>/relay-signing-key.pem`, creating it
 * (mode 0600) on first start. The public half is (re)written beside it for agents to pin.
 */
export async function loadOrCreateSigningKey(dataDir: string): Promise<LoadedSigningKey> {
  await makeFolders(dataDir, 0o700);
  const privatePath = join(dataDir, SIGNING_KEY_FILE);
  const publicKeyPath = join(dataDir, SIGNING_PUBLIC_KEY_FILE);
  let key: RelaySigningKey;
  let created = false;
  let pem: string | undefined;
  try {
    pem = await readFile(privatePath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (pem === undefined) {
    key = generateRelaySigningKey();
    await writeFileAtomic(privatePath, key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
    created = true;
  } else {
    try {
      key = relaySigningKeyFromPem(pem);
    } catch {
      throw new Error(
        `${privatePath} is not a readable private key; restore it from backup or remove it to create a new one`,
      );
    }
    if (key.privateKey.asymmetricKeyType !== 'ed25519')
      throw new Error(`${privatePath} is a ${key.privateKey.asymmetricKeyType} key; the relay signs with Ed25519`);
  }
  const publicKeyPem = publicKeyPemOf(key);
  await writeFileAtomic(publicKeyPath, publicKeyPem, 0o644);
  return { key, publicKeyPem, publicKeyPath, created };
}
