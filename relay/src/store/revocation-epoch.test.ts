import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeSha } from './test-support/assertions.js';
import { openSqliteStore } from './sqlite-store.js';
import { tmpStore } from './test-support/tmp-store.js';

test('revocation epoch: every change that can take access away moves it, seen from another connection', async (t) => {
  const { store: admin, path } = await tmpStore(t);
  // The relay's own connection; the admin CLI is another process on the same file.
  const relay = openSqliteStore(path);
  t.after(() => relay.close());

  await admin.users.create('alice');
  const device = await admin.devices.create({
    user: 'alice',
    name: 'laptop',
    publicKeyPem: 'pem',
    fingerprint: 'SHA256:a',
  });
  const other = await admin.devices.create({
    user: 'alice',
    name: 'phone',
    publicKeyPem: 'pem2',
    fingerprint: 'SHA256:b',
  });
  await admin.vms.create({ id: 'vm1', ports: [22, 8888] });
  const cred = await admin.agentCredentials.create('vm1', fakeSha(1));
  await admin.grants.put({ user: 'alice', vm: 'vm1' });
  await admin.sessions.create({ id: 's1', user: 'alice', device: device.id, vm: 'vm1', ports: [22] });

  const changes: Array<[string, () => Promise<unknown>]> = [
    ['user disabled', () => admin.users.setStatus('alice', 'disabled')],
    ['user enabled', () => admin.users.setStatus('alice', 'active')],
    ['device revoked', () => admin.devices.revoke(device.id)],
    ["all of a user's devices revoked", () => admin.devices.revokeAllOf('alice')],
    ['grant narrowed', () => admin.grants.put({ user: 'alice', vm: 'vm1', ports: [8888] })],
    [
      'grant given an expiry',
      () => admin.grants.put({ user: 'alice', vm: 'vm1', expiresAt: '2031-01-01T00:00:00.000Z' }),
    ],
    ['grant removed', () => admin.grants.delete('alice', 'vm1')],
    ["VM's ports changed", () => admin.vms.setPorts('vm1', [22])],
    ['agent credential revoked', () => admin.agentCredentials.revoke(cred.id)],
    ['session kill requested', () => admin.sessions.requestKill('s1', 'cli:root')],
  ];
  for (const [what, change] of changes) {
    const before = await relay.revocations.epoch();
    await change();
    assert.ok((await relay.revocations.epoch()) > before, `${what} moves the epoch`);
  }
  assert.ok((await relay.devices.get(other.id))?.revokedAt, 'revokeAllOf had a second device to revoke');
});

test('revocation epoch: logins, new grants and session bookkeeping leave it alone', async (t) => {
  const { store } = await tmpStore(t);
  await store.users.create('bob');
  const device = await store.devices.create({
    user: 'bob',
    name: 'laptop',
    publicKeyPem: 'pem',
    fingerprint: 'SHA256:c',
  });
  await store.vms.create({ id: 'vm2', ports: [22] });
  const start = await store.revocations.epoch();

  await store.users.setTotp('bob', 'JBSWY3DPEHPK3PXP');
  await store.users.useTotpStep('bob', 1000);
  await store.devices.touchLogin(device.id);
  await store.grants.put({ user: 'bob', vm: 'vm2' }); // a new grant takes nothing away
  await store.sessions.create({ id: 's2', user: 'bob', device: device.id, vm: 'vm2', ports: [22] });
  await store.sessions.markOpened('s2');
  await store.sessions.markEnded('s2', { reason: 'done', bytesFromClient: 1, bytesFromAgent: 2 });
  await store.users.setStatus('bob', 'active'); // already active: nothing changed
  await store.audit.append({ type: 'login.success', actor: 'user:bob', outcome: 'success', data: {} });

  assert.equal(await store.revocations.epoch(), start);
});
