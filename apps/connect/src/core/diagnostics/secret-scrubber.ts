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
  // authenticator secrets (base32, 16 characters or more), whole or in groups of four as shown to type
  /\b[A-Z2-7]{16,}={0,6}(?![A-Za-z0-9_])/g,
  /\b(?:[A-Z2-7]{4} ){3,}[A-Z2-7]{1,4}\b/g,
];

/** A time under a secret-named key (`tokenExpiresAt`) is no secret, and is found elsewhere by right. */
const TIME = /^\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d)?$/;

/** Shorter values under a secret-named key are not learned: too likely to be found by chance. */
const MIN_SECRET_LENGTH = 8;

/**
 * Takes secrets out of what goes into a support bundle. Three nets: values under a secret-named
 * key are replaced wherever they sit in a JSON document; secret-shaped text (private keys, JWTs,
 * bearer headers, otpauth URIs, enrollment codes, base32 authenticator secrets) is replaced
 * anywhere; and known secrets are replaced wherever they appear, in whole or as a line of a PEM
 * body. Known are the secrets this machine holds (`known`: the access token, the login's private
 * key, the key file's sealed fields) and what `learn` found: a value seen under a secret-named key
 * or as an otpauth URI's secret goes wherever else it sits too (a password's `repeat`, free text).
 */
export class SecretScrubber {
  private readonly pieces = new Set<string>();
  private known: string[] = [];

  constructor(known: readonly string[]) {
    for (const secret of known) this.remember(secret);
  }

  /** Learns the secrets in a JSON value or a log line (JSON or not), before anything is scrubbed. */
  learn(value: unknown): void {
    if (typeof value === 'string') {
      for (const uri of value.match(/otpauth:\/\/[^\s"'<>]+/gi) ?? []) {
        const secret = /[?&]secret=([^&#]+)/i.exec(uri)?.[1];
        if (secret) this.remember(decodeURIComponent(secret));
      }
    } else if (Array.isArray(value)) {
      for (const v of value) this.learn(v);
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (SECRET_KEY.test(k) && typeof v === 'string' && v !== REDACTED && !TIME.test(v)) this.remember(v);
        this.learn(v);
      }
    }
  }

  /** `learn` for a raw log line. */
  learnLine(raw: string): void {
    try {
      this.learn(JSON.parse(raw));
    } catch {
      this.learn(raw);
    }
  }

  private remember(secret: string): void {
    if (secret.length < MIN_SECRET_LENGTH) return;
    this.pieces.add(secret);
    // A PEM's body lines, and base64 that JSON escaping or wrapping may have cut.
    for (const line of secret.split(/\r?\n/)) if (line.length >= 16 && !line.startsWith('-----')) this.pieces.add(line);
    // JSON-escaped, as it sits inside a string of a JSON line.
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret) this.pieces.add(escaped);
    // Longest first, so a whole secret is replaced before its pieces.
    this.known = [...this.pieces].sort((a, b) => b.length - a.length);
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
