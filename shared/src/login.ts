import { createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto';

/**
 * What the device's user key signs at login. The fixed prefix keeps the signature from being
 * valid for any other purpose; user and device bind it to one account and key; the nonce makes
 * it single-use; the client certificate's thumbprint binds the access token the relay issues to
 * the certificate Connect just minted (a token stolen without that certificate's key is useless).
 */
export interface LoginStatement {
  user: string;
  deviceId: string;
  nonce: string;
  /** x5t#S256 of the client certificate presented on this TLS connection. */
  certThumbprint: string;
}

export function loginSigningInput(s: LoginStatement): Buffer {
  return Buffer.from(`airlock-login-v2\n${s.user}\n${s.deviceId}\n${s.nonce}\n${s.certThumbprint}`, 'utf8');
}

/** What the new device key signs to finish enrollment: proof that Connect holds the key it registers. */
export function enrollSigningInput(enrollmentId: string): Buffer {
  return Buffer.from(`airlock-enroll-v1\n${enrollmentId}`, 'utf8');
}

export function signStatement(privateKey: KeyObject, input: Buffer): string {
  return createSign('sha256').update(input).sign(privateKey).toString('base64');
}

export function verifyStatement(publicKeyPem: string, input: Buffer, signatureB64: string): boolean {
  try {
    return createVerify('sha256')
      .update(input)
      .verify(createPublicKey(publicKeyPem), Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

export function signLogin(privateKey: KeyObject, s: LoginStatement): string {
  return signStatement(privateKey, loginSigningInput(s));
}

export function verifyLogin(publicKeyPem: string, s: LoginStatement, signatureB64: string): boolean {
  return verifyStatement(publicKeyPem, loginSigningInput(s), signatureB64);
}
