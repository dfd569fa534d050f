import { chmodSync, closeSync, openSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** The store's database file mode: it holds TOTP secrets and the whole audit log. */
const FILE_MODE = 0o600;
/** How long a statement waits for another process's lock (the relay and the admin CLI share the file). */
export const BUSY_TIMEOUT_MS = 5000;

function isMemory(path: string): boolean {
  return path === ':memory:' || path === '';
}

/**
 * Creates the file with mode 0600 before SQLite sees it, so it is never readable by others, not
 * even for the instant between SQLite creating it and a later chmod.
 */
function createPrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * SQLite gives -wal and -shm the main file's mode, so they start 0600; an older or copied file
 * may have been looser, and a secret-bearing file readable by others is worth fixing in place.
 */
export function tightenFileModes(path: string): void {
  if (isMemory(path)) return;
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    if ((mode & 0o077) !== 0) chmodSync(file, FILE_MODE);
  }
}

/**
 * Opens (creating when missing) the database with the settings every connection needs: WAL so
 * readers never block the writer, a busy timeout so the relay and the admin CLI can share the
 * file, and enforced foreign keys (SQLite leaves them off by default).
 */
export function openDatabase(path: string): Db {
  if (!isMemory(path)) createPrivateFile(path);
  const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    db.pragma('journal_mode = WAL');
    cacheStatements(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Statements kept per connection; the stores use a few dozen fixed SQL texts. */
const MAX_CACHED_STATEMENTS = 500;

/**
 * Makes `db.prepare` return one statement per SQL text instead of compiling it again on every
 * call: the stores prepare where they query, and compiling cost more than the query itself on the
 * relay's hot paths (revocation checks, session bookkeeping). Statements are reusable; the
 * stores never hold one mid-iteration across another call of the same SQL.
 */
function cacheStatements(db: Db): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = prepare(sql);
      if (cache.size < MAX_CACHED_STATEMENTS) cache.set(sql, statement);
    }
    return statement;
  }) as Db['prepare'];
}
