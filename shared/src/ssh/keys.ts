import type { KeyObject } from 'node:crypto';
import {
  BigInt as SshBigInt,
  SshAlgorithms,
  type ECParameters,
  type KeyPair,
  type RsaParameters,
} from '@microsoft/dev-tunnels-ssh';
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

/**
 * The EC curves SSH signs with (Connect makes P-256 keys; P-384 came before stop 20; P-521 may be
 * imported): the library's algorithm and the curve's OID.
 */
const SSH_CURVES = {
  'P-256': { algorithm: 'ecdsaSha2Nistp256', oid: '1.2.840.10045.3.1.7' },
  'P-384': { algorithm: 'ecdsaSha2Nistp384', oid: '1.3.132.0.34' },
  'P-521': { algorithm: 'ecdsaSha2Nistp521', oid: '1.3.132.0.35' },
} as const;

const unsigned = (b64url: string | undefined) => {
  if (!b64url) throw new Error('the key lacks a parameter');
  return SshBigInt.fromBytes(Buffer.from(b64url, 'base64url'), { unsigned: true });
};

/**
 * The user key (a private key as Connect holds it: ECDSA, or RSA from before stop 20 or imported)
 * as the SSH library's key pair, for client authentication. Through the library's own
 * `importParameters` rather than the PEM importer of `dev-tunnels-ssh-keys`, which parses the key
 * again in JavaScript: a module and a few ms fewer at every session start.
 */
export async function sshKeyPairFromPrivateKey(privateKey: KeyObject): Promise<KeyPair> {
  if (privateKey.type !== 'private')
    throw new Error(`the user key must be a private key, not a ${privateKey.type} one`);
  const kind = privateKey.asymmetricKeyType;
  if (kind === 'rsa') {
    const jwk = privateKey.export({ format: 'jwk' });
    const parameters: RsaParameters = {
      modulus: unsigned(jwk.n),
      exponent: unsigned(jwk.e),
      d: unsigned(jwk.d),
      p: unsigned(jwk.p),
      q: unsigned(jwk.q),
      dp: unsigned(jwk.dp),
      dq: unsigned(jwk.dq),
      qi: unsigned(jwk.qi),
    };
    return imported('rsaWithSha512', parameters);
  }
  const jwk = kind === 'ec' ? privateKey.export({ format: 'jwk' }) : undefined;
  const curve =
    jwk && Object.hasOwn(SSH_CURVES, jwk.crv ?? '') ? SSH_CURVES[jwk.crv as keyof typeof SSH_CURVES] : undefined;
  if (!jwk || !curve)
    throw new Error(
      `SSH cannot sign with this user key (${[kind ?? 'unknown', jwk?.crv].filter(Boolean).join(' ')}): use ECDSA P-256, P-384 or P-521, or RSA`,
    );
  const parameters: ECParameters = {
    // The library's DER writer looks the curve up by OID; a name alone fails there.
    curve: { oid: curve.oid },
    x: unsigned(jwk.x),
    y: unsigned(jwk.y),
    d: unsigned(jwk.d),
  };
  return imported(curve.algorithm, parameters);
}

async function imported(algorithm: string, parameters: ECParameters | RsaParameters): Promise<KeyPair> {
  const alg = SshAlgorithms.publicKey[algorithm];
  if (!alg) throw new Error(`${algorithm} is not available`);
  const pair = alg.createKeyPair();
  await pair.importParameters(parameters);
  return pair;
}

export { spkiPemFromPrivateKey } from '../spki.js';
