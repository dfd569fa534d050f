import { SqliteApiClientStore } from './api-clients.js';
import { SqliteAuditStore } from './audit.js';
import { SqliteOneTimeCodeStore, SqlitePendingEnrollmentStore } from './codes.js';
import { type Db, openDatabase, tightenFileModes } from './database.js';
import { SqliteDeviceStore } from './devices.js';
import { SqliteGrantStore } from './grants.js';
import { SqliteLoginLockoutStore } from './login-lockouts.js';
import { migrate } from './migrations.js';
import { SqliteSessionStore } from './sessions.js';
import type { Clock } from './sql-util.js';
import type { RelayStore } from './types.js';
import { SqliteUserStore } from './users.js';
import { SqliteAgentCredentialStore, SqliteVmStore } from './vms.js';

export { SchemaTooNewError } from './migrations.js';

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

  /** The migrated connection; for tests and tooling that must reach past the interfaces. */
  readonly db: Db;

  constructor(db: Db, options: SqliteStoreOptions = {}) {
    const now = options.now ?? (() => new Date());
    this.db = db;
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
  return new SqliteStore(db, options);
}
