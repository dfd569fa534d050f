import type { Db } from './database.js';
import { SCHEMA_V1 } from './schema-v1.js';
import { SCHEMA_V2_LOGIN_LOCKOUTS } from './schema-v2.js';
import { SCHEMA_V3_AGENT_PRESENCE } from './schema-v3.js';
import { SCHEMA_V4_REVOCATION_EPOCH } from './schema-v4.js';
import { SCHEMA_V5_ORG_ROOT } from './schema-v5.js';
import { SCHEMA_V6_SOURCE_RELEASES } from './schema-v6.js';
import { SCHEMA_V7_SOURCE_LISTS } from './schema-v7.js';

export interface Migration {
  version: number;
  name: string;
  up(db: Db): void;
}

/**
 * Every schema change ever made, oldest first. Never edit or reorder a released entry: add a new
 * one, so a database at any earlier version can be brought forward.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    up: (db) => {
      db.exec(SCHEMA_V1);
    },
  },
  {
    version: 2,
    name: 'login lockouts in the store',
    up: (db) => {
      db.exec(SCHEMA_V2_LOGIN_LOCKOUTS);
    },
  },
  {
    version: 3,
    name: 'agent presence in the store',
    up: (db) => {
      db.exec(SCHEMA_V3_AGENT_PRESENCE);
    },
  },
  {
    version: 4,
    name: 'revocation epoch',
    up: (db) => {
      db.exec(SCHEMA_V4_REVOCATION_EPOCH);
    },
  },
  {
    version: 5,
    name: 'organisation root: anchor, revocation list, credential chains',
    up: (db) => {
      db.exec(SCHEMA_V5_ORG_ROOT);
    },
  },
  {
    version: 6,
    name: "source releases: the admin CLI reaching the running relay's per-source lockouts",
    up: (db) => {
      db.exec(SCHEMA_V6_SOURCE_RELEASES);
    },
  },
  {
    version: 7,
    name: "source lists: the admin CLI reading the running relay's per-source refusals",
    up: (db) => {
      db.exec(SCHEMA_V7_SOURCE_LISTS);
    },
  },
];

/** Opening a database written by a newer relay: its schema may hold things this code would mangle. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly databaseVersion: number,
    readonly supportedVersion: number,
  ) {
    super(
      `database schema version ${databaseVersion} is newer than this relay supports (${supportedVersion}); upgrade the relay`,
    );
    this.name = 'SchemaTooNewError';
  }
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    const prev = migrations[i - 1];
    if (!Number.isInteger(m.version) || m.version < 1 || (prev !== undefined && m.version <= prev.version)) {
      throw new Error(`migrations must have strictly increasing positive versions (at ${m.version} "${m.name}")`);
    }
  });
}

/**
 * Applies every pending migration in one IMMEDIATE transaction: two processes opening the same
 * new file at once serialize here, and the second finds nothing left to do. Returns the versions
 * applied now.
 */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): number[] {
  checkOrder(migrations);
  const supported = migrations.at(-1)?.version ?? 0;
  const run = db.transaction((): number[] => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TEXT NOT NULL
    )`);
    const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
    const current = rows.at(-1)?.version ?? 0;
    if (current > supported) throw new SchemaTooNewError(current, supported);
    const done = new Set(rows.map((r) => r.version));
    const insert = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      m.up(db);
      insert.run(m.version, m.name, new Date().toISOString());
      applied.push(m.version);
    }
    return applied;
  });
  return run.immediate();
}

/** The versions recorded in the database, ascending. */
export function appliedVersions(db: Db): number[] {
  const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
  return rows.map((r) => r.version);
}
