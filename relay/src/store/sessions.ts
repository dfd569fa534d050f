import * as z from 'zod';
import type { Db } from './database.js';
import { type Clock, check, opt, parseJson, portsSchema, storeErrorFrom, textSchema } from './sql-util.js';
import { StoreError, type SessionRecord, type SessionStore } from './types.js';

interface SessionRow {
  id: string;
  user_name: string;
  device_id: string;
  vm_id: string;
  ports: string;
  created_at: string;
  opened_at: string | null;
  ended_at: string | null;
  end_reason: string | null;
  bytes_from_client: number;
  bytes_from_agent: number;
  kill_requested_at: string | null;
  kill_requested_by: string | null;
}

function toRecord(r: SessionRow): SessionRecord {
  return {
    id: r.id,
    user: r.user_name,
    device: r.device_id,
    vm: r.vm_id,
    ports: parseJson<number[]>(r.ports),
    createdAt: r.created_at,
    ...opt('openedAt', r.opened_at),
    ...opt('endedAt', r.ended_at),
    ...opt('endReason', r.end_reason),
    bytesFromClient: r.bytes_from_client,
    bytesFromAgent: r.bytes_from_agent,
    ...opt('killRequestedAt', r.kill_requested_at),
    ...opt('killRequestedBy', r.kill_requested_by),
  };
}

const newSessionSchema = z.object({
  id: textSchema,
  user: textSchema,
  device: textSchema,
  vm: textSchema,
  ports: portsSchema,
});
const endSchema = z.object({
  reason: z.string().max(1000),
  bytesFromClient: z.number().int().min(0),
  bytesFromAgent: z.number().int().min(0),
});
const limitSchema = z.number().int().min(1).optional();

/** The end reason a relay's start gives the sessions its killed predecessor left live (relay-state.ts). */
export const RESUMABLE_AFTER_RESTART = 'relay restarted';

// Newest first; rowid breaks ties within a millisecond (a serial column in PostgreSQL).
const NEWEST_FIRST = 'ORDER BY created_at DESC, rowid DESC';

export class SqliteSessionStore implements SessionStore {
  constructor(
    private readonly db: Db,
    private readonly now: Clock,
  ) {}

  async create(s: { id: string; user: string; device: string; vm: string; ports: number[] }): Promise<SessionRecord> {
    const v = check(newSessionSchema, s, 'session');
    const createdAt = this.now().toISOString();
    try {
      this.db
        .prepare('INSERT INTO sessions (id, user_name, device_id, vm_id, ports, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(v.id, v.user, v.device, v.vm, JSON.stringify(v.ports), createdAt);
    } catch (err) {
      throw storeErrorFrom(err, { exists: `session ${v.id} already exists` });
    }
    return { ...v, createdAt, bytesFromClient: 0, bytesFromAgent: 0 };
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined;
    return r && toRecord(r);
  }

  private exists(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM sessions WHERE id = ?').get(id) !== undefined;
  }

  /** Keeps the first time; throws StoreError('not_found') for an unknown session. */
  async markOpened(id: string): Promise<void> {
    const r = this.db
      .prepare('UPDATE sessions SET opened_at = ? WHERE id = ? AND opened_at IS NULL')
      .run(this.now().toISOString(), id);
    if (r.changes === 0 && !this.exists(id)) throw new StoreError('not_found', `no session ${id}`);
  }

  /**
   * The first end wins (a crash sweep must not overwrite a real close); the bytes of this last
   * connection are added to those of earlier ones (a resumed session has several). Unknown →
   * StoreError('not_found').
   */
  async markEnded(id: string, end: { reason: string; bytesFromClient: number; bytesFromAgent: number }): Promise<void> {
    const e = check(endSchema, end, 'session end');
    const r = this.db
      .prepare(
        `UPDATE sessions SET ended_at = ?, end_reason = ?,
           bytes_from_client = bytes_from_client + ?, bytes_from_agent = bytes_from_agent + ?
         WHERE id = ? AND ended_at IS NULL`,
      )
      .run(this.now().toISOString(), e.reason, e.bytesFromClient, e.bytesFromAgent, id);
    if (r.changes === 0 && !this.exists(id)) throw new StoreError('not_found', `no session ${id}`);
  }

  /** A connection of a live session dropped (it may be resumed): its bytes are counted, the session stays live. */
  async markInterrupted(id: string, bytes: { bytesFromClient: number; bytesFromAgent: number }): Promise<void> {
    const b = check(endSchema.omit({ reason: true }), bytes, 'session bytes');
    this.db
      .prepare(
        `UPDATE sessions SET bytes_from_client = bytes_from_client + ?, bytes_from_agent = bytes_from_agent + ?
         WHERE id = ?`,
      )
      .run(b.bytesFromClient, b.bytesFromAgent, id);
  }

  /** A dropped session was resumed: live again, even if a restart of the relay had ended it meanwhile. */
  async markResumed(id: string): Promise<void> {
    const r = this.db.prepare('UPDATE sessions SET ended_at = NULL, end_reason = NULL WHERE id = ?').run(id);
    if (r.changes === 0) throw new StoreError('not_found', `no session ${id}`);
  }

  async listLive(): Promise<SessionRecord[]> {
    const rows = this.db.prepare(`SELECT * FROM sessions WHERE ended_at IS NULL ${NEWEST_FIRST}`).all();
    return (rows as SessionRow[]).map(toRecord);
  }

  /** Newest first. */
  async list(filter: { user?: string; vm?: string; limit?: number } = {}): Promise<SessionRecord[]> {
    const limit = check(limitSchema, filter.limit, 'limit');
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.user !== undefined) {
      where.push('user_name = ?');
      params.push(filter.user);
    }
    if (filter.vm !== undefined) {
      where.push('vm_id = ?');
      params.push(filter.vm);
    }
    let sql = `SELECT * FROM sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ${NEWEST_FIRST}`;
    if (limit !== undefined) {
      sql += ' LIMIT ?';
      params.push(limit);
    }
    return (this.db.prepare(sql).all(...params) as SessionRow[]).map(toRecord);
  }

  /**
   * A repeated request keeps the first requester and time, and still returns true while live. A
   * session a relay restart ended may still be resumed, so it can still be killed (its resume is
   * then refused).
   */
  async requestKill(id: string, by: string): Promise<boolean> {
    check(textSchema, by, 'requested by');
    const request = this.db.transaction((): boolean => {
      const r = this.db
        .prepare(
          `UPDATE sessions
           SET kill_requested_at = COALESCE(kill_requested_at, ?), kill_requested_by = COALESCE(kill_requested_by, ?)
           WHERE id = ? AND (ended_at IS NULL OR end_reason = ?)`,
        )
        .run(this.now().toISOString(), by, id, RESUMABLE_AFTER_RESTART);
      return r.changes === 1;
    });
    return request.immediate();
  }

  async endAllLive(reason: string): Promise<SessionRecord[]> {
    const endedAt = this.now().toISOString();
    const end = this.db.transaction((): SessionRow[] => {
      const live = this.db
        .prepare(`SELECT * FROM sessions WHERE ended_at IS NULL ${NEWEST_FIRST}`)
        .all() as SessionRow[];
      this.db.prepare('UPDATE sessions SET ended_at = ?, end_reason = ? WHERE ended_at IS NULL').run(endedAt, reason);
      return live;
    });
    return end.immediate().map((r) => ({ ...toRecord(r), endedAt, endReason: reason }));
  }
}
