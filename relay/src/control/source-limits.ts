import type { Logger } from 'pino';
import type { HeldSource } from '@airlock/shared';
import type { RelayConfig } from '../config.js';
import { EVERY_KEY, OVERFLOW_KEY, RequestRateLimiter, type HeldBack } from '../identity/rate-limiter.js';
import { SourceReleaseWatcher } from '../identity/source-release-watcher.js';
import { EVERY_SOURCE, type RelayStore } from '../store/types.js';
import { LoginLimits } from './login-limits.js';

/** How many held-back sources an administrator's list shows at most. */
const MAX_LISTED = 1000;

/**
 * Every limit the relay keeps per source address, in its memory: failed logins and enrollments,
 * request budgets (LoginLimits) and refused WebSocket upgrades; and an administrator's way to
 * release them (`airlock-relay source unlock`, read from the store by a SourceReleaseWatcher).
 */
export class SourceLimits {
  readonly login: LoginLimits;
  readonly upgradeRefusals: RequestRateLimiter;
  private readonly releases: SourceReleaseWatcher;

  constructor(
    config: RelayConfig,
    store: Pick<RelayStore, 'loginLockouts' | 'sourceReleases'>,
    logger: Logger,
    now: () => number,
  ) {
    this.login = new LoginLimits(config, store.loginLockouts, now);
    this.upgradeRefusals = new RequestRateLimiter(config.refusedUpgradesPerMinute, 60_000, now);
    this.releases = new SourceReleaseWatcher({
      store: store.sourceReleases,
      release: (network) => this.release(network),
      logger,
      intervalMs: config.revocationCheckMs,
    });
  }

  /** Before the relay listens: a release written once it counts anything is one it must apply. */
  start(): Promise<void> {
    return this.releases.start();
  }

  close(): void {
    this.releases.close();
  }

  /**
   * The sources refused now, and by which limit, soonest free first: at most `max` of them (a
   * spray can hold back every address of three 100 000-entry tables), and how many there are.
   */
  held(max = MAX_LISTED): { sources: HeldSource[]; total: number } {
    const named = (limit: HeldSource['limit'], list: HeldBack[]): HeldSource[] =>
      list.map(({ key, retryAfterSeconds }) => ({
        source: key === OVERFLOW_KEY ? 'shared' : key.replace(/^ip:/, ''),
        limit,
        retryAfterSeconds,
      }));
    const all = [
      ...named('failed-attempts', this.login.sources.lockedOut()),
      ...named('requests', this.login.requests.exhausted()),
      ...named('refused-upgrades', this.upgradeRefusals.exhausted()),
    ].sort((a, b) => a.retryAfterSeconds - b.retryAfterSeconds || a.source.localeCompare(b.source));
    return { sources: all.slice(0, max), total: all.length };
  }

  /** Forgets `network`'s counts (EVERY_SOURCE: every count) in every limiter; returns how many. */
  private release(network: string): number {
    const key = network === EVERY_SOURCE ? EVERY_KEY : network;
    return this.login.releaseSource(network) + this.upgradeRefusals.release(key);
  }
}
