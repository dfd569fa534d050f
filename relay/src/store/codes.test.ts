import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openSqliteStore } from './sqlite-store.js';
import { fakeSha, storeError } from './test-support/assertions.js';
import { tmpStore } from './test-support/tmp-store.js';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const LATER = '2030-01-02T00:00:00.000Z';

test('codes: consume succeeds once; a second use is "used", an unknown secret "unknown"', async (t) => {
  const { store } = await tmpStore(t);
  await store.users.create('alice');
  const code = await store.codes.create({
    kind: 'user-enrollment',
    subject: 'alice',
    secretSha256: fakeSha(1),
    expiresAt: LATER,
  });
  assert.deepEqual(code, {
    id: code.id,
    kind: 'user-enrollment',
    subject: 'alice',
    secretSha256: fakeSha(1),
    createdAt: NOW.toISOString(),
    expiresAt: LATER,
  });

  const first = await store.codes.consume('user-enrollment', fakeSha(1), NOW);
  assert.deepEqual(first, { ok: true, code: { ...code, usedAt: NOW.toISOString() } });
  assert.deepEqual(await store.codes.consume('user-enrollment', fakeSha(1), NOW), { ok: false, reason: 'used' });
  assert.deepEqual(await store.codes.consume('user-enrollment', fakeSha(2), NOW), { ok: false, reason: 'unknown' });
  assert.deepEqual(await store.codes.consume('agent-enrollment', fakeSha(1), NOW), { ok: false, reason: 'unknown' });
});

test('codes: a code at or after its expiry is "expired" and stays unused', async (t) => {
  const { store } = await tmpStore(t);
  await store.vms.create({ id: 'vm1', ports: [22] });
  await store.codes.create({ kind: 'agent-enrollment', subject: 'vm1', secretSha256: fakeSha(1), expiresAt: LATER });
  assert.deepEqual(await store.codes.consume('agent-enrollment', fakeSha(1), new Date(LATER)), {
    ok: false,
    reason: 'expired',
  });
  const [c] = await store.codes.list({ kind: 'agent-enrollment' });
  assert.equal(c!.usedAt, undefined);
  const justBefore = new Date(Date.parse(LATER) - 1);
  assert.equal((await store.codes.consume('agent-enrollment', fakeSha(1), justBefore)).ok, true);
});

test('codes: two stores racing for one code accept it exactly once', async (t) => {
  const { store, path } = await tmpStore(t);
  const other = openSqliteStore(path);
  t.after(() => other.close());
  await store.users.create('alice');
  await store.codes.create({ kind: 'user-enrollment', subject: 'alice', secretSha256: fakeSha(9), expiresAt: LATER });
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).codes.consume('user-enrollment', fakeSha(9), NOW)),
  );
  assert.equal(results.filter((r) => r.ok).length, 1);
  assert.ok(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'used'));
});

test('codes: create checks subject and input; list filters; revokeAllOf voids unused codes', async (t) => {
  const { store, clock } = await tmpStore(t);
  await store.users.create('alice');
  await store.users.create('bob');
  await store.vms.create({ id: 'vm1', ports: [22] });
  const base = { kind: 'user-enrollment' as const, expiresAt: LATER };
  await assert.rejects(
    store.codes.create({ ...base, subject: 'carol', secretSha256: fakeSha(1) }),
    storeError('not_found', /no user carol/),
  );
  await assert.rejects(
    store.codes.create({ kind: 'agent-enrollment', subject: 'nope', secretSha256: fakeSha(1), expiresAt: LATER }),
    storeError('not_found', /no VM nope/),
  );
  await assert.rejects(
    store.codes.create({ ...base, subject: 'alice', secretSha256: 'the-code-itself' }),
    storeError('invalid', /secretSha256/),
  );
  await store.codes.create({ ...base, subject: 'alice', secretSha256: fakeSha(1) });
  await assert.rejects(store.codes.create({ ...base, subject: 'bob', secretSha256: fakeSha(1) }), storeError('exists'));
  await store.codes.create({ ...base, subject: 'alice', secretSha256: fakeSha(2) });
  await store.codes.create({ ...base, subject: 'alice', secretSha256: fakeSha(3) });
  await store.codes.create({ ...base, subject: 'bob', secretSha256: fakeSha(4) });
  await store.codes.create({ kind: 'agent-enrollment', subject: 'vm1', secretSha256: fakeSha(5), expiresAt: LATER });
  assert.equal((await store.codes.consume('user-enrollment', fakeSha(1), NOW)).ok, true);

  assert.equal((await store.codes.list()).length, 5);
  assert.equal((await store.codes.list({ kind: 'agent-enrollment' })).length, 1);
  assert.deepEqual(
    (await store.codes.list({ kind: 'user-enrollment', subject: 'alice' })).map((c) => c.secretSha256),
    [fakeSha(1), fakeSha(2), fakeSha(3)],
  );

  clock.advance(1000);
  assert.equal(await store.codes.revokeAllOf('user-enrollment', 'alice'), 2, 'the used one is not counted');
  assert.equal(await store.codes.revokeAllOf('user-enrollment', 'alice'), 0);
  const at = new Date(Date.parse(NOW.toISOString()) + 2000);
  assert.deepEqual(await store.codes.consume('user-enrollment', fakeSha(2), at), { ok: false, reason: 'expired' });
  assert.equal((await store.codes.consume('user-enrollment', fakeSha(4), at)).ok, true, "bob's code still works");
});

test('pending enrollments: create, get, recordFailure counts atomically, delete', async (t) => {
  const { store, path } = await tmpStore(t);
  await store.users.create('alice');
  const p = await store.pendingEnrollments.create({
    user: 'alice',
    deviceName: 'laptop',
    publicKeyPem: 'PEM',
    newTotpSecretBase32: 'JBSWY3DPEHPK3PXP',
    expiresAt: LATER,
  });
  assert.deepEqual(p, {
    id: p.id,
    user: 'alice',
    deviceName: 'laptop',
    publicKeyPem: 'PEM',
    newTotpSecretBase32: 'JBSWY3DPEHPK3PXP',
    createdAt: NOW.toISOString(),
    expiresAt: LATER,
    failedAttempts: 0,
  });
  const noTotp = await store.pendingEnrollments.create({
    user: 'alice',
    deviceName: 'desktop',
    publicKeyPem: 'PEM',
    expiresAt: LATER,
  });
  assert.ok(!('newTotpSecretBase32' in (await store.pendingEnrollments.get(noTotp.id))!));
  await assert.rejects(
    store.pendingEnrollments.create({ user: 'carol', deviceName: 'x', publicKeyPem: 'PEM', expiresAt: LATER }),
    storeError('not_found', /no user carol/),
  );

  assert.equal(await store.pendingEnrollments.recordFailure(p.id), 1);
  const other = openSqliteStore(path);
  t.after(() => other.close());
  const counts = await Promise.all(
    Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).pendingEnrollments.recordFailure(p.id)),
  );
  assert.deepEqual(
    counts.sort((a, b) => a - b),
    [2, 3, 4, 5, 6, 7],
  );
  assert.equal((await store.pendingEnrollments.get(p.id))!.failedAttempts, 7);

  await store.pendingEnrollments.delete(p.id);
  assert.equal(await store.pendingEnrollments.get(p.id), undefined);
  await assert.rejects(store.pendingEnrollments.recordFailure(p.id), storeError('not_found'));
  await store.pendingEnrollments.delete(p.id);
});
