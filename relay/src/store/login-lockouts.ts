import * as z from 'zod';
import type { Db } from './database.js';
import { check, parseJson } from './sql-util.js';
import type { LockoutPolicy, LoginLockoutStore, UserLockout } from './types.js';

interface LockoutRow {
  user_name: string;
  failures: string;
  locked_until: string | null;
}

const policySchema = z.object({
  maxFailures: z.number().int().positive(),
  windowMs: z.number().int().positive(),
  lockoutMs: z.number().int().positive(),
});

/**
 * Failed logins per user and the lock they lead to, in the store rather than in the relay's
 * memory: the admin CLI (another process on the same file) can then see and clear a lock, and a
 * relay restart does not forgive a guesser. Only failures by someone holding a device key reach
 * this table (see LoginLimits), so anonymous traffic cannot make it grow.
 */
export class SqliteLoginLockoutStore implements LoginLockoutStore {
  constructor(private readonly db: Db) {}

  private row(user: string): LockoutRow | undefined {
    return this.db.prepare('SELECT * FROM login_lockouts WHERE user_name = ?').get(user) as LockoutRow | undefined;
  }

  async lockedUntil(user: string, now: Date): Promise<Date | undefined> {
    const until = this.row(user)?.locked_until;
    return until && Date.parse(until) > now.getTime() ? new Date(until) : undefined;
  }

  async recordFailure(user: string, now: Date, policy: LockoutPolicy): Promise<{ lockedUntil?: Date }> {
    check(policySchema, policy, 'lockout policy');
    const record = this.db.transaction((): { lockedUntil?: Date } => {
      const t = now.getTime();
      const recent = parseJson<number[]>(this.row(user)?.failures ?? '[]').filter((f) => f > t - policy.windowMs);
      recent.push(t);
      const lock = recent.length >= policy.maxFailures ? new Date(t + policy.lockoutMs) : undefined;
      this.db
        .prepare(
          `INSERT INTO login_lockouts (user_name, failures, locked_until) VALUES (?, ?, ?)
           ON CONFLICT (user_name) DO UPDATE SET failures = excluded.failures,
             locked_until = COALESCE(excluded.locked_until, login_lockouts.locked_until)`,
        )
        .run(user, JSON.stringify(lock ? [] : recent), lock?.toISOString() ?? null);
      return lock ? { lockedUntil: lock } : {};
    });
    return record.immediate();
  }

  async clear(user: string, now: Date): Promise<{ wasLocked: boolean; failures: number }> {
    const clear = this.db.transaction(() => {
      const r = this.row(user);
      if (!r) return { wasLocked: false, failures: 0 };
      this.db.prepare('DELETE FROM login_lockouts WHERE user_name = ?').run(user);
      return {
        wasLocked: r.locked_until !== null && Date.parse(r.locked_until) > now.getTime(),
        failures: parseJson<number[]>(r.failures).length,
      };
    });
    return clear.immediate();
  }

  async listLocked(now: Date): Promise<UserLockout[]> {
    const rows = this.db
      .prepare('SELECT * FROM login_lockouts WHERE locked_until > ? ORDER BY user_name')
      .all(now.toISOString()) as LockoutRow[];
    return rows.map((r) => ({ user: r.user_name, lockedUntil: r.locked_until! }));
  }
}
