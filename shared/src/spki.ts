import { createPublicKey, type KeyObject } from 'node:crypto';

/** The public half of a key (createPublicKey takes only private keys as KeyObjects). */
export function publicHalf(key: KeyObject): KeyObject {
  return key.type === 'public' ? key : createPublicKey(key);
}

/** The SPKI PEM of a key's public half (a private or public KeyObject). */
export function spkiPemFromPrivateKey(key: KeyObject): string {
  return publicHalf(key).export({ type: 'spki', format: 'pem' }).toString();
}

/** The SPKI DER of a key's public half, base64url: how certificates name a key. */
export function spkiB64url(key: KeyObject): string {
  return publicHalf(key).export({ type: 'spki', format: 'der' }).toString('base64url');
}

/** The public key a base64url SPKI DER names; throws on anything else. */
export function publicKeyFromSpkiB64url(text: string): KeyObject {
  return createPublicKey({ key: Buffer.from(text, 'base64url'), format: 'der', type: 'spki' });
}
