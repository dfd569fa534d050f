export const REDACTED = '[redacted]';

/** Keys whose values are secret wherever they appear (case-insensitive, anywhere in the key). */
const SECRET_KEY =
  /token|ticket|secret|passw|passphrase|credential|authori[sz]ation|cookie|private|keypem|unlockkey|totp|otpauth|signature|ciphertext|salt|enrollmentcode/i;

/** Secret-shaped text, whatever key (or none) it comes under. */
const SECRET_TEXT: RegExp[] = [
  // PEM private keys, whole or cut off
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
  // JWTs: access tokens, tickets
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  // bearer credentials in headers
  /\bBearer\s+[^\s"',]+/gi,
  // TOTP provisioning URIs (they carry the secret)
  /otpauth:\/\/[^\s"'<>]+/gi,
  // one-time enrollment codes and agent tokens (u1.<secret>.<pin>, a1.…)
  /\b[ua][0-9]\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/g,
];

/**
 * Takes secrets out of what goes into a support bundle. Three nets: values under a secret-named
 * key are replaced wherever they sit in a JSON document; secret-shaped text (private keys, JWTs,
 * bearer headers, otpauth URIs, enrollment codes) is replaced anywhere; and the secrets this
 * machine actually holds (`known`: the access token, the login's private key, the key file's
 * sealed fields) are replaced wherever they appear, in whole or as a line of a PEM body.
 */
export class SecretScrubber {
  private readonly known: string[];

  constructor(known: readonly string[]) {
    const pieces = new Set<string>();
    for (const secret of known) {
      if (secret.length < 8) continue;
      pieces.add(secret);
      // A PEM's body lines, and base64 that JSON escaping or wrapping may have cut.
      for (const line of secret.split(/\r?\n/)) if (line.length >= 16 && !line.startsWith('-----')) pieces.add(line);
    }
    // Longest first, so a whole secret is replaced before its pieces.
    this.known = [...pieces].sort((a, b) => b.length - a.length);
  }

  /** A JSON value with secret-named keys redacted, then its strings scrubbed as text. */
  json(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.json(v));
    if (value && typeof value === 'object')
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          SECRET_KEY.test(k) && v !== null && v !== undefined ? REDACTED : this.json(v),
        ]),
      );
    return value;
  }

  text(input: string): string {
    let out = input;
    for (const pattern of SECRET_TEXT) out = out.replace(pattern, REDACTED);
    for (const secret of this.known) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  /** A line of a log: structurally when it is JSON, else as text. */
  line(raw: string): string {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return this.text(raw);
    }
    return this.text(JSON.stringify(this.json(parsed)));
  }

  /** The known secrets still present in `bytes` (the bundle checks its own output with this). */
  leaks(bytes: Buffer | string): string[] {
    const text = bytes.toString();
    return this.known.filter((s) => text.includes(s));
  }
}
