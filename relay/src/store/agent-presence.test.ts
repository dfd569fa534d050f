import assert from 'node:assert/strict';
import { rename, rm, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { openDatabase } from './database.js';
import { storeError } from './test-support/assertions.js';
import { tmpStore } from './test-support/tmp-store.js';

test('agent presence: online with host key and version, offline keeps the first time and reason, all offline at start', async (t) => {
  const { store, clock } = await tmpStore(t);
  assert.equal(await store.agentPresence.get('vm1'), undefined, 'never connected');

  await store.agentPresence.markOnline('vm1', { hostKeyFingerprint: 'SHA256:abc', version: '0.1.0' });
  assert.deepEqual(await store.agentPresence.get('vm1'), {
    vm: 'vm1',
    online: true,
    since: '2030-01-01T00:00:00.000Z',
    hostKeyFingerprint: 'SHA256:abc',
    version: '0.1.0',
  });

  clock.advance(60_000);
  await store.agentPresence.markOffline('vm1', 'control link closed (code 1006)');
  clock.advance(60_000);
  await store.agentPresence.markOffline('vm1', 'a later report of the same outage');
  assert.deepEqual(await store.agentPresence.get('vm1'), {
    vm: 'vm1',
    online: false,
    since: '2030-01-01T00:01:00.000Z',
    hostKeyFingerprint: 'SHA256:abc',
    version: '0.1.0',
    lastOfflineReason: 'control link closed (code 1006)',
  });

  clock.advance(60_000);
  await store.agentPresence.markOnline('vm1', { hostKeyFingerprint: 'SHA256:new', version: '0.2.0' });
  await store.agentPresence.markOnline('vm2', { hostKeyFingerprint: 'SHA256:two', version: '0.1.0' });
  const vm1 = await store.agentPresence.get('vm1');
  assert.equal(vm1?.online, true);
  assert.equal(vm1?.since, '2030-01-01T00:03:00.000Z');
  assert.equal(vm1?.hostKeyFingerprint, 'SHA256:new');
  assert.equal(vm1?.lastOfflineReason, 'control link closed (code 1006)', 'the last outage stays on record');

  clock.advance(1000);
  assert.equal(await store.agentPresence.markAllOffline('relay restarted'), 2);
  assert.deepEqual(
    (await store.agentPresence.list()).map((p) => [p.vm, p.online, p.since, p.lastOfflineReason]),
    [
      ['vm1', false, '2030-01-01T00:03:01.000Z', 'relay restarted'],
      ['vm2', false, '2030-01-01T00:03:01.000Z', 'relay restarted'],
    ],
  );
  assert.equal(await store.agentPresence.markAllOffline('again'), 0);
  await assert.rejects(store.agentPresence.markOffline('', 'x'), storeError('invalid'));
  await assert.rejects(
    store.agentPresence.markOnline('vm1', { hostKeyFingerprint: '', version: '1' }),
    storeError('invalid'),
  );
});

test('probe: ok on a healthy file; names a store removed, replaced, locked by another connection, or closed', async (t) => {
  const { store, path } = await tmpStore(t);
  const healthy = await store.probe();
  assert.equal(healthy.ok, true);
  assert.ok(healthy.latencyMs >= 0 && healthy.latencyMs < 250);

  // Another connection holds the write lock (a backup, a stuck admin process): no write lock within the bound.
  const other = openDatabase(path);
  other.exec('BEGIN IMMEDIATE');
  const started = Date.now();
  const locked = await store.probe();
  other.exec('ROLLBACK');
  other.close();
  assert.equal(locked.ok, false);
  assert.match(!locked.ok ? locked.reason : '', /locked by another process/);
  assert.ok(Date.now() - started < 2000, 'the probe does not wait out the 5 s busy timeout');
  assert.equal((await store.probe()).ok, true, 'the lock released, the store answers again');
  // The store's own statements keep their long busy timeout.
  assert.equal(store.db.pragma('busy_timeout', { simple: true }), 5000);

  await rename(path, `${path}.moved`);
  const removed = await store.probe();
  assert.equal(removed.ok, false);
  assert.match(!removed.ok ? removed.reason : '', /relay\.db was removed while the relay runs/);

  await writeFile(path, '');
  const replaced = await store.probe();
  assert.match(!replaced.ok ? replaced.reason : '', /was replaced by another file/);
  await rm(path);
  await rename(`${path}.moved`, path);
  assert.equal((await store.probe()).ok, true, 'the same file back in place');

  await store.close();
  const closed = await store.probe();
  assert.match(!closed.ok ? closed.reason : '', /the store is closed/);
});

test('audit query filters by outcome', async (t) => {
  const { store } = await tmpStore(t);
  for (const outcome of ['success', 'failure', 'info', 'failure'] as const)
    await store.audit.append({ type: 't', actor: 'user:a', outcome, data: {} });
  assert.deepEqual(
    (await store.audit.query({ outcome: 'failure' })).map((e) => e.seq),
    [2, 4],
  );
  await assert.rejects(store.audit.query({ outcome: 'bad' as never }), storeError('invalid'));
});
