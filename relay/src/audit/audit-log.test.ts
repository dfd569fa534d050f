import assert from 'node:assert/strict';
import { appendFile, chmod, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { AuditLog } from './audit-log.js';
import { auditJsonlPath } from './jsonl-copy.js';
import { verifyJsonl } from './verify.js';
import { MemoryAuditStore, sampleEvent, waitUntil } from './test-support/memory-audit-store.js';
import { captureLogger, silentLogger, sqliteFixture } from './test-support/fixtures.js';
import type { AuditEntry } from '../store/types.js';

async function jsonlEntries(path: string): Promise<AuditEntry[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as AuditEntry);
}

test('record appends to the SQLite store and to the JSON-lines copy (dir 0700, file 0600)', async (t) => {
  const fx = await sqliteFixture(t);
  const log = await AuditLog.open({ store: fx.store.audit, dataDir: fx.dataDir, logger: silentLogger });
  const first = await log.record(sampleEvent(1));
  assert.equal(first?.seq, 1);
  await log.record(sampleEvent(2));
  await log.close();
  const path = auditJsonlPath(fx.dataDir);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await stat(dirname(path))).mode & 0o777, 0o700);
  assert.deepEqual(await jsonlEntries(path), await fx.store.audit.range(0, 10));
  assert.deepEqual(log.stats(), { recorded: 2, failed: 0, copyFailures: 0 });
});

test('200 concurrent records land in seq order in the copy', async (t) => {
  const fx = await sqliteFixture(t);
  const log = await AuditLog.open({ store: fx.store.audit, dataDir: fx.dataDir, logger: silentLogger });
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => log.record(sampleEvent(i))));
  assert.ok(results.every((e) => e !== undefined));
  await log.flush();
  const lines = await jsonlEntries(auditJsonlPath(fx.dataDir));
  assert.deepEqual(
    lines.map((e) => e.seq),
    Array.from({ length: 200 }, (_, i) => i + 1),
  );
  await log.close();
  assert.equal((await verifyJsonl(auditJsonlPath(fx.dataDir))).ok, true);
});

test('record never throws: a store failure is logged and counted, a failing listener is contained', async () => {
  const store = new MemoryAuditStore();
  const { logger, lines } = captureLogger();
  const log = await AuditLog.open({ store, logger });
  log.onAppended(() => {
    throw new Error('listener bug');
  });
  assert.equal((await log.record(sampleEvent(1)))?.seq, 1);
  store.failAppend = new Error('SQLITE_FULL: database or disk is full');
  assert.equal(await log.record({ ...sampleEvent(2), type: 'session.close' }), undefined);
  assert.deepEqual(log.stats(), { recorded: 1, failed: 1, copyFailures: 0 });
  const failure = lines.find((l) => l.msg === 'audit: could not record event');
  assert.equal(failure?.type, 'session.close');
  assert.equal(failure?.data, undefined, 'event data stays out of the log line');
  assert.ok(lines.some((l) => l.msg === 'audit: listener failed'));
  await log.close();
});

test('entries another process appended are filled in, in order, before the next own entry', async (t) => {
  const fx = await sqliteFixture(t);
  const log = await AuditLog.open({ store: fx.store.audit, dataDir: fx.dataDir, logger: silentLogger });
  await log.record(sampleEvent(1));
  const cli = fx.reopen(); // the admin CLI: same file, its own connection, no copy of its own
  const cliLog = await AuditLog.open({ store: cli.audit, logger: silentLogger });
  await cliLog.record({ type: 'admin.user.create', actor: 'cli:root', outcome: 'success', data: { user: 'bob' } });
  await cliLog.record({ type: 'admin.grant', actor: 'cli:root', outcome: 'success', data: { user: 'bob' } });
  await log.record(sampleEvent(4));
  await log.flush();
  const path = auditJsonlPath(fx.dataDir);
  assert.deepEqual(
    (await jsonlEntries(path)).map((e) => [e.seq, e.actor]),
    [
      [1, 'user:u1'],
      [2, 'cli:root'],
      [3, 'cli:root'],
      [4, 'user:u0'],
    ],
  );
  await log.close();
  assert.equal((await verifyJsonl(path)).ok, true);
});

test('the copy picks up other processes’ entries on its own, without a new record', async (t) => {
  const fx = await sqliteFixture(t);
  const log = await AuditLog.open({
    store: fx.store.audit,
    dataDir: fx.dataDir,
    logger: silentLogger,
    syncIntervalMs: 20,
  });
  t.after(() => log.close());
  await fx.reopen().audit.append(sampleEvent(1));
  const path = auditJsonlPath(fx.dataDir);
  await waitUntil(async () => (await jsonlEntries(path)).length === 1, 5000, 'the copy to catch up');
});

test('on restart the copy catches up with what was appended while it was closed, without duplicates', async (t) => {
  const fx = await sqliteFixture(t);
  const path = auditJsonlPath(fx.dataDir);
  const first = await AuditLog.open({ store: fx.store.audit, dataDir: fx.dataDir, logger: silentLogger });
  for (let i = 1; i <= 3; i++) await first.record(sampleEvent(i));
  await first.close();
  for (let i = 4; i <= 6; i++) await fx.store.audit.append(sampleEvent(i));
  // A crash mid-write left half a line behind.
  await appendFile(path, '{"seq":7,"ts":"2030-');
  await chmod(path, 0o644);
  const second = await AuditLog.open({ store: fx.store.audit, dataDir: fx.dataDir, logger: silentLogger });
  await second.record(sampleEvent(7));
  await second.close();
  assert.deepEqual(
    (await jsonlEntries(path)).map((e) => e.seq),
    [1, 2, 3, 4, 5, 6, 7],
  );
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await verifyJsonl(path)).ok, true);
});

test('a failed catch-up read is counted, and the copy heals from the store later', async (t) => {
  const store = new MemoryAuditStore();
  const fx = await sqliteFixture(t); // only for its tmp data dir
  const { logger, lines } = captureLogger();
  const log = await AuditLog.open({ store, dataDir: fx.dataDir, logger });
  await log.record(sampleEvent(1));
  await store.append(sampleEvent(2)); // appended elsewhere
  const range = store.range.bind(store);
  store.range = async () => {
    throw new Error('database is locked');
  };
  await log.record(sampleEvent(3));
  await log.flush();
  assert.equal(log.stats().copyFailures, 1);
  assert.ok(lines.some((l) => l.msg === 'audit: failed writing the audit JSONL copy'));
  store.range = range;
  await log.record(sampleEvent(4));
  await log.close();
  const path = auditJsonlPath(fx.dataDir);
  assert.deepEqual(
    (await jsonlEntries(path)).map((e) => e.seq),
    [1, 2, 3, 4],
  );
  assert.equal((await verifyJsonl(path)).ok, true);
});

test('after close, record still reaches the store (shutdown stragglers)', async (t) => {
  const fx = await sqliteFixture(t);
  const log = await AuditLog.open({ store: fx.store.audit, dataDir: fx.dataDir, logger: silentLogger });
  await log.close();
  assert.equal((await log.record(sampleEvent(1)))?.seq, 1);
});
