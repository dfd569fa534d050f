import { hkdfSync, randomBytes } from 'node:crypto';

/**
 * One-time codes handed out of band: a user enrollment code (admin → user → `airlock enroll`)
 * or an agent enrollment token (admin → VM → `airlock-agent enroll`). The code carries the
 * relay's TLS pin so the first contact with the relay is already authenticated:
 *
 *   `<kind>1.<secret>.<pin>`       kind `u` (user) or `a` (agent); secret 32 random bytes and
 *                                  pin the SHA-256 of the relay certificate's SubjectPublicKeyInfo,
 *                                  both base64url. The client sends the secret.
 *   `<kind>2.<K>.<pin>.<afp>`      with an organisation root (issue 12): `afp` is the anchor's
 *                                  fingerprint, which the client pins; from the 32-byte `K` the
 *                                  client derives the secret it sends to the relay and, apart,
 *                                  the seed of the one-time credential key, which never leaves it.
 *
 * The relay stores only sha256(secret).
 */
export type OneTimeCodeKind = 'user' | 'agent';

const PREFIX: Record<OneTimeCodeKind, { v1: string; v2: string }> = {
  user: { v1: 'u1', v2: 'u2' },
  agent: { v1: 'a1', v2: 'a2' },
};
const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;

export interface ParsedOneTimeCode {
  kind: OneTimeCodeKind;
  /** What the client sends to the relay (for a v2 code, derived from `K`). */
  secret: string;
  /** `sha256/<base64>`, the stored form (people are shown `curlPin`'s `sha256//<base64>`). */
  pin: string;
  /** Present for a v2 code: the organisation to pin, and the credential key's seed. */
  org?: { afp: string; credSeed: Buffer };
}

export function formatOneTimeCode(kind: OneTimeCodeKind, secret: string, pin: string): string {
  return `${PREFIX[kind].v1}.${secret}.${pinToBase64url(pin)}`;
}

/** A v2 code: `K` (base64url, 32 bytes) as made by `newCodeKey`, the relay pin and the anchor fingerprint. */
export function formatOrgCode(kind: OneTimeCodeKind, key: string, pin: string, afp: string): string {
  return `${PREFIX[kind].v2}.${key}.${pinToBase64url(pin)}.${afp}`;
}

export function newCodeKey(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The two values a v2 code's `K` gives (HKDF-SHA-256, distinct labels): what the relay is shown,
 * and the credential key's seed. Knowing the first tells nothing about the second.
 */
export function deriveCodeSecrets(key: string): { relaySecret: string; credSeed: Buffer } {
  const ikm = Buffer.from(key, 'base64url');
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', ikm, 'airlock-code-v2', info, 32));
  return { relaySecret: derive('relay').toString('base64url'), credSeed: derive('cred') };
}

export function parseOneTimeCode(
  code: string,
  expected: OneTimeCodeKind,
): { ok: true; value: ParsedOneTimeCode } | { ok: false; message: string } {
  const parts = code.trim().split('.');
  const other: OneTimeCodeKind = expected === 'user' ? 'agent' : 'user';
  const what = (k: OneTimeCodeKind) => (k === 'user' ? 'a user enrollment code' : 'an agent enrollment token');
  if (parts[0] === PREFIX[other].v1 || parts[0] === PREFIX[other].v2)
    return { ok: false, message: `this is ${what(other)}, not ${what(expected)}` };
  const v2 = parts[0] === PREFIX[expected].v2;
  if (parts[0] !== PREFIX[expected].v1 && !v2) {
    return parts.length >= 3 && /^[ua]\d+$/.test(parts[0]!)
      ? { ok: false, message: `unknown code version "${parts[0]}"; update Airlock` }
      : { ok: false, message: 'not an Airlock enrollment code (expected dot-separated parts); copy it again' };
  }
  const fields = parts.slice(1);
  if (fields.length !== (v2 ? 3 : 2) || !fields.every((f) => B64URL_32.test(f)))
    return { ok: false, message: 'not a complete Airlock enrollment code; copy all of it again' };
  const pin = pinFromBase64url(fields[1]!);
  if (!v2) return { ok: true, value: { kind: expected, secret: fields[0]!, pin } };
  const { relaySecret, credSeed } = deriveCodeSecrets(fields[0]!);
  return { ok: true, value: { kind: expected, secret: relaySecret, pin, org: { afp: fields[2]!, credSeed } } };
}

export function pinToBase64url(pin: string): string {
  if (!pin.startsWith('sha256/')) throw new Error(`not a sha256/ pin: ${pin}`);
  return Buffer.from(pin.slice('sha256/'.length), 'base64').toString('base64url');
}

export function pinFromBase64url(b64url: string): string {
  return `sha256/${Buffer.from(b64url, 'base64url').toString('base64')}`;
}
