import * as z from 'zod';
import { chainEntry } from '../audit/chain.js';
import type { Db } from './database.js';
import { type Clock, check, instantSchema, opt, parseJson, sha256HexSchema, textSchema } from './sql-util.js';
import {
  StoreError,
  type AuditCheckpoint,
  type AuditEntry,
  type AuditEventInput,
  type AuditQuery,
  type AuditStore,
} from './types.js';

interface EntryRow {
  seq: number;
  ts: string;
  type: string;
  actor: string;
  outcome: AuditEntry['outcome'];
  sid: string | null;
  source: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

function toEntry(r: EntryRow): AuditEntry {
  return {
    seq: r.seq,
    ts: r.ts,
    type: r.type,
    actor: r.actor,
    outcome: r.outcome,
    ...opt('sid', r.sid),
    ...opt('source', r.source),
    data: parseJson<Record<string, unknown>>(r.data),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

interface CheckpointRow {
  seq: number;
  hash: string;
  ts: string;
  signature: string;
  public_key_pem: string;
}

const eventSchema = z.object({
  type: textSchema,
  actor: textSchema,
  outcome: z.enum(['success', 'failure', 'info']),
  sid: z.string().optional(),
  source: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
});
const seqSchema = z.number().int().min(0);
const limitSchema = z.number().int().min(1);
const querySchema = z.object({
  afterSeq: seqSchema.optional(),
  limit: limitSchema.optional(),
  type: textSchema.optional(),
  actor: textSchema.optional(),
  sid: textSchema.optional(),
  outcome: z.enum(['success', 'failure', 'info']).optional(),
  since: instantSchema.optional(),
  until: instantSchema.optional(),
  descending: z.boolean().optional(),
});
const checkpointSchema = z.object({
  seq: z.number().int().min(1),
  hash: sha256HexSchema,
  ts: instantSchema,
  signature: textSchema,
  publicKeyPem: textSchema,
});

export class SqliteAuditStore implements AuditStore {
  constructor(
    private readonly db: Db,
    private readonly now: Clock,
  ) {}

  async append(event: AuditEventInput, now: Date = this.now()): Promise<AuditEntry> {
    const e = check(eventSchema, event, 'audit event');
    // Hash exactly what will be read back: a Date or a class instance in `data` would otherwise
    // hash differently before and after its JSON round trip through the database.
    const data = JSON.parse(JSON.stringify(e.data)) as Record<string, unknown>;
    const append = this.db.transaction((): AuditEntry => {
      const prev = this.db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as
        { seq: number; hash: string } | undefined;
      const entry = chainEntry(prev, { ...e, data }, now);
      this.db
        .prepare(
          `INSERT INTO audit_events (seq, ts, type, actor, outcome, sid, source, data, prev_hash, hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          entry.seq,
          entry.ts,
          entry.type,
          entry.actor,
          entry.outcome,
          entry.sid ?? null,
          entry.source ?? null,
          JSON.stringify(entry.data),
          entry.prevHash,
          entry.hash,
        );
      return entry;
    });
    // IMMEDIATE takes the write lock before reading the tail, so another process cannot append
    // between our read and our insert (a deferred read would fail with SQLITE_BUSY_SNAPSHOT).
    return append.immediate();
  }

  async last(): Promise<AuditEntry | undefined> {
    const r = this.db.prepare('SELECT * FROM audit_events ORDER BY seq DESC LIMIT 1').get() as EntryRow | undefined;
    return r && toEntry(r);
  }

  /**
   * Filters combine with AND. `type` is exact, or a prefix when it ends in `.*` (`login.*` matches
   * `login` and `login.failure`). `since` is inclusive, `until` exclusive.
   */
  async query(q: AuditQuery = {}): Promise<AuditEntry[]> {
    const v = check(querySchema, q, 'audit query');
    const where: string[] = [];
    const params: (string | number)[] = [];
    const add = (clause: string, ...values: (string | number)[]): void => {
      where.push(clause);
      params.push(...values);
    };
    if (v.afterSeq !== undefined) add('seq > ?', v.afterSeq);
    if (v.type !== undefined) {
      if (v.type.endsWith('.*')) {
        const base = v.type.slice(0, -2);
        add('(type = ? OR substr(type, 1, ?) = ?)', base, base.length + 1, `${base}.`);
      } else {
        add('type = ?', v.type);
      }
    }
    if (v.actor !== undefined) add('actor = ?', v.actor);
    if (v.sid !== undefined) add('sid = ?', v.sid);
    if (v.outcome !== undefined) add('outcome = ?', v.outcome);
    if (v.since !== undefined) add('ts >= ?', v.since);
    if (v.until !== undefined) add('ts < ?', v.until);
    let sql = `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY seq ${v.descending ? 'DESC' : 'ASC'}`;
    if (v.limit !== undefined) {
      sql += ' LIMIT ?';
      params.push(v.limit);
    }
    return (this.db.prepare(sql).all(...params) as EntryRow[]).map(toEntry);
  }

  async range(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    check(seqSchema, afterSeq, 'afterSeq');
    check(limitSchema, limit, 'limit');
    const rows = this.db
      .prepare('SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(afterSeq, limit) as EntryRow[];
    return rows.map(toEntry);
  }

  /** Refuses (StoreError) a checkpoint for an entry that does not exist or has another hash. */
  async addCheckpoint(c: AuditCheckpoint): Promise<void> {
    const v = check(checkpointSchema, c, 'checkpoint');
    const add = this.db.transaction((): void => {
      const entry = this.db.prepare('SELECT hash FROM audit_events WHERE seq = ?').get(v.seq) as
        { hash: string } | undefined;
      if (!entry) throw new StoreError('not_found', `no audit entry ${v.seq} to checkpoint`);
      if (entry.hash !== v.hash) throw new StoreError('invalid', `checkpoint hash does not match audit entry ${v.seq}`);
      this.db
        .prepare('INSERT INTO audit_checkpoints (seq, hash, ts, signature, public_key_pem) VALUES (?, ?, ?, ?, ?)')
        // The ts exactly as given, not normalized: the signature covers its spelling.
        .run(v.seq, v.hash, c.ts, v.signature, v.publicKeyPem);
    });
    add.immediate();
  }

  async checkpoints(): Promise<AuditCheckpoint[]> {
    const rows = this.db.prepare('SELECT * FROM audit_checkpoints ORDER BY seq, id').all() as CheckpointRow[];
    return rows.map((r) => ({
      seq: r.seq,
      hash: r.hash,
      ts: r.ts,
      signature: r.signature,
      publicKeyPem: r.public_key_pem,
    }));
  }

  async getCursor(sink: string): Promise<number> {
    const r = this.db.prepare('SELECT seq FROM audit_sink_cursors WHERE sink = ?').get(sink) as
      { seq: number } | undefined;
    return r?.seq ?? 0;
  }

  async setCursor(sink: string, seq: number): Promise<void> {
    check(textSchema, sink, 'sink');
    check(seqSchema, seq, 'seq');
    this.db
      .prepare(
        `INSERT INTO audit_sink_cursors (sink, seq, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`,
      )
      .run(sink, seq, this.now().toISOString());
  }
}
