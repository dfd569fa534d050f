import { randomBytes } from 'node:crypto';

interface Challenge {
  user: string;
  expiresAt: number;
}

export type ChallengeCheck = 'ok' | 'unknown' | 'expired' | 'wrong_user';

/**
 * Outstanding login nonces, in memory. Each is single-use: `consume` removes it whatever the
 * outcome. The map is bounded: when full, expired entries are swept and then the oldest dropped,
 * so unauthenticated challenge requests cannot grow memory without bound.
 */
export class LoginChallenges {
  private readonly challenges = new Map<string, Challenge>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxPending: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  issue(user: string): { nonce: string; expiresAt: Date } {
    if (this.challenges.size >= this.maxPending) this.sweep();
    while (this.challenges.size >= this.maxPending) {
      const oldest = this.challenges.keys().next().value as string;
      this.challenges.delete(oldest);
    }
    const nonce = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.challenges.set(nonce, { user, expiresAt });
    return { nonce, expiresAt: new Date(expiresAt) };
  }

  consume(nonce: string, user: string): ChallengeCheck {
    const c = this.challenges.get(nonce);
    if (!c) return 'unknown';
    this.challenges.delete(nonce);
    if (c.expiresAt <= this.now()) return 'expired';
    if (c.user !== user) return 'wrong_user';
    return 'ok';
  }

  get size(): number {
    return this.challenges.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const [nonce, c] of this.challenges) if (c.expiresAt <= t) this.challenges.delete(nonce);
  }
}
