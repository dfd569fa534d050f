import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { Db } from './database.js';
import { type Clock, check, opt, storeErrorFrom, textSchema } from './sql-util.js';
import { chainFromColumn, chainToColumn } from './org-state.js';
import { StoreError, type DeviceRecord, type DeviceStore } from './types.js';

interface DeviceRow {
  id: string;
  user_name: string;
  name: string;
  public_key_pem: string;
  fingerprint: string;
  created_at: string;
  last_login_at: string | null;
  revoked_at: string | null;
  org_chain: string | null;
}

function toRecord(r: DeviceRow): DeviceRecord {
  return {
    id: r.id,
    user: r.user_name,
    name: r.name,
    publicKeyPem: r.public_key_pem,
    fingerprint: r.fingerprint,
    createdAt: r.created_at,
    ...opt('lastLoginAt', r.last_login_at),
    ...opt('revokedAt', r.revoked_at),
    ...opt('orgChain', chainFromColumn(r.org_chain)),
  };
}

const newDeviceSchema = z.object({
  user: textSchema,
  name: z.string().max(200),
  publicKeyPem: z.string().min(1).max(16384),
  fingerprint: textSchema,
  orgChain: z.array(z.string()).optional(),
});

export class SqliteDeviceStore implements DeviceStore {
  constructor(
    private readonly db: Db,
    private readonly now: Clock,
  ) {}

  async get(id: string): Promise<DeviceRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined;
    return r && toRecord(r);
  }

  async list(filter: { user?: string } = {}): Promise<DeviceRecord[]> {
    // rowid breaks ties between devices created in the same millisecond (a serial column in PostgreSQL).
    const rows =
      filter.user === undefined
        ? this.db.prepare('SELECT * FROM devices ORDER BY created_at, rowid').all()
        : this.db.prepare('SELECT * FROM devices WHERE user_name = ? ORDER BY created_at, rowid').all(filter.user);
    return (rows as DeviceRow[]).map(toRecord);
  }

  async create(device: {
    user: string;
    name: string;
    publicKeyPem: string;
    fingerprint: string;
    orgChain?: string[];
  }): Promise<DeviceRecord> {
    const d = check(newDeviceSchema, device, 'device');
    const record: DeviceRecord = { id: randomUUID(), ...d, createdAt: this.now().toISOString() };
    try {
      this.db
        .prepare(
          `INSERT INTO devices (id, user_name, name, public_key_pem, fingerprint, created_at, org_chain)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          record.id,
          record.user,
          record.name,
          record.publicKeyPem,
          record.fingerprint,
          record.createdAt,
          chainToColumn(d.orgChain),
        );
    } catch (err) {
      throw storeErrorFrom(err, { notFound: `no user ${d.user}` });
    }
    return record;
  }

  async revoke(id: string): Promise<boolean> {
    const r = this.db
      .prepare('UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
      .run(this.now().toISOString(), id);
    return r.changes === 1;
  }

  async revokeAllOf(user: string): Promise<number> {
    const r = this.db
      .prepare('UPDATE devices SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL')
      .run(this.now().toISOString(), user);
    return r.changes;
  }

  async touchLogin(id: string): Promise<void> {
    const r = this.db.prepare('UPDATE devices SET last_login_at = ? WHERE id = ?').run(this.now().toISOString(), id);
    if (r.changes === 0) throw new StoreError('not_found', `no device ${id}`);
  }
}
