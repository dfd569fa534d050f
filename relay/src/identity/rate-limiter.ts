/**
 * Failure counting with lockout, in memory (one relay instance; scale-out moves this to Redis).
 * A key (`user:alice`, `ip:10.0.0.7`) that fails `maxFailures` times within `windowMs` is locked
 * for `lockoutMs`; while locked every attempt is refused before any credential is checked, so a
 * guesser learns nothing and costs the relay almost nothing. A success clears the key.
 */
export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
}

export type LimitCheck = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Entry {
  failures: number[];
  lockedUntil: number;
}

export class FailureLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly policy: LockoutPolicy,
    private readonly now: () => number = () => Date.now(),
    /** Bound on tracked keys, so a spray of source addresses cannot grow memory without end. */
    private readonly maxKeys = 100_000,
  ) {}

  check(key: string): LimitCheck {
    const e = this.entries.get(key);
    const t = this.now();
    if (e && e.lockedUntil > t) return { allowed: false, retryAfterSeconds: Math.ceil((e.lockedUntil - t) / 1000) };
    return { allowed: true };
  }

  /** Records a failure; returns whether this failure started a lockout. */
  fail(key: string): boolean {
    const t = this.now();
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= this.maxKeys) this.sweep(t);
      e = { failures: [], lockedUntil: 0 };
      this.entries.set(key, e);
    }
    e.failures = e.failures.filter((f) => f > t - this.policy.windowMs);
    e.failures.push(t);
    if (e.failures.length >= this.policy.maxFailures) {
      e.lockedUntil = t + this.policy.lockoutMs;
      e.failures = [];
      return true;
    }
    return false;
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  private sweep(t: number): void {
    for (const [k, e] of this.entries)
      if (e.lockedUntil <= t && e.failures.every((f) => f <= t - this.policy.windowMs)) this.entries.delete(k);
    // Still full of live entries: drop the oldest rather than grow.
    while (this.entries.size >= this.maxKeys) this.entries.delete(this.entries.keys().next().value as string);
  }
}

/** Fixed-window request counter for unauthenticated endpoints (challenges, enrollment) per source. */
export class RequestRateLimiter {
  private readonly counts = new Map<string, { windowStart: number; count: number }>();

  constructor(
    private readonly maxPerWindow: number,
    private readonly windowMs: number,
    private readonly now: () => number = () => Date.now(),
    private readonly maxKeys = 100_000,
  ) {}

  /** Whether `key` still has budget in this window, without using any. */
  peek(key: string): LimitCheck {
    const t = this.now();
    const c = this.counts.get(key);
    if (!c || c.windowStart + this.windowMs <= t || c.count < this.maxPerWindow) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.ceil((c.windowStart + this.windowMs - t) / 1000) };
  }

  /** Uses one unit of `key`'s budget. `firstDenied`: this is the first refusal of the window. */
  take(key: string): LimitCheck | { allowed: false; retryAfterSeconds: number; firstDenied: boolean } {
    const t = this.now();
    let c = this.counts.get(key);
    if (!c || c.windowStart + this.windowMs <= t) {
      if (!c && this.counts.size >= this.maxKeys) this.counts.clear();
      c = { windowStart: t, count: 0 };
      this.counts.set(key, c);
    }
    c.count += 1;
    if (c.count > this.maxPerWindow)
      return {
        allowed: false,
        retryAfterSeconds: Math.ceil((c.windowStart + this.windowMs - t) / 1000),
        firstDenied: c.count === this.maxPerWindow + 1,
      };
    return { allowed: true };
  }
}
