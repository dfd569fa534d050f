import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { processAlive } from '@airlock/shared';
import { readServedAt } from './served-at.js';

/** The file a running relay holds locked; the kernel drops the lock when the process ends, however it ends. */
export const LOCK_FILE = 'relay.lock';
/** How long a starting relay waits for the lock (an admin CLI probing it holds it for microseconds). */
const ACQUIRE_TIMEOUT_MS = 2000;

/** Another process holds the data dir: what is known about it. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: { pid?: number; url?: string },
  ) {
    const who =
      holder.pid !== undefined
        ? `relay process ${holder.pid}${holder.url ? `, serving ${holder.url}` : ''}`
        : 'another relay process, which is still starting';
    super(`the data dir ${dataDir} is in use by ${who}`);
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirLock {
  release(): void;
}

/**
 * Takes the data dir for this relay process, or throws DataDirInUseError naming the holder.
 *
 * The lock is SQLite's own: an EXCLUSIVE transaction kept open on `relay.lock` (a database with
 * nothing in it), i.e. a POSIX record lock held by the kernel for this process. A crashed relay
 * leaves no stale lock to judge by pid (the kernel released it), two relays starting at once
 * cannot both win, and the admin CLI — which shares relay.db, not this file — keeps working.
 * SQLite rather than a bare lock file because it is the only portable record lock Node reaches
 * without another native module, and it tracks its own locks across connections of one process.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  // Created before SQLite opens it, so it is 0600 from the start (and never reopened after).
  closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path, { timeout: ACQUIRE_TIMEOUT_MS });
  try {
    // Nothing is ever written: no journal file is needed.
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') throw new DataDirInUseError(dataDir, holderOf(dataDir));
    throw error;
  }
  return {
    release: () => {
      if (db.open) db.close();
    },
  };
}

/**
 * Whether a relay process holds the data dir right now. A probe: it never waits, and holds the
 * lock file's shared lock only for the instant of the check (a starting relay waits that out).
 */
export function dataDirInUse(dataDir: string): boolean {
  const path = join(dataDir, LOCK_FILE);
  if (!existsSync(path)) return false;
  const db = new Database(path, { timeout: 0, fileMustExist: true });
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return false;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return true;
    throw error;
  } finally {
    db.close();
  }
}

/** What `served-at.json` says about the holder, if its process is alive (else it is from an older run). */
function holderOf(dataDir: string): { pid?: number; url?: string } {
  const served = readServedAt(dataDir);
  if (served.pid === undefined || !processAlive(served.pid)) return {};
  return { pid: served.pid, ...(served.url ? { url: served.url } : {}) };
}
