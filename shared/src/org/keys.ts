import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { sshFingerprint, sshPublicKeyBlob } from '../fingerprint.js';
import { publicHalf } from '../spki.js';

/** The JWS algorithm a key signs with; undefined for key types the organisation does not use. */
export type OrgJwsAlg = 'EdDSA' | 'ES256' | 'ES384' | 'RS256';

/** PKCS#8 DER prefix of an Ed25519 private key (RFC 8410): the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function generateEd25519(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

/** The Ed25519 private key with this 32-byte seed (an enrollment credential, from its code). */
export function ed25519FromSeed(seed: Buffer): KeyObject {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/**
 * How the organisation names a key: the OpenSSH-style fingerprint (`SHA256:…`) of its public
 * half, the form `device list`, host keys and `airlock-org crl revoke key` use.
 */
export function publicKeyFingerprint(key: KeyObject): string {
  return sshFingerprint(sshPublicKeyBlob(publicHalf(key)));
}

export function jwsAlgFor(key: KeyObject): OrgJwsAlg | undefined {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'EdDSA';
  if (type === 'rsa') return 'RS256';
  if (type !== 'ec') return undefined;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === 'prime256v1' ? 'ES256' : curve === 'secp384r1' ? 'ES384' : undefined;
}
