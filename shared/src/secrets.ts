import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets the relay hands out and keeps only as a hash: one-time enrollment codes, agent
 * credentials, API client secrets. All are 32 random bytes, so a fast hash is enough (there is
 * nothing to brute-force); comparison is constant-time.
 */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

const DUMMY_HASH = Buffer.alloc(32);

/**
 * Whether `presented` hashes to `storedSha256` (hex), in constant time. With no stored hash
 * (unknown id) it still hashes and compares against a dummy, so the answer takes the same time.
 */
export function secretMatches(presented: string, storedSha256: string | undefined): boolean {
  const got = createHash('sha256').update(presented, 'utf8').digest();
  const stored = storedSha256 !== undefined ? Buffer.from(storedSha256, 'hex') : DUMMY_HASH;
  const equal = stored.length === got.length && timingSafeEqual(stored, got);
  return storedSha256 !== undefined && equal;
}
