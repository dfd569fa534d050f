import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

/** OpenSSH-style fingerprint of an SSH public key blob: `SHA256:<unpadded base64>`. */
export function sshFingerprint(publicKeyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '');
}

export function sshFingerprintB64(publicKeyB64: string): string {
  return sshFingerprint(Buffer.from(publicKeyB64, 'base64'));
}

function sshString(buf: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}

function sshMpint(unsigned: Buffer): Buffer {
  let b = unsigned;
  while (b.length > 1 && b[0] === 0) b = b.subarray(1);
  if (b.length > 0 && (b[0]! & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return sshString(b);
}

const CURVES: Record<string, string> = { 'P-256': 'nistp256', 'P-384': 'nistp384', 'P-521': 'nistp521' };

/**
 * The SSH wire-format blob (RFC 4253 §6.6 / RFC 5656 §3.1) of a PEM public key, so the relay
 * can name a user key by the same fingerprint the agent computes from the SSH handshake,
 * without the relay depending on an SSH library.
 */
export function sshPublicKeyBlob(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty === 'EC' && jwk.crv && CURVES[jwk.crv] && jwk.x && jwk.y) {
    const curve = CURVES[jwk.crv]!;
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
    return Buffer.concat([
      sshString(Buffer.from(`ecdsa-sha2-${curve}`)),
      sshString(Buffer.from(curve)),
      sshString(point),
    ]);
  }
  // The organisation's keys (roots, approvers, VM identities) are Ed25519 (RFC 8709 §4).
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && jwk.x)
    return Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(Buffer.from(jwk.x, 'base64url'))]);
  if (jwk.kty === 'RSA' && jwk.e && jwk.n) {
    return Buffer.concat([
      sshString(Buffer.from('ssh-rsa')),
      sshMpint(Buffer.from(jwk.e, 'base64url')),
      sshMpint(Buffer.from(jwk.n, 'base64url')),
    ]);
  }
  throw new Error(
    `unsupported user key type (${jwk.kty}${jwk.crv ? ' ' + jwk.crv : ''}); use ECDSA P-256/384/521, Ed25519 or RSA`,
  );
}

export function sshFingerprintFromPem(publicKeyPem: string): string {
  return sshFingerprint(sshPublicKeyBlob(createPublicKey(publicKeyPem)));
}
