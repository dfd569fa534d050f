import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { Db } from './database.js';
import { type Clock, check, instantSchema, opt, sha256HexSchema, storeErrorFrom, textSchema } from './sql-util.js';
import { chainFromColumn, chainToColumn } from './org-state.js';
import {
  StoreError,
  type ConsumeResult,
  type OneTimeCodeRecord,
  type OneTimeCodeStore,
  type PendingEnrollmentRecord,
  type PendingEnrollmentStore,
} from './types.js';

interface CodeRow {
  id: string;
  kind: OneTimeCodeRecord['kind'];
  subject: string;
  secret_sha256: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  org_chain: string | null;
}

function codeRecord(r: CodeRow): OneTimeCodeRecord {
  return {
    id: r.id,
    kind: r.kind,
    subject: r.subject,
    secretSha256: r.secret_sha256,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    ...opt('usedAt', r.used_at),
    ...opt('orgChain', chainFromColumn(r.org_chain)),
  };
}

const kindSchema = z.enum(['user-enrollment', 'agent-enrollment']);
const newCodeSchema = z.object({
  kind: kindSchema,
  subject: textSchema,
  secretSha256: sha256HexSchema,
  expiresAt: instantSchema,
  orgChain: z.array(z.string()).optional(),
});

export class SqliteOneTimeCodeStore implements OneTimeCodeStore {
  constructor(
    private readonly db: Db,
    private readonly now: Clock,
  ) {}

  /** Throws StoreError('not_found') when the subject (user or VM) does not exist. */
  async create(code: {
    kind: OneTimeCodeRecord['kind'];
    subject: string;
    secretSha256: string;
    expiresAt: string;
    orgChain?: string[];
  }): Promise<OneTimeCodeRecord> {
    const c = check(newCodeSchema, code, 'code');
    const record: OneTimeCodeRecord = { id: randomUUID(), ...c, createdAt: this.now().toISOString() };
    const create = this.db.transaction((): void => {
      const subjectExists =
        c.kind === 'user-enrollment'
          ? this.db.prepare('SELECT 1 FROM users WHERE name = ?').get(c.subject)
          : this.db.prepare('SELECT 1 FROM vms WHERE id = ?').get(c.subject);
      if (!subjectExists) {
        throw new StoreError('not_found', c.kind === 'user-enrollment' ? `no user ${c.subject}` : `no VM ${c.subject}`);
      }
      this.db
        .prepare(
          `INSERT INTO one_time_codes (id, kind, subject, secret_sha256, created_at, expires_at, org_chain)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(record.id, c.kind, c.subject, c.secretSha256, record.createdAt, c.expiresAt, chainToColumn(c.orgChain));
    });
    try {
      create.immediate();
    } catch (err) {
      throw storeErrorFrom(err, { exists: 'a code with this secret exists' });
    }
    return record;
  }

  async consume(kind: OneTimeCodeRecord['kind'], secretSha256: string, now: Date): Promise<ConsumeResult> {
    // Read, decide and mark in one IMMEDIATE transaction: a code used by two requests at once
    // (or by the relay and the CLI) is accepted by exactly one.
    const consume = this.db.transaction((): ConsumeResult => {
      const r = this.db
        .prepare('SELECT * FROM one_time_codes WHERE kind = ? AND secret_sha256 = ?')
        .get(kind, secretSha256) as CodeRow | undefined;
      if (!r) return { ok: false, reason: 'unknown' };
      if (r.used_at !== null) return { ok: false, reason: 'used' };
      if (Date.parse(r.expires_at) <= now.getTime()) return { ok: false, reason: 'expired' };
      const usedAt = now.toISOString();
      this.db.prepare('UPDATE one_time_codes SET used_at = ? WHERE id = ?').run(usedAt, r.id);
      return { ok: true, code: codeRecord({ ...r, used_at: usedAt }) };
    });
    return consume.immediate();
  }

  async list(filter: { kind?: OneTimeCodeRecord['kind']; subject?: string } = {}): Promise<OneTimeCodeRecord[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.kind !== undefined) {
      where.push('kind = ?');
      params.push(filter.kind);
    }
    if (filter.subject !== undefined) {
      where.push('subject = ?');
      params.push(filter.subject);
    }
    const sql = `SELECT * FROM one_time_codes ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at, rowid`;
    return (this.db.prepare(sql).all(...params) as CodeRow[]).map(codeRecord);
  }

  /**
   * Voids a code by making it expire now rather than marking it used: a person holding a voided
   * code is told it expired, not that someone else already used it. Returns how many codes were
   * still valid.
   */
  async revokeAllOf(kind: OneTimeCodeRecord['kind'], subject: string): Promise<number> {
    const at = this.now().toISOString();
    const r = this.db
      .prepare(
        `UPDATE one_time_codes SET expires_at = ?
         WHERE kind = ? AND subject = ? AND used_at IS NULL AND expires_at > ?`,
      )
      .run(at, kind, subject, at);
    return r.changes;
  }
}

interface PendingRow {
  id: string;
  user_name: string;
  device_name: string;
  public_key_pem: string;
  new_totp_secret: string | null;
  created_at: string;
  expires_at: string;
  failed_attempts: number;
  org_chain: string | null;
}

function pendingRecord(r: PendingRow): PendingEnrollmentRecord {
  return {
    id: r.id,
    user: r.user_name,
    deviceName: r.device_name,
    publicKeyPem: r.public_key_pem,
    ...opt('newTotpSecretBase32', r.new_totp_secret),
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    failedAttempts: r.failed_attempts,
    ...opt('orgChain', chainFromColumn(r.org_chain)),
  };
}

const newPendingSchema = z.object({
  user: textSchema,
  deviceName: z.string().max(200),
  publicKeyPem: z.string().min(1).max(16384),
  newTotpSecretBase32: z.string().min(1).optional(),
  expiresAt: instantSchema,
  orgChain: z.array(z.string()).optional(),
});

export class SqlitePendingEnrollmentStore implements PendingEnrollmentStore {
  constructor(
    private readonly db: Db,
    private readonly now: Clock,
  ) {}

  async create(
    p: Omit<PendingEnrollmentRecord, 'id' | 'createdAt' | 'failedAttempts'>,
  ): Promise<PendingEnrollmentRecord> {
    const v = check(newPendingSchema, p, 'pending enrollment');
    const row: PendingRow = {
      id: randomUUID(),
      user_name: v.user,
      device_name: v.deviceName,
      public_key_pem: v.publicKeyPem,
      new_totp_secret: v.newTotpSecretBase32 ?? null,
      created_at: this.now().toISOString(),
      expires_at: v.expiresAt,
      failed_attempts: 0,
      org_chain: chainToColumn(v.orgChain),
    };
    try {
      this.db
        .prepare(
          `INSERT INTO pending_enrollments
             (id, user_name, device_name, public_key_pem, new_totp_secret, created_at, expires_at, failed_attempts, org_chain)
           VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)`,
        )
        .run(
          row.id,
          row.user_name,
          row.device_name,
          row.public_key_pem,
          row.new_totp_secret,
          row.created_at,
          row.expires_at,
          row.org_chain,
        );
    } catch (err) {
      throw storeErrorFrom(err, { notFound: `no user ${v.user}` });
    }
    return pendingRecord(row);
  }

  async get(id: string): Promise<PendingEnrollmentRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM pending_enrollments WHERE id = ?').get(id) as PendingRow | undefined;
    return r && pendingRecord(r);
  }

  /** Throws StoreError('not_found') for an unknown (or already deleted) enrollment. */
  async recordFailure(id: string): Promise<number> {
    const record = this.db.transaction((): number => {
      const r = this.db
        .prepare(
          'UPDATE pending_enrollments SET failed_attempts = failed_attempts + 1 WHERE id = ? RETURNING failed_attempts',
        )
        .get(id) as { failed_attempts: number } | undefined;
      if (!r) throw new StoreError('not_found', `no pending enrollment ${id}`);
      return r.failed_attempts;
    });
    return record.immediate();
  }

  async delete(id: string): Promise<void> {
    this.db.prepare('DELETE FROM pending_enrollments WHERE id = ?').run(id);
  }

  async deleteAllOf(user: string): Promise<number> {
    return this.db.prepare('DELETE FROM pending_enrollments WHERE user_name = ?').run(user).changes;
  }
}
