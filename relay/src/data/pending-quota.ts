/** Why a new session was refused: the user's own limit or the relay's. */
export type QuotaRefusal = { ok: false; reason: 'user_limit' | 'relay_limit'; message: string };

/**
 * Counts sessions that are not yet paired, per user and in total. Each holds memory for about a
 * minute and makes an agent dial, so both counts are capped.
 */
export class PendingSessionQuota {
  private readonly byUser = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: { perUser: number; total: number }) {}

  /** A refusal when `user` may not open one more pending session now. */
  check(user: string): QuotaRefusal | undefined {
    const mine = this.count(user);
    const { perUser, total } = this.limits;
    if (mine >= perUser)
      return {
        ok: false,
        reason: 'user_limit',
        message:
          `you already have ${mine} sessions waiting to connect (the limit is ${perUser}); ` +
          'wait for them to connect or expire (about a minute), or close sessions you no longer use',
      };
    if (this.total >= total)
      return {
        ok: false,
        reason: 'relay_limit',
        message:
          `the relay already has ${this.total} sessions waiting to connect (the limit is ${total}); ` +
          'wait a minute and try again, or close sessions you no longer use',
      };
    return undefined;
  }

  take(user: string): void {
    this.byUser.set(user, this.count(user) + 1);
    this.total++;
  }

  release(user: string): void {
    this.total--;
    const left = this.count(user) - 1;
    if (left > 0) this.byUser.set(user, left);
    else this.byUser.delete(user);
  }

  /** Pending sessions of `user`, or of everyone. */
  count(user?: string): number {
    return user === undefined ? this.total : (this.byUser.get(user) ?? 0);
  }
}
