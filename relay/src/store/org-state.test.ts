import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeSha } from './test-support/assertions.js';
import { tmpStore } from './test-support/tmp-store.js';

const CHAIN = ['aaa.bbb.ccc', 'ddd.eee.fff'];

test('org state: the anchor is kept as given; a revocation list only ever moves to a higher seq', async (t) => {
  const { store } = await tmpStore(t);
  assert.deepEqual(await store.org.get(), {});
  await store.org.setAnchor('{"v":1}\n');
  assert.equal((await store.org.get()).anchor?.text, '{"v":1}\n');
  assert.equal(await store.org.setCrl(['one.two.three'], 2), true);
  assert.equal(await store.org.setCrl(['older.list.x'], 1), false);
  assert.equal(await store.org.setCrl(['same.seq.x'], 2), false);
  assert.deepEqual((await store.org.get()).crl?.chain, ['one.two.three']);
  assert.equal(await store.org.setCrl(CHAIN, 3), true);
  assert.equal((await store.org.get()).crl?.seq, 3);
});

test('org chains travel with a code, its pending enrollment and the device it becomes', async (t) => {
  const { store } = await tmpStore(t);
  await store.users.create('alice');
  await store.codes.create({
    kind: 'user-enrollment',
    subject: 'alice',
    secretSha256: fakeSha(7),
    expiresAt: '2030-01-02T00:00:00.000Z',
    orgChain: CHAIN,
  });
  const consumed = await store.codes.consume('user-enrollment', fakeSha(7), new Date('2030-01-01T00:00:00.000Z'));
  assert.ok(consumed.ok);
  assert.deepEqual(consumed.code.orgChain, CHAIN);
  const pending = await store.pendingEnrollments.create({
    user: 'alice',
    deviceName: 'laptop',
    publicKeyPem: 'PEM',
    expiresAt: '2030-01-02T00:00:00.000Z',
    orgChain: CHAIN,
  });
  assert.deepEqual((await store.pendingEnrollments.get(pending.id))?.orgChain, CHAIN);
  const device = await store.devices.create({
    user: 'alice',
    name: 'laptop',
    publicKeyPem: 'PEM',
    fingerprint: 'SHA256:x',
    orgChain: [...CHAIN, 'g.h.i'],
  });
  assert.deepEqual((await store.devices.get(device.id))?.orgChain, [...CHAIN, 'g.h.i']);
  const legacy = await store.devices.create({
    user: 'alice',
    name: 'old',
    publicKeyPem: 'PEM',
    fingerprint: 'SHA256:y',
  });
  assert.equal((await store.devices.get(legacy.id))?.orgChain, undefined);
});
