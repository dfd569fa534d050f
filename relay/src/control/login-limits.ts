import type { RelayConfig } from '../config.js';
import { EVERY_KEY, FailureLimiter, RequestRateLimiter } from '../identity/rate-limiter.js';
import { sourceNetwork } from './request-source.js';
import { EVERY_SOURCE, type LockoutPolicy, type LoginLockoutStore } from '../store/types.js';
import { HttpError } from './http-error.js';

export interface Lockout {
  message: string;
  retryAfterSeconds: number;
}

/**
 * The brakes on guessing. Per source address (in memory): failed logins and enrollments lock
 * the address, and every unauthenticated endpoint has a request budget. Per user (in the store,
 * so `airlock-relay user unlock` reaches the running relay): only failures by someone whose
 * device signature verified count — a TOTP guess by a holder of the device key. Anything an
 * outsider can send (unknown device, bad signature, stale challenge) counts against the source
 * alone, so knowing a user's name is not enough to lock them out.
 */
/** What the audit records of a lockout a failure started. */
export type LockoutStarted = 'started' | 'started for every address beyond the relay table';

export class LoginLimits {
  readonly sources: FailureLimiter;
  readonly requests: RequestRateLimiter;
  private readonly userPolicy: LockoutPolicy;

  constructor(
    config: RelayConfig,
    private readonly lockouts: LoginLockoutStore,
    private readonly now: () => number = () => Date.now(),
    /** Addresses counted one by one (see FailureLimiter); beyond them, addresses share one count. */
    maxSources?: number,
  ) {
    const windowMs = config.failureWindowSeconds * 1000;
    const lockoutMs = config.lockoutSeconds * 1000;
    this.userPolicy = { maxFailures: config.loginMaxFailuresPerUser, windowMs, lockoutMs };
    const policy = { maxFailures: config.maxFailuresPerSource, windowMs, lockoutMs };
    this.sources = new FailureLimiter(policy, now, maxSources);
    this.requests = new RequestRateLimiter(config.unauthenticatedRequestsPerMinute, 60_000, now, maxSources);
  }

  /** Throws a 429 when the source has used its request budget. */
  takeRequest(source: string): void {
    const r = this.requests.take(`ip:${sourceNetwork(source)}`);
    if (!r.allowed)
      throw tooMany(
        r.shared
          ? `too many requests from many addresses at once: the relay refuses new addresses for now; try again in ${r.retryAfterSeconds} s`
          : `too many requests from your address; try again in ${r.retryAfterSeconds} s`,
        r.retryAfterSeconds,
      );
  }

  /**
   * An administrator's release of a source network (as sourceNetwork gives it), or of every
   * source (EVERY_SOURCE): its lockout and failures, and its request budget, are forgotten.
   * Returns how many counts were.
   */
  releaseSource(network: string): number {
    const key = network === EVERY_SOURCE ? EVERY_KEY : `ip:${network}`;
    return this.sources.release(key) + this.requests.release(key);
  }

  /** Why the source address is locked out, or undefined. */
  sourceLockedOut(source: string): Lockout | undefined {
    const s = this.sources.check(`ip:${sourceNetwork(source)}`);
    if (s.allowed) return undefined;
    return {
      message: s.shared
        ? `too many failed attempts from many addresses at once: the relay refuses new addresses for now; try again in ${minutes(s.retryAfterSeconds)}`
        : `too many failed attempts from your address; try again in ${minutes(s.retryAfterSeconds)}`,
      retryAfterSeconds: s.retryAfterSeconds,
    };
  }

  /** Why the user is locked out, or undefined. */
  async userLockedOut(user: string): Promise<Lockout | undefined> {
    const until = await this.lockouts.lockedUntil(user, new Date(this.now()));
    if (!until) return undefined;
    const retryAfterSeconds = Math.ceil((until.getTime() - this.now()) / 1000);
    return {
      message:
        `too many failed logins for "${user}"; the account is locked for ${minutes(retryAfterSeconds)} — ` +
        `wait, or ask an admin to unlock it (airlock-relay user unlock ${user})`,
      retryAfterSeconds,
    };
  }

  /**
   * A failure anyone could cause: counts against the source only. Returns the lockout it started,
   * if any, as the audit says it: the source's own, or the one every address beyond the relay's
   * table shares (the source is then not the only one locked out, nor necessarily the cause).
   */
  failSource(source: string): LockoutStarted | undefined {
    const key = `ip:${sourceNetwork(source)}`;
    const shared = this.sources.sharesCount(key);
    if (!this.sources.fail(key)) return undefined;
    return shared ? 'started for every address beyond the relay table' : 'started';
  }

  /**
   * A failure by someone whose device signature verified (a wrong TOTP code): counts against
   * the user and the source. Returns the lockout it started, if any (the user's first).
   */
  async failVerifiedDevice(source: string, user: string): Promise<LockoutStarted | undefined> {
    const byUser = await this.lockouts.recordFailure(user, new Date(this.now()), this.userPolicy);
    const bySource = this.failSource(source);
    return byUser.lockedUntil ? 'started' : bySource;
  }

  async succeed(user: string): Promise<void> {
    await this.lockouts.clear(user, new Date(this.now()));
  }
}

export function tooMany(message: string, retryAfterSeconds: number): HttpError {
  return new HttpError(429, 'rate_limited', message, { 'Retry-After': String(retryAfterSeconds) });
}

function minutes(seconds: number): string {
  return seconds < 90 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`;
}
