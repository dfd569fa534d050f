import { statSync } from 'node:fs';
import { SqliteAgentPresenceStore } from './agent-presence.js';
import { SqliteApiClientStore } from './api-clients.js';
import { SqliteAuditStore } from './audit.js';
import { SqliteOneTimeCodeStore, SqlitePendingEnrollmentStore } from './codes.js';
import { BUSY_TIMEOUT_MS, type Db, openDatabase, tightenFileModes } from './database.js';
import { SqliteDeviceStore } from './devices.js';
import { SqliteGrantStore } from './grants.js';
import { SqliteLoginLockoutStore } from './login-lockouts.js';
import { SqliteSourceReleaseStore } from './source-releases.js';
import { SqliteSourceListStore } from './source-lists.js';
import { SqliteOrgStateStore } from './org-state.js';
import { migrate } from './migrations.js';
import { SqliteSessionStore } from './sessions.js';
import type { Clock } from './sql-util.js';
import type { RelayStore, RevocationStore, StoreProbe } from './types.js';
import { SqliteUserStore } from './users.js';
import { SqliteAgentCredentialStore, SqliteVmStore } from './vms.js';

export { SchemaTooNewError } from './migrations.js';

/** How long a readiness probe waits for a lock another process holds. */
const PROBE_BUSY_MS = 250;

export interface SqliteStoreOptions {
  /** Where record times (createdAt, revokedAt…) come from; tests pin it. Defaults to the wall clock. */
  now?: Clock;
}

/** The embedded store: one SQLite file shared by the relay and the admin CLI. */
export class SqliteStore implements RelayStore {
  readonly users: SqliteUserStore;
  readonly loginLockouts: SqliteLoginLockoutStore;
  readonly devices: SqliteDeviceStore;
  readonly vms: SqliteVmStore;
  readonly agentCredentials: SqliteAgentCredentialStore;
  readonly grants: SqliteGrantStore;
  readonly codes: SqliteOneTimeCodeStore;
  readonly pendingEnrollments: SqlitePendingEnrollmentStore;
  readonly apiClients: SqliteApiClientStore;
  readonly sessions: SqliteSessionStore;
  readonly audit: SqliteAuditStore;
  readonly agentPresence: SqliteAgentPresenceStore;
  readonly revocations: RevocationStore;
  readonly sourceReleases: SqliteSourceReleaseStore;
  readonly sourceLists: SqliteSourceListStore;
  readonly org: SqliteOrgStateStore;

  /** The migrated connection; for tests and tooling that must reach past the interfaces. */
  readonly db: Db;
  /** The file this connection opened (inode), so a probe notices it was removed or replaced. */
  private readonly file: { path: string; ino: number } | undefined;

  constructor(db: Db, options: SqliteStoreOptions & { path?: string } = {}) {
    const now = options.now ?? (() => new Date());
    this.db = db;
    this.file = options.path ? { path: options.path, ino: statSync(options.path).ino } : undefined;
    this.users = new SqliteUserStore(db, now);
    this.loginLockouts = new SqliteLoginLockoutStore(db);
    this.devices = new SqliteDeviceStore(db, now);
    this.vms = new SqliteVmStore(db, now);
    this.agentCredentials = new SqliteAgentCredentialStore(db, now);
    this.grants = new SqliteGrantStore(db, now);
    this.codes = new SqliteOneTimeCodeStore(db, now);
    this.pendingEnrollments = new SqlitePendingEnrollmentStore(db, now);
    this.apiClients = new SqliteApiClientStore(db, now);
    this.sessions = new SqliteSessionStore(db, now);
    this.audit = new SqliteAuditStore(db, now);
    this.agentPresence = new SqliteAgentPresenceStore(db, now);
    this.revocations = {
      epoch: async () =>
        (db.prepare('SELECT epoch FROM revocation_epoch WHERE id = 1').get() as { epoch: number }).epoch,
    };
    this.sourceReleases = new SqliteSourceReleaseStore(db, now);
    this.sourceLists = new SqliteSourceListStore(db, now);
    this.org = new SqliteOrgStateStore(db, now);
  }

  /**
   * The file is still the one opened (SQLite keeps writing to a deleted file without a word),
   * it can be read, and its write lock can be taken within PROBE_BUSY_MS — the relay appends to
   * the audit log on every session, so a store it cannot write to is a relay that cannot serve.
   * better-sqlite3 is synchronous: the short busy timeout bounds how long a probe can hold the
   * event loop when another process holds the lock.
   */
  async probe(): Promise<StoreProbe> {
    const started = performance.now();
    const result = (r: { ok: true } | { ok: false; reason: string }): StoreProbe => ({
      ...r,
      latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
    });
    if (!this.db.open) return result({ ok: false, reason: 'the store is closed' });
    if (this.file) {
      let ino: number;
      try {
        ino = statSync(this.file.path).ino;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? String(e);
        return result({
          ok: false,
          reason:
            code === 'ENOENT'
              ? `${this.file.path} was removed while the relay runs; restore it and restart the relay`
              : `cannot stat ${this.file.path} (${code})`,
        });
      }
      if (ino !== this.file.ino)
        return result({
          ok: false,
          reason: `${this.file.path} was replaced by another file while the relay runs; restart the relay`,
        });
    }
    this.db.pragma(`busy_timeout = ${PROBE_BUSY_MS}`);
    try {
      this.db.prepare('SELECT count(*) FROM schema_migrations').get();
      this.db.exec('BEGIN IMMEDIATE');
      this.db.exec('ROLLBACK');
      return result({ ok: true });
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      return result({
        ok: false,
        reason:
          code === 'SQLITE_BUSY'
            ? `the store is locked by another process (no write lock within ${PROBE_BUSY_MS} ms)`
            : `the store does not answer: ${(e as Error).message}`,
      });
    } finally {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/**
 * Opens (creating it, mode 0600, when missing) and migrates the store at `path`, or an in-memory
 * one for ':memory:'. Throws SchemaTooNewError for a database written by a newer relay.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  const db = openDatabase(path);
  try {
    migrate(db);
    tightenFileModes(path);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteStore(db, { ...options, ...(path === ':memory:' || path === '' ? {} : { path }) });
}
