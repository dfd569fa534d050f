import * as z from 'zod';
import type { Db } from './database.js';
import { type Clock, check, opt, textSchema } from './sql-util.js';
import type { AgentPresenceRecord, AgentPresenceStore } from './types.js';

interface PresenceRow {
  vm_id: string;
  online: number;
  since: string;
  host_key_fingerprint: string | null;
  version: string | null;
  last_offline_reason: string | null;
}

function toRecord(r: PresenceRow): AgentPresenceRecord {
  return {
    vm: r.vm_id,
    online: r.online === 1,
    since: r.since,
    ...opt('hostKeyFingerprint', r.host_key_fingerprint),
    ...opt('version', r.version),
    ...opt('lastOfflineReason', r.last_offline_reason),
  };
}

const onlineSchema = z.object({ hostKeyFingerprint: textSchema, version: z.string().max(200) });
const reasonSchema = z.string().max(1000);

/**
 * One row per VM whose agent ever connected. Written by the relay as links come and go (in the
 * order the events happen: better-sqlite3 runs each write at once), read by `explain`.
 */
export class SqliteAgentPresenceStore implements AgentPresenceStore {
  constructor(
    private readonly db: Db,
    private readonly now: Clock,
  ) {}

  async markOnline(vm: string, link: { hostKeyFingerprint: string; version: string }): Promise<void> {
    check(textSchema, vm, 'VM id');
    const v = check(onlineSchema, link, 'agent link');
    this.db
      .prepare(
        `INSERT INTO agent_presence (vm_id, online, since, host_key_fingerprint, version) VALUES (?, 1, ?, ?, ?)
         ON CONFLICT (vm_id) DO UPDATE SET online = 1, since = excluded.since,
           host_key_fingerprint = excluded.host_key_fingerprint, version = excluded.version`,
      )
      .run(vm, this.now().toISOString(), v.hostKeyFingerprint, v.version);
  }

  /** Keeps the time it went offline first: a second report of the same outage changes nothing. */
  async markOffline(vm: string, reason: string): Promise<void> {
    check(textSchema, vm, 'VM id');
    const why = check(reasonSchema, reason, 'reason');
    this.db
      .prepare(
        `INSERT INTO agent_presence (vm_id, online, since, last_offline_reason) VALUES (?, 0, ?, ?)
         ON CONFLICT (vm_id) DO UPDATE SET online = 0, since = excluded.since,
           last_offline_reason = excluded.last_offline_reason
         WHERE agent_presence.online = 1`,
      )
      .run(vm, this.now().toISOString(), why);
  }

  async get(vm: string): Promise<AgentPresenceRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM agent_presence WHERE vm_id = ?').get(vm) as PresenceRow | undefined;
    return r && toRecord(r);
  }

  async list(): Promise<AgentPresenceRecord[]> {
    return (this.db.prepare('SELECT * FROM agent_presence ORDER BY vm_id').all() as PresenceRow[]).map(toRecord);
  }

  async markAllOffline(reason: string): Promise<number> {
    const why = check(reasonSchema, reason, 'reason');
    return this.db
      .prepare('UPDATE agent_presence SET online = 0, since = ?, last_offline_reason = ? WHERE online = 1')
      .run(this.now().toISOString(), why).changes;
  }
}
