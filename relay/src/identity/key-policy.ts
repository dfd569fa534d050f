import { createPublicKey } from 'node:crypto';

/** The EC curves both our signatures and the agent's SSH library accept. */
const CURVES = ['prime256v1', 'secp384r1', 'secp521r1'];

export type KeyCheck = { ok: true } | { ok: false; reason: 'unreadable' | 'unsupported'; keyType?: string };

/**
 * Whether a public key is one Airlock accepts: ECDSA P-256/384/521, or RSA of at least
 * `minRsaBits` (device keys are long-term, so they need more than a 30-minute login key).
 */
export function checkPublicKey(pem: string, minRsaBits: number): KeyCheck {
  let key;
  try {
    key = createPublicKey(pem);
  } catch {
    return { ok: false, reason: 'unreadable' };
  }
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec' && CURVES.includes(d.namedCurve ?? '')) return { ok: true };
  if (key.asymmetricKeyType === 'rsa' && (d.modulusLength ?? 0) >= minRsaBits) return { ok: true };
  return { ok: false, reason: 'unsupported', keyType: key.asymmetricKeyType ?? 'unknown' };
}
