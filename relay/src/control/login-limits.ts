import type { RelayConfig } from '../config.js';
import { FailureLimiter, RequestRateLimiter } from '../identity/rate-limiter.js';
import { HttpError } from './http-error.js';

/**
 * The brakes on guessing: per-user lockout for logins, per-source lockout for logins and
 * enrollment, and a request budget per source for every unauthenticated endpoint.
 */
export class LoginLimits {
  readonly users: FailureLimiter;
  readonly sources: FailureLimiter;
  readonly requests: RequestRateLimiter;

  constructor(config: RelayConfig, now: () => number = () => Date.now()) {
    const windowMs = config.failureWindowSeconds * 1000;
    const lockoutMs = config.lockoutSeconds * 1000;
    this.users = new FailureLimiter({ maxFailures: config.loginMaxFailuresPerUser, windowMs, lockoutMs }, now);
    this.sources = new FailureLimiter({ maxFailures: config.maxFailuresPerSource, windowMs, lockoutMs }, now);
    this.requests = new RequestRateLimiter(config.unauthenticatedRequestsPerMinute, 60_000, now);
  }

  /** Throws a 429 when the source has used its request budget. */
  takeRequest(source: string): void {
    const r = this.requests.take(`ip:${source}`);
    if (!r.allowed)
      throw tooMany(`too many requests from your address; try again in ${r.retryAfterSeconds} s`, r.retryAfterSeconds);
  }

  /** The reason a source (and user) is locked out, or undefined. */
  lockedOut(source: string, user?: string): { message: string; retryAfterSeconds: number } | undefined {
    const u = user === undefined ? { allowed: true as const } : this.users.check(`user:${user}`);
    if (!u.allowed)
      return {
        message: `too many failed logins for "${user}"; the account is locked for ${minutes(u.retryAfterSeconds)} — wait or ask an admin`,
        retryAfterSeconds: u.retryAfterSeconds,
      };
    const s = this.sources.check(`ip:${source}`);
    if (!s.allowed)
      return {
        message: `too many failed attempts from your address; try again in ${minutes(s.retryAfterSeconds)}`,
        retryAfterSeconds: s.retryAfterSeconds,
      };
    return undefined;
  }

  /** Records a failure; returns whether it started a lockout (for the audit entry). */
  fail(source: string, user?: string): boolean {
    const byUser = user === undefined ? false : this.users.fail(`user:${user}`);
    const bySource = this.sources.fail(`ip:${source}`);
    return byUser || bySource;
  }

  succeed(user: string): void {
    this.users.succeed(`user:${user}`);
  }
}

export function tooMany(message: string, retryAfterSeconds: number): HttpError {
  return new HttpError(429, 'rate_limited', message, { 'Retry-After': String(retryAfterSeconds) });
}

function minutes(seconds: number): string {
  return seconds < 90 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`;
}
