import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeSha, storeError } from './test-support/assertions.js';
import { openSqliteStore } from './sqlite-store.js';
import { tmpStore } from './test-support/tmp-store.js';
import { effectivePorts, grantActive } from './types.js';

test('vms: create, get, list, setPorts; duplicates, unknown ids and bad ports are StoreErrors', async (t) => {
  const { store, clock } = await tmpStore(t);
  const vm = await store.vms.create({ id: 'demo-vm', ports: [8888, 22] });
  assert.deepEqual(vm, {
    id: 'demo-vm',
    ports: [8888, 22],
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:00:00.000Z',
  });
  assert.deepEqual(await store.vms.get('demo-vm'), vm);
  assert.equal(await store.vms.get('nope'), undefined);
  await store.vms.create({ id: 'a-vm', ports: [] });
  assert.deepEqual(
    (await store.vms.list()).map((v) => v.id),
    ['a-vm', 'demo-vm'],
  );
  await assert.rejects(
    store.vms.create({ id: 'demo-vm', ports: [] }),
    storeError('exists', /VM demo-vm already exists/),
  );
  await assert.rejects(store.vms.create({ id: 'x', ports: [0] }), storeError('invalid', /ports/));
  await assert.rejects(store.vms.create({ id: 'x', ports: [70000] }), storeError('invalid'));
  await assert.rejects(store.vms.create({ id: 'x', ports: [1.5] }), storeError('invalid'));

  clock.advance(60_000);
  const updated = await store.vms.setPorts('demo-vm', [22]);
  assert.deepEqual(updated, { ...vm, ports: [22], updatedAt: '2030-01-01T00:01:00.000Z' });
  await assert.rejects(store.vms.setPorts('nope', [22]), storeError('not_found', /no VM nope/));
});

test('agent credentials: create for a known VM, list active, revoke one and all', async (t) => {
  const { store } = await tmpStore(t);
  await store.vms.create({ id: 'vm1', ports: [22] });
  await store.vms.create({ id: 'vm2', ports: [22] });
  const c1 = await store.agentCredentials.create('vm1', fakeSha(1));
  assert.deepEqual(c1, { id: c1.id, vm: 'vm1', secretSha256: fakeSha(1), createdAt: '2030-01-01T00:00:00.000Z' });
  const c2 = await store.agentCredentials.create('vm1', fakeSha(2));
  const c3 = await store.agentCredentials.create('vm2', fakeSha(3));
  await assert.rejects(store.agentCredentials.create('nope', fakeSha(4)), storeError('not_found', /no VM nope/));
  await assert.rejects(store.agentCredentials.create('vm1', 'plaintext-secret'), storeError('invalid'));
  await assert.rejects(store.agentCredentials.create('vm2', fakeSha(1)), storeError('exists'));

  assert.deepEqual(await store.agentCredentials.get(c1.id), c1);
  assert.equal(await store.agentCredentials.get('nope'), undefined);
  assert.deepEqual(
    (await store.agentCredentials.listActive('vm1')).map((c) => c.id),
    [c1.id, c2.id],
  );
  assert.equal(await store.agentCredentials.revoke(c1.id), true);
  assert.equal(await store.agentCredentials.revoke(c1.id), false);
  assert.deepEqual(
    (await store.agentCredentials.listActive('vm1')).map((c) => c.id),
    [c2.id],
  );
  assert.equal((await store.agentCredentials.list('vm1')).length, 2);
  assert.equal((await store.agentCredentials.list()).length, 3);
  assert.ok((await store.agentCredentials.get(c1.id))!.revokedAt);

  assert.equal(await store.agentCredentials.revokeAllOf('vm1'), 1);
  assert.deepEqual(await store.agentCredentials.listActive('vm1'), []);
  assert.deepEqual(
    (await store.agentCredentials.listActive('vm2')).map((c) => c.id),
    [c3.id],
  );
});

test('grants: put creates and replaces, expiry and ports persist, unknown user or VM refused', async (t) => {
  const { store, clock, path } = await tmpStore(t);
  await store.users.create('alice');
  await store.users.create('bob');
  await store.vms.create({ id: 'vm1', ports: [22, 8888] });
  await store.vms.create({ id: 'vm2', ports: [22] });

  const g = await store.grants.put({ user: 'alice', vm: 'vm1' });
  assert.deepEqual(g, { user: 'alice', vm: 'vm1', createdAt: '2030-01-01T00:00:00.000Z' });
  assert.ok(!('ports' in g) && !('expiresAt' in g));
  assert.deepEqual(await store.grants.get('alice', 'vm1'), g);

  clock.advance(1000);
  const replaced = await store.grants.put({
    user: 'alice',
    vm: 'vm1',
    ports: [8888],
    expiresAt: '2030-01-02T00:00:00Z',
  });
  assert.deepEqual(replaced, {
    user: 'alice',
    vm: 'vm1',
    ports: [8888],
    expiresAt: '2030-01-02T00:00:00.000Z',
    createdAt: '2030-01-01T00:00:01.000Z',
  });
  await store.grants.put({ user: 'alice', vm: 'vm2', ports: [] });
  await store.grants.put({ user: 'bob', vm: 'vm1' });

  // Reopened from the file: nothing lived only in memory.
  const again = openSqliteStore(path);
  t.after(() => again.close());
  const stored = (await again.grants.get('alice', 'vm1'))!;
  assert.deepEqual(stored, replaced);
  assert.equal(grantActive(stored, new Date('2030-01-01T12:00:00Z')), true);
  assert.equal(grantActive(stored, new Date('2030-01-02T00:00:00Z')), false);
  assert.deepEqual(effectivePorts((await again.vms.get('vm1'))!, stored), [8888]);
  assert.deepEqual((await again.grants.get('alice', 'vm2'))!.ports, []);

  assert.deepEqual(
    (await store.grants.list({ user: 'alice' })).map((x) => x.vm),
    ['vm1', 'vm2'],
  );
  assert.deepEqual(
    (await store.grants.list({ vm: 'vm1' })).map((x) => x.user),
    ['alice', 'bob'],
  );
  assert.equal((await store.grants.list({ user: 'bob', vm: 'vm2' })).length, 0);
  assert.equal((await store.grants.list()).length, 3);

  await assert.rejects(store.grants.put({ user: 'carol', vm: 'vm1' }), storeError('not_found', /no user carol/));
  await assert.rejects(store.grants.put({ user: 'alice', vm: 'nope' }), storeError('not_found', /no VM nope/));
  await assert.rejects(
    store.grants.put({ user: 'alice', vm: 'vm1', expiresAt: 'next tuesday' }),
    storeError('invalid', /expiresAt/),
  );

  assert.equal(await store.grants.delete('alice', 'vm2'), true);
  assert.equal(await store.grants.delete('alice', 'vm2'), false);
  assert.equal(await store.grants.get('alice', 'vm2'), undefined);
});
