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

/** `shared`: refused on the count every source beyond a full table shares (see OVERFLOW_KEY), not on its own. */
export type LimitCheck = { allowed: true } | { allowed: false; retryAfterSeconds: number; shared?: true };

/**
 * How soon a full table is swept again after a sweep that could not free a tenth of it (a sweep
 * walks all of it). A sweep that did is not limited: the next is that many new sources away. One
 * that freed less (a table of lockouts but a few) must not let every new source walk the table.
 */
const FAILED_SWEEP_INTERVAL_MS = 1000;

/** Whether a sweep is due: none failed lately (a clock that went back counts as lately passed). */
const sweepDue = (t: number, lastFailed: number) => t - lastFailed >= FAILED_SWEEP_INTERVAL_MS || t < lastFailed;
/** A sweep makes room for this share of the table at once, so sweeps stay rare. */
const ROOM_SHARE = 0.1;
/** How many entries a sweep leaves, at most. */
const roomAfterSweep = (maxKeys: number) => Math.floor(maxKeys * (1 - ROOM_SHARE));

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

/** A count that refuses its key now (a lockout, or a used-up budget), for an administrator's list. */
export interface HeldBack {
  key: string;
  /** When the key is free again (the clock's ms). */
  until: number;
}

/** What an administrator releases to forget every count: each source's and the shared one. */
export const EVERY_KEY = Symbol('every key');

/**
 * Forgets `key`'s count, lockout included, or every count (EVERY_KEY); returns how many were
 * forgotten. A key that is counted on the shared key has no count of its own to forget.
 */
function releaseCounts(counts: Map<string, unknown>, key: string | typeof EVERY_KEY): number {
  if (key !== EVERY_KEY) return counts.delete(key) ? 1 : 0;
  const n = counts.size;
  counts.clear();
  return n;
}

export class FailureLimiter {
  private readonly entries = new Map<string, Entry>();
  private lastFailedSweep = -Infinity;

  constructor(
    private readonly policy: LockoutPolicy,
    private readonly now: () => number = () => Date.now(),
    /** Bound on tracked keys, so a spray of source addresses cannot grow memory without end. */
    private readonly maxKeys = 100_000,
  ) {}

  check(key: string): LimitCheck {
    const t = this.now();
    let e = this.entries.get(key);
    let shared = false;
    if (!e && this.sharesCount(key, t)) {
      e = this.entries.get(OVERFLOW_KEY);
      shared = true;
    }
    if (!e || e.lockedUntil <= t) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.ceil((e.lockedUntil - t) / 1000), ...(shared ? { shared } : {}) };
  }

  /**
   * Whether `key` is counted on the shared key: it is not tracked and the table is full of
   * lockouts. Makes room first (see FAILED_SWEEP_INTERVAL_MS): callers check before they fail,
   * and a table of lockouts that have all ended must not go on refusing new sources.
   */
  sharesCount(key: string, t = this.now()): boolean {
    if (this.entries.has(key) || this.tracked() < this.maxKeys) return false;
    if (sweepDue(t, this.lastFailedSweep)) {
      this.sweep(t);
      if (this.tracked() > roomAfterSweep(this.maxKeys)) this.lastFailedSweep = t;
    }
    return this.tracked() >= this.maxKeys;
  }

  /** Records a failure; returns whether this failure started a lockout. */
  fail(key: string): boolean {
    const t = this.now();
    let e = this.entries.get(key);
    if (!e) {
      // Every tracked key is locked out: keep those lockouts, and count this sender with the
      // others that found the table full.
      const counted = this.sharesCount(key, t) ? OVERFLOW_KEY : key;
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

  /** An administrator's release (see releaseCounts). */
  release(key: string | typeof EVERY_KEY): number {
    return releaseCounts(this.entries, key);
  }

  /** The keys locked out now (OVERFLOW_KEY: the lockout shared beyond a full table). */
  lockedOut(): HeldBack[] {
    const t = this.now();
    return [...this.entries].filter(([, e]) => e.lockedUntil > t).map(([key, e]) => ({ key, until: e.lockedUntil }));
  }

  /**
   * Makes room (a tenth of the table): entries with nothing left to count go first, then the
   * oldest that are not locked out. A lockout is never dropped to make room: a spray of fresh addresses must not be able to
   * free a source (or itself) from one.
   */
  private sweep(t: number): void {
    const locked = (e: Entry) => e.lockedUntil > t;
    for (const [k, e] of this.entries)
      if (!locked(e) && e.failures.every((f) => f <= t - this.policy.windowMs)) this.entries.delete(k);
    const room = roomAfterSweep(this.maxKeys);
    for (const [k, e] of this.entries) {
      if (this.tracked() <= room) break;
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
  private lastFailedSweep = -Infinity;

  constructor(
    private readonly maxPerWindow: number,
    private readonly windowMs: number,
    private readonly now: () => number = () => Date.now(),
    private readonly maxKeys = 100_000,
  ) {}

  /** Whether `key` still has budget in this window, without using any. */
  peek(key: string): LimitCheck {
    const t = this.now();
    const shared = this.sharesCount(key, t);
    const c = this.counts.get(shared ? OVERFLOW_KEY : key);
    if (!c || c.windowStart + this.windowMs <= t || c.count < this.maxPerWindow) return { allowed: true };
    return {
      allowed: false,
      retryAfterSeconds: Math.ceil((c.windowStart + this.windowMs - t) / 1000),
      ...(shared ? { shared } : {}),
    };
  }

  /** Uses one unit of `key`'s budget. `firstDenied`: this is the first refusal of the window (of the shared count, if `shared`). */
  take(key: string): LimitCheck | { allowed: false; retryAfterSeconds: number; firstDenied: boolean; shared?: true } {
    const t = this.now();
    // Every count is an exhausted one: this source is counted with the others that found the table full.
    const shared = this.sharesCount(key, t);
    const counted = shared ? OVERFLOW_KEY : key;
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
        ...(shared ? { shared } : {}),
      };
    return { allowed: true };
  }

  /** An administrator's release (see releaseCounts). */
  release(key: string | typeof EVERY_KEY): number {
    return releaseCounts(this.counts, key);
  }

  /** The keys whose budget is used up now (OVERFLOW_KEY: the budget shared beyond a full table). */
  exhausted(): HeldBack[] {
    const t = this.now();
    return [...this.counts]
      .filter(([, c]) => c.windowStart + this.windowMs > t && c.count >= this.maxPerWindow)
      .map(([key, c]) => ({ key, until: c.windowStart + this.windowMs }));
  }

  /** Whether `key` is counted on the shared key (untracked, and no room: see FailureLimiter.sharesCount). */
  private sharesCount(key: string, t: number): boolean {
    if (this.counts.has(key) || this.tracked() < this.maxKeys) return false;
    if (sweepDue(t, this.lastFailedSweep)) {
      this.makeRoom(t);
      if (this.tracked() > roomAfterSweep(this.maxKeys)) this.lastFailedSweep = t;
    }
    return this.tracked() >= this.maxKeys;
  }

  /**
   * Drops the counts whose window has passed, then (still full) the oldest that still have
   * budget, down to nine tenths of the table. A source that used up its budget keeps its count to
   * the end of its window: clearing them all, as before, or dropping the oldest, gave an exhausted
   * source a fresh budget after ~100 000 requests from fresh addresses. When every count is an
   * exhausted one no room is made (new keys are then counted under OVERFLOW_KEY).
   */
  private makeRoom(t: number): void {
    for (const [k, c] of this.counts) if (c.windowStart + this.windowMs <= t) this.counts.delete(k);
    const room = roomAfterSweep(this.maxKeys);
    for (const [k, c] of this.counts) {
      if (this.tracked() <= room) break;
      if (k !== OVERFLOW_KEY && c.count < this.maxPerWindow) this.counts.delete(k);
    }
  }

  /** Keys counted against the bound (the overflow key is not one). */
  private tracked(): number {
    return this.counts.size - (this.counts.has(OVERFLOW_KEY) ? 1 : 0);
  }
}
