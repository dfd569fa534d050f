import { createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto';

/**
 * What the user key signs at login. A fixed prefix keeps this signature from being valid for
 * any other purpose; the user name binds it to one account.
 */
export function loginSigningInput(user: string, nonce: string): Buffer {
  return Buffer.from(`airlock-login-v1\n${user}\n${nonce}`, 'utf8');
}

export function signLogin(privateKey: KeyObject, user: string, nonce: string): string {
  return createSign('sha256').update(loginSigningInput(user, nonce)).sign(privateKey).toString('base64');
}

export function verifyLogin(publicKeyPem: string, user: string, nonce: string, signatureB64: string): boolean {
  try {
    const key = createPublicKey(publicKeyPem);
    return createVerify('sha256')
      .update(loginSigningInput(user, nonce))
      .verify(key, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}
