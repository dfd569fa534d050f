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

/**
 * The one key every source is counted under while a limiter's table is full of sources it must
 * keep (locked out, or out of budget). Such a table means an attack from very many addresses:
 * counting the next ones together limits them as one source, where leaving them uncounted let
 * them guess without any limit. New sources may then be refused for a while; those already
 * counted, and the per-user limits, go on as before. Not a valid key of any caller (`ip:…`,
 * `user:…`), and kept outside the table's bound.
 */
export const OVERFLOW_KEY = 'overflow:';

export class FailureLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly policy: LockoutPolicy,
    private readonly now: () => number = () => Date.now(),
    /** Bound on tracked keys, so a spray of source addresses cannot grow memory without end. */
    private readonly maxKeys = 100_000,
  ) {}

  check(key: string): LimitCheck {
    const e = this.entries.get(key) ?? (this.tracked() >= this.maxKeys ? this.entries.get(OVERFLOW_KEY) : undefined);
    const t = this.now();
    if (e && e.lockedUntil > t) return { allowed: false, retryAfterSeconds: Math.ceil((e.lockedUntil - t) / 1000) };
    return { allowed: true };
  }

  /** Records a failure; returns whether this failure started a lockout. */
  fail(key: string): boolean {
    const t = this.now();
    let e = this.entries.get(key);
    if (!e) {
      if (this.tracked() >= this.maxKeys) this.sweep(t);
      // Every tracked key is locked out: keep those lockouts, and count this sender with the
      // others that found the table full.
      const counted = this.tracked() >= this.maxKeys ? OVERFLOW_KEY : key;
      e = this.entries.get(counted) ?? { failures: [], lockedUntil: 0 };
      this.entries.set(counted, e);
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
      if (this.tracked() < this.maxKeys) break;
      if (!locked(e) && k !== OVERFLOW_KEY) this.entries.delete(k);
    }
  }

  /** Keys counted against the bound (the overflow key is not one). */
  private tracked(): number {
    return this.entries.size - (this.entries.has(OVERFLOW_KEY) ? 1 : 0);
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
    const c = this.counts.get(key) ?? (this.tracked() >= this.maxKeys ? this.counts.get(OVERFLOW_KEY) : undefined);
    if (!c || c.windowStart + this.windowMs <= t || c.count < this.maxPerWindow) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.ceil((c.windowStart + this.windowMs - t) / 1000) };
  }

  /** Uses one unit of `key`'s budget. `firstDenied`: this is the first refusal of the window. */
  take(key: string): LimitCheck | { allowed: false; retryAfterSeconds: number; firstDenied: boolean } {
    const t = this.now();
    let counted = key;
    // Every count is an exhausted one: this source is counted with the others that found the table full.
    if (!this.counts.has(key) && this.tracked() >= this.maxKeys && !this.makeRoom(t)) counted = OVERFLOW_KEY;
    let c = this.counts.get(counted);
    if (!c || c.windowStart + this.windowMs <= t) {
      c = { windowStart: t, count: 0 };
      this.counts.set(counted, c);
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
   * (the new key is then counted under OVERFLOW_KEY).
   */
  private makeRoom(t: number): boolean {
    for (const [k, c] of this.counts) if (c.windowStart + this.windowMs <= t) this.counts.delete(k);
    for (const [k, c] of this.counts) {
      if (this.tracked() < this.maxKeys) break;
      if (k !== OVERFLOW_KEY && c.count < this.maxPerWindow) this.counts.delete(k);
    }
    return this.tracked() < this.maxKeys;
  }

  /** Keys counted against the bound (the overflow key is not one). */
  private tracked(): number {
    return this.counts.size - (this.counts.has(OVERFLOW_KEY) ? 1 : 0);
  }
}
