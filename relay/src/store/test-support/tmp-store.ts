/** Helpers for the store's tests: a real SQLite file in a fresh tmp dir, removed when the test ends. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestClock } from '@airlock/shared/testing';
import type { TestContext } from 'node:test';
import { openSqliteStore, type SqliteStore } from '../sqlite-store.js';

export interface TmpDb {
  dir: string;
  path: string;
}

/** A tmp dir for `relay.db` (not created yet), removed after the test. */
export async function tmpDb(t: TestContext): Promise<TmpDb> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { dir, path: join(dir, 'relay.db') };
}

/** A settable clock, so expiry and ordering tests do not depend on the wall clock. */
export interface TmpStore extends TmpDb {
  store: SqliteStore;
  clock: TestClock;
}

/** A migrated store on a real file with a test clock; closed (before its dir is removed) after the test. */
export async function tmpStore(t: TestContext): Promise<TmpStore> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-store-'));
  const path = join(dir, 'relay.db');
  const clock = new TestClock(Date.parse('2030-01-01T00:00:00.000Z'));
  const store = openSqliteStore(path, { now: clock.now });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, path, store, clock };
}
