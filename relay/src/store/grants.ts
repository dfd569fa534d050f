import * as z from 'zod';
import type { Db } from './database.js';
import { type Clock, check, instantSchema, opt, parseJson, portsSchema, textSchema } from './sql-util.js';
import { StoreError, type GrantRecord, type GrantStore } from './types.js';

interface GrantRow {
  user_name: string;
  vm_id: string;
  ports: string | null;
  expires_at: string | null;
  created_at: string;
}

function toRecord(r: GrantRow): GrantRecord {
  return {
    user: r.user_name,
    vm: r.vm_id,
    ...opt('ports', r.ports === null ? null : parseJson<number[]>(r.ports)),
    ...opt('expiresAt', r.expires_at),
    createdAt: r.created_at,
  };
}

const grantSchema = z.object({
  user: textSchema,
  vm: textSchema,
  ports: portsSchema.optional(),
  expiresAt: instantSchema.optional(),
});

export class SqliteGrantStore implements GrantStore {
  constructor(
    private readonly db: Db,
    private readonly now: Clock,
  ) {}

  async get(user: string, vm: string): Promise<GrantRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM grants WHERE user_name = ? AND vm_id = ?').get(user, vm) as
      GrantRow | undefined;
    return r && toRecord(r);
  }

  async list(filter: { user?: string; vm?: string } = {}): Promise<GrantRecord[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.user !== undefined) {
      where.push('user_name = ?');
      params.push(filter.user);
    }
    if (filter.vm !== undefined) {
      where.push('vm_id = ?');
      params.push(filter.vm);
    }
    const sql = `SELECT * FROM grants ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY user_name, vm_id`;
    return (this.db.prepare(sql).all(...params) as GrantRow[]).map(toRecord);
  }

  async put(grant: { user: string; vm: string; ports?: number[]; expiresAt?: string }): Promise<GrantRecord> {
    const g = check(grantSchema, grant, 'grant');
    const createdAt = this.now().toISOString();
    // Checked inside the write transaction so the message can say which of the two is missing.
    const put = this.db.transaction((): void => {
      if (!this.db.prepare('SELECT 1 FROM users WHERE name = ?').get(g.user)) {
        throw new StoreError('not_found', `no user ${g.user}`);
      }
      if (!this.db.prepare('SELECT 1 FROM vms WHERE id = ?').get(g.vm)) {
        throw new StoreError('not_found', `no VM ${g.vm}`);
      }
      this.db
        .prepare(
          `INSERT INTO grants (user_name, vm_id, ports, expires_at, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (user_name, vm_id)
           DO UPDATE SET ports = excluded.ports, expires_at = excluded.expires_at, created_at = excluded.created_at`,
        )
        .run(g.user, g.vm, g.ports === undefined ? null : JSON.stringify(g.ports), g.expiresAt ?? null, createdAt);
    });
    put.immediate();
    return {
      user: g.user,
      vm: g.vm,
      ...opt('ports', g.ports),
      ...opt('expiresAt', g.expiresAt),
      createdAt,
    };
  }

  async delete(user: string, vm: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM grants WHERE user_name = ? AND vm_id = ?').run(user, vm).changes === 1;
  }
}
