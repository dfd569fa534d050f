import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from './database.js';
import { MIGRATIONS, SchemaTooNewError, appliedVersions, migrate, type Migration } from './migrations.js';
import { openSqliteStore } from './sqlite-store.js';
import { tmpDb } from './test-support/tmp-store.js';

const latest = MIGRATIONS.at(-1)!.version;

test('opening a new file applies every migration and records it', async (t) => {
  const { path } = await tmpDb(t);
  const store = openSqliteStore(path);
  t.after(() => store.close());
  const rows = store.db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all() as {
    version: number;
    name: string;
    applied_at: string;
  }[];
  assert.deepEqual(
    rows.map((r) => [r.version, r.name]),
    MIGRATIONS.map((m) => [m.version, m.name]),
  );
  for (const r of rows) assert.ok(!Number.isNaN(Date.parse(r.applied_at)));
});

test('reopening is a no-op and keeps the data', async (t) => {
  const { path } = await tmpDb(t);
  const first = openSqliteStore(path);
  await first.users.create('alice');
  await first.close();

  const db = openDatabase(path);
  t.after(() => db.close());
  assert.deepEqual(migrate(db), []);
  assert.deepEqual(migrate(db), []);
  assert.deepEqual(
    appliedVersions(db),
    MIGRATIONS.map((m) => m.version),
  );
  assert.deepEqual(db.prepare('SELECT name FROM users').all(), [{ name: 'alice' }]);
});

test('pending migrations are applied in order on the next open', async (t) => {
  const { path } = await tmpDb(t);
  openSqliteStore(path).close();
  const extra: Migration[] = [
    ...MIGRATIONS,
    { version: latest + 1, name: 'add notes', up: (db) => db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY)') },
    { version: latest + 2, name: 'add note text', up: (db) => db.exec('ALTER TABLE notes ADD COLUMN text TEXT') },
  ];
  const db = openDatabase(path);
  t.after(() => db.close());
  assert.deepEqual(migrate(db, extra), [latest + 1, latest + 2]);
  assert.deepEqual(migrate(db, extra), []);
  db.prepare('INSERT INTO notes (text) VALUES (?)').run('hello');
});

test('a failing migration leaves the database at its previous version', async (t) => {
  const { path } = await tmpDb(t);
  openSqliteStore(path).close();
  const broken: Migration[] = [
    ...MIGRATIONS,
    { version: latest + 1, name: 'fine', up: (db) => db.exec('CREATE TABLE fine (id INTEGER PRIMARY KEY)') },
    { version: latest + 2, name: 'broken', up: (db) => db.exec('ALTER TABLE missing ADD COLUMN x TEXT') },
  ];
  const db = openDatabase(path);
  t.after(() => db.close());
  assert.throws(() => migrate(db, broken), /no such table: missing/);
  assert.deepEqual(
    appliedVersions(db),
    MIGRATIONS.map((m) => m.version),
  );
  assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'fine'").get(), undefined);
});

test('a database from a newer relay is refused with a clear message', async (t) => {
  const { path } = await tmpDb(t);
  const store = openSqliteStore(path);
  store.db
    .prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)')
    .run(latest + 5, 'future', new Date().toISOString());
  await store.close();

  assert.throws(
    () => openSqliteStore(path),
    (err: unknown) => {
      assert.ok(err instanceof SchemaTooNewError);
      assert.equal(
        err.message,
        `database schema version ${latest + 5} is newer than this relay supports (${latest}); upgrade the relay`,
      );
      return true;
    },
  );
});

test('migrations out of order are a programming error', async () => {
  const db = openDatabase(':memory:');
  const noop = (): void => {};
  assert.throws(
    () =>
      migrate(db, [
        { version: 2, name: 'b', up: noop },
        { version: 1, name: 'a', up: noop },
      ]),
    /strictly increasing/,
  );
  db.close();
});
