import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openSqliteStore } from './sqlite-store.js';
import { tmpStore } from './test-support/tmp-store.js';
import { storeError } from './test-support/assertions.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

test('users: create, get, list, setStatus; duplicates and unknown names are StoreErrors', async (t) => {
  const { store, clock } = await tmpStore(t);
  const alice = await store.users.create('alice');
  assert.deepEqual(alice, {
    name: 'alice',
    status: 'active',
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:00:00.000Z',
    totpConfirmed: false,
  });
  await store.users.create('bob');
  assert.deepEqual(await store.users.get('alice'), alice);
  assert.equal(await store.users.get('carol'), undefined);
  assert.deepEqual(
    (await store.users.list()).map((u) => u.name),
    ['alice', 'bob'],
  );

  await assert.rejects(store.users.create('alice'), storeError('exists', /user alice already exists/));
  await assert.rejects(store.users.create(''), storeError('invalid'));

  clock.advance(1000);
  const disabled = await store.users.setStatus('alice', 'disabled');
  assert.equal(disabled.status, 'disabled');
  assert.equal(disabled.updatedAt, '2030-01-01T00:00:01.000Z');
  assert.equal(disabled.createdAt, alice.createdAt);
  await assert.rejects(store.users.setStatus('carol', 'active'), storeError('not_found', /no user carol/));
  await assert.rejects(store.users.setStatus('alice', 'gone' as 'active'), storeError('invalid'));
});

test('users: TOTP secret is stored confirmed; optional fields are absent, not null', async (t) => {
  const { store } = await tmpStore(t);
  await store.users.create('alice');
  assert.equal(await store.users.getTotp('alice'), undefined);
  await store.users.setTotp('alice', SECRET);
  assert.deepEqual(await store.users.getTotp('alice'), {
    secretBase32: SECRET,
    confirmedAt: '2030-01-01T00:00:00.000Z',
    lastUsedStep: 0,
  });
  assert.equal((await store.users.get('alice'))!.totpConfirmed, true);
  await assert.rejects(store.users.setTotp('bob', SECRET), storeError('not_found'));
  await assert.rejects(store.users.setTotp('alice', 'not base32!'), storeError('invalid'));
});

test('users: useTotpStep accepts each later step once; a replay or an older step is refused', async (t) => {
  const { store } = await tmpStore(t);
  await store.users.create('alice');
  assert.equal(await store.users.useTotpStep('alice', 100), false, 'no TOTP secret yet');
  await store.users.setTotp('alice', SECRET);

  assert.equal(await store.users.useTotpStep('alice', 100), true);
  assert.equal(await store.users.useTotpStep('alice', 100), false, 'replay');
  assert.equal(await store.users.useTotpStep('alice', 99), false, 'older step');
  assert.equal(await store.users.useTotpStep('alice', 101), true);
  assert.equal((await store.users.getTotp('alice'))!.lastUsedStep, 101);
  assert.equal(await store.users.useTotpStep('nobody', 500), false);

  // A new secret starts a new history.
  await store.users.setTotp('alice', SECRET);
  assert.equal((await store.users.getTotp('alice'))!.lastUsedStep, 0);
  assert.equal(await store.users.useTotpStep('alice', 50), true);
});

test('users: concurrent uses of the same step accept exactly one', async (t) => {
  const { store, path } = await tmpStore(t);
  const other = openSqliteStore(path);
  t.after(() => other.close());
  await store.users.create('alice');
  await store.users.setTotp('alice', SECRET);
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).users.useTotpStep('alice', 777)),
  );
  assert.equal(results.filter(Boolean).length, 1);
});

test('devices: create, get, list by user, touchLogin, revoke, revokeAllOf', async (t) => {
  const { store, clock } = await tmpStore(t);
  await store.users.create('alice');
  await store.users.create('bob');
  const key = {
    publicKeyPem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n',
    fingerprint: 'SHA256:abc',
  };
  const laptop = await store.devices.create({ user: 'alice', name: 'laptop', ...key });
  assert.match(laptop.id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(laptop, {
    id: laptop.id,
    user: 'alice',
    name: 'laptop',
    ...key,
    createdAt: '2030-01-01T00:00:00.000Z',
  });
  assert.ok(!('lastLoginAt' in laptop) && !('revokedAt' in laptop));
  const desktop = await store.devices.create({ user: 'alice', name: 'desktop', ...key });
  const bobs = await store.devices.create({ user: 'bob', name: 'phone', ...key });
  await assert.rejects(
    store.devices.create({ user: 'carol', name: 'x', ...key }),
    storeError('not_found', /no user carol/),
  );

  assert.deepEqual(await store.devices.get(laptop.id), laptop);
  assert.equal(await store.devices.get('nope'), undefined);
  assert.deepEqual(
    (await store.devices.list({ user: 'alice' })).map((d) => d.name),
    ['laptop', 'desktop'],
  );
  assert.equal((await store.devices.list()).length, 3);

  clock.advance(5000);
  await store.devices.touchLogin(laptop.id);
  assert.equal((await store.devices.get(laptop.id))!.lastLoginAt, '2030-01-01T00:00:05.000Z');
  await assert.rejects(store.devices.touchLogin('nope'), storeError('not_found'));

  assert.equal(await store.devices.revoke(laptop.id), true);
  assert.equal(await store.devices.revoke(laptop.id), false, 'already revoked');
  assert.equal(await store.devices.revoke('nope'), false);
  assert.equal((await store.devices.get(laptop.id))!.revokedAt, '2030-01-01T00:00:05.000Z');

  assert.equal(await store.devices.revokeAllOf('alice'), 1, 'only the desktop was still active');
  assert.ok((await store.devices.get(desktop.id))!.revokedAt);
  assert.equal((await store.devices.get(bobs.id))!.revokedAt, undefined);
  assert.equal(await store.devices.revokeAllOf('alice'), 0);
});
