import type { KeyObject } from 'node:crypto';
import { BigInt as SshBigInt, SshAlgorithms, type ECParameters, type KeyPair } from '@microsoft/dev-tunnels-ssh';
import { sshFingerprint } from '../fingerprint.js';

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

/** The curves of Connect's keys (P-256 now, P-384 before stop 20): the SSH algorithm and the OID. */
const USER_KEY_CURVES = {
  'P-256': { algorithm: 'ecdsaSha2Nistp256', oid: '1.2.840.10045.3.1.7' },
  'P-384': { algorithm: 'ecdsaSha2Nistp384', oid: '1.3.132.0.34' },
} as const;

/**
 * The user key (an EC private key, as Connect holds it) as the SSH library's key pair, for client
 * authentication. Through the library's own `importParameters` rather than the PEM importer of
 * `dev-tunnels-ssh-keys`, which parses the key again in JavaScript: a module and a few ms fewer at
 * every session start.
 */
export async function sshKeyPairFromPrivateKey(privateKey: KeyObject): Promise<KeyPair> {
  const jwk = privateKey.export({ format: 'jwk' });
  const curve = USER_KEY_CURVES[jwk.crv as keyof typeof USER_KEY_CURVES] as
    (typeof USER_KEY_CURVES)[keyof typeof USER_KEY_CURVES] | undefined;
  if (privateKey.type !== 'private' || jwk.kty !== 'EC' || !curve || !jwk.x || !jwk.y || !jwk.d)
    throw new Error(`not an EC private key on a curve SSH supports (${String(jwk.kty)} ${String(jwk.crv)})`);
  const unsigned = (b64url: string) => SshBigInt.fromBytes(Buffer.from(b64url, 'base64url'), { unsigned: true });
  const parameters: ECParameters = {
    // The library's DER writer looks the curve up by OID; a name alone fails there.
    curve: { oid: curve.oid },
    x: unsigned(jwk.x),
    y: unsigned(jwk.y),
    d: unsigned(jwk.d),
  };
  const alg = SshAlgorithms.publicKey[curve.algorithm];
  if (!alg) throw new Error(`${curve.algorithm} is not available`);
  const pair = alg.createKeyPair();
  await pair.importParameters(parameters);
  return pair;
}

export { spkiPemFromPrivateKey } from '../spki.js';
