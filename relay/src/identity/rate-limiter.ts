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
      // Every tracked key is locked out: keep those lockouts rather than track one more sender.
      if (this.entries.size >= this.maxKeys) return false;
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

  /**
   * Makes room: entries with nothing left to count go first, then the oldest that are not locked
   * out. A lockout is never dropped to make room: a spray of fresh addresses must not be able to
   * free a source (or itself) from one.
   */
  private sweep(t: number): void {
    const locked = (e: Entry) => e.lockedUntil > t;
    for (const [k, e] of this.entries)
      if (!locked(e) && e.failures.every((f) => f <= t - this.policy.windowMs)) this.entries.delete(k);
    for (const [k, e] of this.entries) {
      if (this.entries.size < this.maxKeys) break;
      if (!locked(e)) this.entries.delete(k);
    }
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
      if (!c && this.counts.size >= this.maxKeys && !this.makeRoom(t)) return { allowed: true };
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

  /**
   * Drops the counts whose window has passed, then (still full) the oldest that still have
   * budget. A source that used up its budget keeps its count to the end of its window: clearing
   * them all, as before, or dropping the oldest, gave an exhausted source a fresh budget after
   * ~100 000 requests from fresh addresses. Returns false when every count is an exhausted one
   * (the new key then goes uncounted: refusing every new source would shut everyone out).
   */
  private makeRoom(t: number): boolean {
    for (const [k, c] of this.counts) if (c.windowStart + this.windowMs <= t) this.counts.delete(k);
    for (const [k, c] of this.counts) {
      if (this.counts.size < this.maxKeys) break;
      if (c.count < this.maxPerWindow) this.counts.delete(k);
    }
    return this.counts.size < this.maxKeys;
  }
}
