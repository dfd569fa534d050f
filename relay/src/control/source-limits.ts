import type { Logger } from 'pino';
import type { HeldSource } from '@airlock/shared';
import type { RelayConfig } from '../config.js';
import { EVERY_KEY, OVERFLOW_KEY, RequestRateLimiter, type HeldBack } from '../identity/rate-limiter.js';
import { SourceRequestWatcher } from '../identity/source-request-watcher.js';
import { EVERY_SOURCE, type RelayStore } from '../store/types.js';
import { LoginLimits } from './login-limits.js';

/** How many held-back sources an administrator's list shows at most. */
const MAX_LISTED = 1000;
/** How long a list of held-back sources is served before it is made again. */
const LIST_FRESH_MS = 5000;

interface Listed {
  source: string;
  limit: HeldSource['limit'];
  until: number;
}

/**
 * Every limit the relay keeps per source address, in its memory: failed logins and enrollments,
 * request budgets (LoginLimits) and refused WebSocket upgrades; and an administrator's way to
 * release and list them (`airlock-relay source unlock|list`, through the store: SourceRequestWatcher).
 */
export class SourceLimits {
  readonly login: LoginLimits;
  readonly upgradeRefusals: RequestRateLimiter;
  private readonly requests: SourceRequestWatcher;
  private listed: { at: number; entries: Listed[] } | undefined;

  constructor(
    config: RelayConfig,
    store: Pick<RelayStore, 'loginLockouts' | 'sourceReleases' | 'sourceLists'>,
    logger: Logger,
    private readonly now: () => number,
  ) {
    this.login = new LoginLimits(config, store.loginLockouts, now);
    this.upgradeRefusals = new RequestRateLimiter(config.refusedUpgradesPerMinute, 60_000, now);
    this.requests = new SourceRequestWatcher({
      releases: store.sourceReleases,
      lists: store.sourceLists,
      release: (network) => this.release(network),
      held: () => this.held(),
      logger,
      intervalMs: config.revocationCheckMs,
    });
  }

  /** Before the relay listens: a release written once it counts anything is one it must apply. */
  start(): Promise<void> {
    return this.requests.start();
  }

  close(): void {
    this.requests.close();
  }

  /**
   * The sources refused now, and by which limit, soonest free first: at most `max` of them (a
   * spray can hold back every address of three 100 000-entry tables), and how many there are.
   * Walking and sorting full tables takes the event loop tens of milliseconds, so the list is
   * made at most once every LIST_FRESH_MS (or after a release), whoever asks how often.
   */
  held(max = MAX_LISTED): { at: string; sources: HeldSource[]; total: number } {
    const t = this.now();
    if (!this.listed || t - this.listed.at >= LIST_FRESH_MS || t < this.listed.at)
      this.listed = { at: t, entries: this.collect() };
    const live = this.listed.entries.filter((e) => e.until > t);
    return {
      // What `retryAfterSeconds` counts from. Which sources are listed was decided when the list
      // was last made, up to LIST_FRESH_MS before: one held back since may be missing.
      at: new Date(t).toISOString(),
      sources: live.slice(0, max).map(({ source, limit, until }) => ({
        source,
        limit,
        retryAfterSeconds: Math.ceil((until - t) / 1000),
      })),
      total: live.length,
    };
  }

  private collect(): Listed[] {
    const named = (limit: HeldSource['limit'], list: HeldBack[]): Listed[] =>
      list.map(({ key, until }) => ({
        source: key === OVERFLOW_KEY ? 'shared' : key.replace(/^ip:/, ''),
        limit,
        until,
      }));
    return [
      ...named('failed-attempts', this.login.sources.lockedOut()),
      ...named('requests', this.login.requests.exhausted()),
      // The shared count of refused upgrades refuses nobody (see upgrade-router.ts): not listed.
      ...named(
        'refused-upgrades',
        this.upgradeRefusals.exhausted().filter((h) => h.key !== OVERFLOW_KEY),
      ),
    ].sort((a, b) => a.until - b.until || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  }

  /** Forgets `network`'s counts (EVERY_SOURCE: every count) in every limiter; returns how many. */
  private release(network: string): number {
    this.listed = undefined;
    const key = network === EVERY_SOURCE ? EVERY_KEY : network;
    return this.login.releaseSource(network) + this.upgradeRefusals.release(key);
  }
}
