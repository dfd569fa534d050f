import { createHash, timingSafeEqual, X509Certificate } from 'node:crypto';
import * as z from 'zod';
import { lazySchema } from '../lazy-schema.js';

/** A certificate as PEM text, PEM or DER bytes, or an already parsed certificate. */
export type CertificateInput = string | Buffer | X509Certificate;

/**
 * A pin as stored and compared: `sha256/` + standard base64 of 32 bytes. People are shown
 * `curlPin`'s `sha256//…` (what `curl --pinnedpubkey` takes); both are accepted wherever a pin
 * is read, and stored in the single-slash form so existing configuration stays valid.
 */
export const tlsPinSchema = lazySchema(() =>
  z
    .string()
    .regex(
      /^sha256\/\/?[A-Za-z0-9+/]{43}=$/,
      'expected a TLS pin of the form sha256//<base64 of 32 bytes> (as the relay prints it)',
    )
    .transform((pin) => 'sha256/' + pinBase64(pin)),
);

/** The pin as `curl --pinnedpubkey` takes it (`sha256//<base64>`): the form printed for people. */
export function curlPin(pin: string): string {
  return 'sha256//' + pinBase64(pin);
}

/** Base64 of 32 bytes is always 44 characters. */
const PIN_BASE64_LENGTH = 44;

/**
 * The base64 part of a pin in either form. Base64 may itself start with "/", so the forms are told
 * apart by length, never by the slashes alone.
 */
function pinBase64(pin: string): string {
  const rest = pin.slice('sha256/'.length);
  return rest.length === PIN_BASE64_LENGTH + 1 && rest.startsWith('/') ? rest.slice(1) : rest;
}

export function toX509(cert: CertificateInput): X509Certificate {
  return cert instanceof X509Certificate ? cert : new X509Certificate(cert);
}

/**
 * The pin of a certificate: SHA-256 of its SubjectPublicKeyInfo (DER). Pinning the key rather
 * than the certificate lets the relay renew its certificate with the same key without
 * invalidating the pins already handed out in enrollment codes.
 */
export function spkiPin(cert: CertificateInput): string {
  const spki = toX509(cert).publicKey.export({ type: 'spki', format: 'der' });
  return 'sha256/' + createHash('sha256').update(spki).digest('base64');
}

/** RFC 8705 `x5t#S256`: base64url (unpadded) SHA-256 of the certificate's DER encoding. */
export function certThumbprint(cert: CertificateInput): string {
  return createHash('sha256').update(toX509(cert).raw).digest('base64url');
}

/**
 * Compares two pins (or thumbprints) in constant time. Hashing first gives equal-length inputs,
 * so the comparison does not even leak whether the lengths differ.
 */
export function pinsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
