import type { AuditEventInput } from '../store/types.js';
import { sourceNetwork } from '../control/request-source.js';
import { RequestRateLimiter } from '../identity/rate-limiter.js';
import type { AuditRecorder } from './recorder.js';

/**
 * Audits refusals of unauthenticated (or badly authenticated) requests one by one up to a
 * budget per source address and minute. Past it, one entry says that auditing of that source
 * stopped for the rest of the minute, and further refusals are only counted in the relay log:
 * anonymous junk must not be able to grow the audit chain without bound.
 */
export class RefusalAuditBudget {
  private readonly limiter: RequestRateLimiter;

  constructor(
    private readonly audit: AuditRecorder,
    perMinute: number,
    now: () => number = () => Date.now(),
    /** Addresses counted one by one (see RequestRateLimiter). */
    maxSources?: number,
  ) {
    this.limiter = new RequestRateLimiter(perMinute, 60_000, now, maxSources);
  }

  /** Records `event` if `source` still has budget; returns whether it was recorded one by one. */
  async record(source: string, event: AuditEventInput): Promise<boolean> {
    const r = this.limiter.take(sourceNetwork(source));
    if (r.allowed) {
      await this.audit.record(event);
      return true;
    }
    if ('firstDenied' in r && r.firstDenied)
      await this.audit.record({
        type: 'audit.refusals_suppressed',
        actor: 'relay',
        outcome: 'info',
        source,
        data: {
          refused: event.type,
          // The table of addresses is full (an attack from very many): those beyond it share one
          // budget, so this address used up what all of them had; it names none of the others.
          reason: r.shared
            ? `too many refusals from many addresses at once (beyond the addresses the relay counts one by one, ` +
              `this one among them); for the next ${r.retryAfterSeconds} s such addresses' refusals are not audited one by one`
            : `too many refusals from this address; the next ${r.retryAfterSeconds} s of them are not audited one by one`,
        },
      });
    return false;
  }
}
