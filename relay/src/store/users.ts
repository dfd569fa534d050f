import type { Db } from './database.js';
import { type Clock, check, opt, storeErrorFrom, textSchema } from './sql-util.js';
import { StoreError, type UserRecord, type UserStatus, type UserStore, type UserTotp } from './types.js';
import * as z from 'zod';

interface UserRow {
  name: string;
  status: UserStatus;
  created_at: string;
  updated_at: string;
  totp_secret: string | null;
  totp_confirmed_at: string | null;
  totp_last_used_step: number;
}

function toRecord(r: UserRow): UserRecord {
  return {
    name: r.name,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    totpConfirmed: r.totp_secret !== null && r.totp_confirmed_at !== null,
  };
}

const statusSchema = z.enum(['active', 'disabled']);
const stepSchema = z.number().int().min(0);

export class SqliteUserStore implements UserStore {
  constructor(
    private readonly db: Db,
    private readonly now: Clock,
  ) {}

  private row(name: string): UserRow | undefined {
    return this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as UserRow | undefined;
  }

  async get(name: string): Promise<UserRecord | undefined> {
    const r = this.row(name);
    return r && toRecord(r);
  }

  async list(): Promise<UserRecord[]> {
    return (this.db.prepare('SELECT * FROM users ORDER BY name').all() as UserRow[]).map(toRecord);
  }

  async create(name: string): Promise<UserRecord> {
    check(textSchema, name, 'user name');
    const at = this.now().toISOString();
    try {
      this.db
        .prepare('INSERT INTO users (name, status, created_at, updated_at) VALUES (?, ?, ?, ?)')
        .run(name, 'active', at, at);
    } catch (err) {
      throw storeErrorFrom(err, { exists: `user ${name} already exists` });
    }
    return toRecord(this.row(name)!);
  }

  async setStatus(name: string, status: UserStatus): Promise<UserRecord> {
    check(statusSchema, status, 'status');
    const at = this.now().toISOString();
    const r = this.db.prepare('UPDATE users SET status = ?, updated_at = ? WHERE name = ?').run(status, at, name);
    if (r.changes === 0) throw new StoreError('not_found', `no user ${name}`);
    return toRecord(this.row(name)!);
  }

  async getTotp(name: string): Promise<UserTotp | undefined> {
    const r = this.row(name);
    if (!r || r.totp_secret === null) return undefined;
    return {
      secretBase32: r.totp_secret,
      ...opt('confirmedAt', r.totp_confirmed_at),
      lastUsedStep: r.totp_last_used_step,
    };
  }

  /**
   * Stores a secret the user has just proven they hold (the relay keeps an unconfirmed one on
   * the pending enrollment), so it is confirmed now. Steps used with a previous secret say
   * nothing about the new one, hence the reset.
   */
  async setTotp(name: string, secretBase32: string): Promise<void> {
    check(
      z
        .string()
        .regex(/^[A-Z2-7]+=*$/i, 'not base32')
        .min(16),
      secretBase32,
      'TOTP secret',
    );
    const at = this.now().toISOString();
    const r = this.db
      .prepare(
        `UPDATE users SET totp_secret = ?, totp_confirmed_at = ?, totp_last_used_step = 0, updated_at = ?
         WHERE name = ?`,
      )
      .run(secretBase32, at, at, name);
    if (r.changes === 0) throw new StoreError('not_found', `no user ${name}`);
  }

  /** False too for an unknown user or one without TOTP: the caller refuses the code either way. */
  async useTotpStep(name: string, step: number): Promise<boolean> {
    check(stepSchema, step, 'TOTP step');
    const use = this.db.transaction((): boolean => {
      const r = this.db
        .prepare(
          `UPDATE users SET totp_last_used_step = ?
           WHERE name = ? AND totp_secret IS NOT NULL AND totp_last_used_step < ?`,
        )
        .run(step, name, step);
      return r.changes === 1;
    });
    return use.immediate();
  }
}
