import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeSha, storeError } from './test-support/assertions.js';
import { tmpStore } from './test-support/tmp-store.js';

test('api clients: create, get, list, revoke; duplicates refused', async (t) => {
  const { store } = await tmpStore(t);
  const c = await store.apiClients.create({
    clientId: 'ci',
    name: 'CI pipeline',
    secretSha256: fakeSha(1),
    scopes: ['users.read', 'vms.write'],
  });
  assert.deepEqual(c, {
    clientId: 'ci',
    name: 'CI pipeline',
    secretSha256: fakeSha(1),
    scopes: ['users.read', 'vms.write'],
    createdAt: '2030-01-01T00:00:00.000Z',
  });
  await store.apiClients.create({ clientId: 'backup', name: '', secretSha256: fakeSha(2), scopes: [] });
  await assert.rejects(
    store.apiClients.create({ clientId: 'ci', name: 'x', secretSha256: fakeSha(3), scopes: [] }),
    storeError('exists', /API client ci already exists/),
  );
  assert.deepEqual(await store.apiClients.get('ci'), c);
  assert.equal(await store.apiClients.get('nope'), undefined);
  assert.deepEqual(
    (await store.apiClients.list()).map((x) => x.clientId),
    ['backup', 'ci'],
  );
  assert.equal(await store.apiClients.revoke('ci'), true);
  assert.equal(await store.apiClients.revoke('ci'), false);
  assert.equal(await store.apiClients.revoke('nope'), false);
  assert.equal((await store.apiClients.get('ci'))!.revokedAt, '2030-01-01T00:00:00.000Z');
});

const session = (id: string, user = 'alice', vm = 'vm1') => ({ id, user, device: 'dev-1', vm, ports: [22, 8888] });

test('sessions: create, get, markOpened, markEnded; the first end wins', async (t) => {
  const { store, clock } = await tmpStore(t);
  const s = await store.sessions.create(session('s1'));
  assert.deepEqual(s, {
    ...session('s1'),
    createdAt: '2030-01-01T00:00:00.000Z',
    bytesFromClient: 0,
    bytesFromAgent: 0,
  });
  assert.deepEqual(await store.sessions.get('s1'), s);
  assert.equal(await store.sessions.get('nope'), undefined);
  await assert.rejects(store.sessions.create(session('s1')), storeError('exists'));

  clock.advance(1000);
  await store.sessions.markOpened('s1');
  clock.advance(1000);
  await store.sessions.markOpened('s1');
  assert.equal((await store.sessions.get('s1'))!.openedAt, '2030-01-01T00:00:01.000Z');
  await assert.rejects(store.sessions.markOpened('nope'), storeError('not_found'));

  clock.advance(1000);
  await store.sessions.markEnded('s1', { reason: 'client closed', bytesFromClient: 1234, bytesFromAgent: 5678 });
  await store.sessions.markEnded('s1', { reason: 'relay restart', bytesFromClient: 0, bytesFromAgent: 0 });
  assert.deepEqual(await store.sessions.get('s1'), {
    ...s,
    openedAt: '2030-01-01T00:00:01.000Z',
    endedAt: '2030-01-01T00:00:03.000Z',
    endReason: 'client closed',
    bytesFromClient: 1234,
    bytesFromAgent: 5678,
  });
  await assert.rejects(
    store.sessions.markEnded('nope', { reason: 'x', bytesFromClient: 0, bytesFromAgent: 0 }),
    storeError('not_found'),
  );
});

test('sessions: listLive newest first, list filters and limit, requestKill, endAllLive', async (t) => {
  const { store, clock } = await tmpStore(t);
  await store.sessions.create(session('s1'));
  clock.advance(10);
  await store.sessions.create(session('s2', 'bob'));
  clock.advance(10);
  await store.sessions.create(session('s3', 'alice', 'vm2'));
  // Same millisecond: creation order still decides.
  await store.sessions.create(session('s4'));
  await store.sessions.markEnded('s2', { reason: 'done', bytesFromClient: 1, bytesFromAgent: 2 });

  assert.deepEqual(
    (await store.sessions.listLive()).map((s) => s.id),
    ['s4', 's3', 's1'],
  );
  assert.deepEqual(
    (await store.sessions.list()).map((s) => s.id),
    ['s4', 's3', 's2', 's1'],
  );
  assert.deepEqual(
    (await store.sessions.list({ user: 'alice', vm: 'vm1' })).map((s) => s.id),
    ['s4', 's1'],
  );
  assert.deepEqual(
    (await store.sessions.list({ limit: 2 })).map((s) => s.id),
    ['s4', 's3'],
  );
  await assert.rejects(store.sessions.list({ limit: 0 }), storeError('invalid'));

  clock.advance(10);
  assert.equal(await store.sessions.requestKill('s1', 'cli:root'), true);
  clock.advance(10);
  assert.equal(await store.sessions.requestKill('s1', 'client:ops'), true, 'still live: asking again is fine');
  const killed = (await store.sessions.get('s1'))!;
  assert.equal(killed.killRequestedAt, '2030-01-01T00:00:00.030Z');
  assert.equal(killed.killRequestedBy, 'cli:root', 'the first request is kept');
  assert.equal(await store.sessions.requestKill('s2', 'cli:root'), false, 'already ended');
  assert.equal(await store.sessions.requestKill('nope', 'cli:root'), false);
  assert.equal((await store.sessions.get('s2'))!.killRequestedAt, undefined);

  const ended = await store.sessions.endAllLive('relay restarted');
  assert.deepEqual(ended.map((s) => s.id).sort(), ['s1', 's3', 's4']);
  assert.ok(ended.every((s) => s.endReason === 'relay restarted' && s.endedAt === '2030-01-01T00:00:00.040Z'));
  assert.deepEqual(await store.sessions.listLive(), []);
  const s3 = (await store.sessions.get('s3'))!;
  assert.equal(s3.endReason, 'relay restarted');
  assert.equal(s3.endedAt, '2030-01-01T00:00:00.040Z');
  assert.equal((await store.sessions.get('s2'))!.endReason, 'done');
  assert.deepEqual(await store.sessions.endAllLive('again'), []);
});
