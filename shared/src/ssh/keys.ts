import { SshAlgorithms, type KeyPair } from '@microsoft/dev-tunnels-ssh';
import { importKey, type KeyFormat } from '@microsoft/dev-tunnels-ssh-keys';
import { sshFingerprint } from '../fingerprint.js';

// KeyFormat is an ambient const enum, which isolated modules cannot read; its PKCS#8 value.
const PKCS8 = 5 as KeyFormat;

/** A fresh ECDSA P-384 host key. The agent makes one per start and never writes it to disk. */
export async function generateHostKey(): Promise<KeyPair> {
  const alg = SshAlgorithms.publicKey['ecdsaSha2Nistp384'];
  if (!alg) throw new Error('ecdsa-sha2-nistp384 is not available');
  return alg.generateKeyPair();
}

/** The SSH public key blob (RFC 4253) of a key pair, as registered with and pinned by the relay. */
export async function publicKeyBlob(key: KeyPair): Promise<Buffer> {
  const bytes = await key.getPublicKeyBytes();
  if (!bytes) throw new Error('key pair has no public key');
  return Buffer.from(bytes);
}

export async function keyFingerprint(key: KeyPair): Promise<string> {
  return sshFingerprint(await publicKeyBlob(key));
}

/** Imports an unencrypted PKCS#8 PEM private key (the user key) for SSH client authentication. */
export async function sshKeyPairFromPem(privatePem: string): Promise<KeyPair> {
  return importKey(privatePem, null, PKCS8);
}

export { spkiPemFromPrivateKey } from '../spki.js';
