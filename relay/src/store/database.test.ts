import assert from 'node:assert/strict';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { openDatabase } from './database.js';
import { openSqliteStore } from './sqlite-store.js';
import { tmpDb } from './test-support/tmp-store.js';

const mode = (file: string): number => statSync(file).mode & 0o777;

test('a new database file and its -wal/-shm are mode 0600', async (t) => {
  const { path } = await tmpDb(t);
  const store = openSqliteStore(path);
  t.after(() => store.close());
  await store.users.create('alice');
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    assert.equal(mode(file), 0o600, file);
  }
});

test('an existing database file readable by others is tightened to 0600', async (t) => {
  const { path } = await tmpDb(t);
  openSqliteStore(path).close();
  chmodSync(path, 0o644);
  const store = openSqliteStore(path);
  t.after(() => store.close());
  assert.equal(mode(path), 0o600);
});

test('every connection runs in WAL mode with a 5 s busy timeout and foreign keys on', async (t) => {
  const { path } = await tmpDb(t);
  const db = openDatabase(path);
  t.after(() => db.close());
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
});

test('a file that is not a database is refused', async (t) => {
  const { path } = await tmpDb(t);
  writeFileSync(path, 'not a database, just some text that is long enough to have a header'.repeat(10));
  assert.throws(() => openSqliteStore(path), /not a database/);
});

test("':memory:' opens a private in-memory store", async () => {
  const store = openSqliteStore(':memory:');
  await store.users.create('alice');
  assert.equal((await store.users.list()).length, 1);
  await store.close();
  await store.close();
});
