import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Long-term secrets the relay hands out once and keeps only as sha256: agent credentials and
 * API client secrets. Both are 32 random bytes, so a fast hash is enough (nothing to brute-force).
 */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

const DUMMY_HASH = Buffer.alloc(32);

/**
 * Compares a presented secret with a stored hash in constant time. With no stored hash (unknown
 * id) it still hashes and compares against a dummy, so the answer takes the same time either way.
 */
export function secretMatches(presented: string, storedSha256: string | undefined): boolean {
  const got = createHash('sha256').update(presented, 'utf8').digest();
  const stored = storedSha256 !== undefined ? Buffer.from(storedSha256, 'hex') : DUMMY_HASH;
  const equal = stored.length === got.length && timingSafeEqual(stored, got);
  return storedSha256 !== undefined && equal;
}

/** API client ids are `ac_` + 16 random bytes: not secret, but not guessable either. */
export function newClientId(): string {
  return `ac_${randomBytes(16).toString('base64url')}`;
}

/**
 * An agent credential is `<vmId>.<secret>`; agents send it as `Authorization: Bearer <credential>`.
 * The VM id in front lets the relay find the candidate credentials without a secret index; the
 * relay checks it with identity/agent-auth.ts.
 */
export function formatAgentCredential(vmId: string, secret: string): string {
  return `${vmId}.${secret}`;
}
