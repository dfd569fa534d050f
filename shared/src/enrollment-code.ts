/**
 * One-time codes handed out of band: a user enrollment code (admin → user → `airlock enroll`)
 * or an agent enrollment token (admin → VM → `airlock-agent enroll`). The code carries the
 * relay's TLS pin so the first contact with the relay is already authenticated:
 *
 *   `<kind>1.<secret>.<pin>`  kind `u` (user) or `a` (agent); secret 32 random bytes and pin the
 *   SHA-256 of the relay certificate's SubjectPublicKeyInfo, both base64url.
 *
 * The relay stores only sha256(secret); the client sends only the secret.
 */
export type OneTimeCodeKind = 'user' | 'agent';

const PREFIX: Record<OneTimeCodeKind, string> = { user: 'u1', agent: 'a1' };
const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;

export interface ParsedOneTimeCode {
  kind: OneTimeCodeKind;
  secret: string;
  /** `sha256/<base64>`, the stored form (people are shown `curlPin`'s `sha256//<base64>`). */
  pin: string;
}

export function formatOneTimeCode(kind: OneTimeCodeKind, secret: string, pin: string): string {
  return `${PREFIX[kind]}.${secret}.${pinToBase64url(pin)}`;
}

export function parseOneTimeCode(
  code: string,
  expected: OneTimeCodeKind,
): { ok: true; value: ParsedOneTimeCode } | { ok: false; message: string } {
  const parts = code.trim().split('.');
  if (parts.length !== 3 || !B64URL_32.test(parts[1]!) || !B64URL_32.test(parts[2]!))
    return { ok: false, message: 'not an Airlock enrollment code (expected three dot-separated parts); copy it again' };
  if (parts[0] !== PREFIX[expected]) {
    const other = expected === 'user' ? 'an agent enrollment token' : 'a user enrollment code';
    return parts[0] === PREFIX[expected === 'user' ? 'agent' : 'user']
      ? {
          ok: false,
          message: `this is ${other}, not ${expected === 'user' ? 'a user enrollment code' : 'an agent enrollment token'}`,
        }
      : { ok: false, message: `unknown code version "${parts[0]}"; update Airlock` };
  }
  return { ok: true, value: { kind: expected, secret: parts[1]!, pin: pinFromBase64url(parts[2]!) } };
}

export function pinToBase64url(pin: string): string {
  if (!pin.startsWith('sha256/')) throw new Error(`not a sha256/ pin: ${pin}`);
  return Buffer.from(pin.slice('sha256/'.length), 'base64').toString('base64url');
}

export function pinFromBase64url(b64url: string): string {
  return `sha256/${Buffer.from(b64url, 'base64url').toString('base64')}`;
}
