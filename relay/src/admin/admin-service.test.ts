import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { hashSecret, parseOneTimeCode } from '@airlock/shared';
import { authenticateAgent } from '../identity/agent-auth.js';
import { TEST_PIN, TEST_RELAY_URL, addDevice, adminFixture } from './test-support.js';

const CLI = 'cli:alice-admin';

test('createUser returns a one-time code carrying the pin; only its hash is stored; audited', async (t) => {
  const { service, store, entries } = await adminFixture(t);
  const r = await service.createUser(CLI, 'bob');
  assert.ok(r.ok);
  const { user, enrollment } = r.value;
  assert.equal(user.name, 'bob');
  assert.equal(user.status, 'active');
  assert.equal(user.devices, 0);
  const parsed = parseOneTimeCode(enrollment.code, 'user');
  assert.ok(parsed.ok);
  assert.equal(parsed.value.pin, TEST_PIN);
  assert.equal(enrollment.command, `airlock enroll ${TEST_RELAY_URL} ${enrollment.code}`);
  assert.equal(enrollment.expiresAt, '2030-01-02T00:00:00.000Z', '24 h by default');
  const codes = await store.codes.list({ kind: 'user-enrollment', subject: 'bob' });
  assert.equal(codes.length, 1);
  assert.equal(codes[0]!.secretSha256, hashSecret(parsed.value.secret));
  const all = JSON.stringify(await entries());
  assert.ok(!all.includes(parsed.value.secret), 'the secret is not in the audit log');
  const last = (await entries()).at(-1)!;
  assert.equal(last.type, 'admin.user.create');
  assert.equal(last.actor, CLI);
  assert.equal(last.outcome, 'success');
  assert.equal(last.data.user, 'bob');
});

test('typed failures: duplicate user → exists, bad name → invalid naming the field, unknown → not_found', async (t) => {
  const { service, entries } = await adminFixture(t);
  assert.ok((await service.createUser(CLI, 'bob')).ok);
  const dup = await service.createUser(CLI, 'bob');
  assert.ok(!dup.ok);
  assert.equal(dup.error.code, 'exists');
  assert.match(dup.error.message, /bob/);
  const bad = await service.createUser(CLI, 'Bob Smith');
  assert.ok(!bad.ok);
  assert.equal(bad.error.code, 'invalid');
  assert.match(bad.error.message, /^name: /);
  const missing = await service.disableUser(CLI, 'nobody');
  assert.ok(!missing.ok);
  assert.equal(missing.error.code, 'not_found');
  const failures = (await entries()).filter((e) => e.outcome === 'failure');
  assert.deepEqual(
    failures.map((e) => [e.type, typeof e.data.reason]),
    [
      ['admin.user.create', 'string'],
      ['admin.user.create', 'string'],
      ['admin.user.disable', 'string'],
    ],
  );
});

test('listUsers counts active devices; disable/enable; enrollment code refused while disabled', async (t) => {
  const { service, store } = await adminFixture(t);
  await service.createUser(CLI, 'bob');
  await addDevice(store, 'bob', 'laptop');
  const d2 = await addDevice(store, 'bob', 'desktop');
  await store.devices.revoke(d2.id);
  assert.deepEqual(
    (await service.listUsers()).map((u) => [u.name, u.devices]),
    [['bob', 1]],
  );
  const dis = await service.disableUser(CLI, 'bob');
  assert.ok(dis.ok);
  assert.equal(dis.value.user.status, 'disabled');
  const code = await service.newEnrollmentCode(CLI, 'bob');
  assert.ok(!code.ok);
  assert.equal(code.error.code, 'invalid');
  assert.ok((await service.enableUser(CLI, 'bob')).ok);
  const again = await service.newEnrollmentCode(CLI, 'bob');
  assert.ok(again.ok);
  assert.equal((await store.codes.list({ subject: 'bob' })).length, 2);
});

test('revokeUser disables, revokes all devices, voids unused codes and counts live sessions', async (t) => {
  const { service, store, clock } = await adminFixture(t);
  const created = await service.createUser(CLI, 'bob');
  assert.ok(created.ok);
  const dev = await addDevice(store, 'bob');
  await service.createVm(CLI, 'vm1', [22]);
  const sid = randomUUID();
  await store.sessions.create({ id: sid, user: 'bob', device: dev.id, vm: 'vm1', ports: [22] });
  const other = randomUUID();
  await service.createUser(CLI, 'carol');
  const carolDev = await addDevice(store, 'carol');
  await store.sessions.create({ id: other, user: 'carol', device: carolDev.id, vm: 'vm1', ports: [22] });

  const r = await service.revokeUser(CLI, 'bob');
  assert.ok(r.ok);
  assert.deepEqual(
    { ...r.value, user: r.value.user.status },
    { user: 'disabled', devicesRevoked: 1, codesVoided: 1, liveSessions: 1 },
  );
  assert.ok((await store.devices.get(dev.id))!.revokedAt);
  // The relay's session guard closes it (naming the cause), so no admin kill is requested.
  assert.equal((await store.sessions.get(sid))!.killRequestedAt, undefined);
  // The voided code no longer enrolls.
  const secret = parseOneTimeCode(created.value.enrollment.code, 'user');
  assert.ok(secret.ok);
  const consumed = await store.codes.consume('user-enrollment', hashSecret(secret.value.secret), clock.now());
  assert.ok(!consumed.ok);
});

test('revokeDevice: not_found for unknown, idempotent, counts only that device’s sessions', async (t) => {
  const { service, store } = await adminFixture(t);
  await service.createUser(CLI, 'bob');
  await service.createVm(CLI, 'vm1', [22]);
  const a = await addDevice(store, 'bob', 'a');
  const b = await addDevice(store, 'bob', 'b');
  const sa = randomUUID();
  const sb = randomUUID();
  await store.sessions.create({ id: sa, user: 'bob', device: a.id, vm: 'vm1', ports: [22] });
  await store.sessions.create({ id: sb, user: 'bob', device: b.id, vm: 'vm1', ports: [22] });
  const unknown = await service.revokeDevice(CLI, randomUUID());
  assert.ok(!unknown.ok);
  assert.equal(unknown.error.code, 'not_found');
  const r = await service.revokeDevice(CLI, a.id);
  assert.ok(r.ok);
  assert.equal(r.value.changed, true);
  assert.equal(r.value.liveSessions, 1);
  assert.ok(r.value.device.revokedAt);
  const twice = await service.revokeDevice(CLI, a.id);
  assert.ok(twice.ok);
  assert.equal(twice.value.changed, false);
  assert.deepEqual(
    (await service.listDevices('bob')).map((d) => [d.name, !!d.revokedAt]),
    [
      ['a', true],
      ['b', false],
    ].sort(),
  );
});

test('createVm → agent token → exchangeAgentToken gives a working credential; reuse and expiry refused', async (t) => {
  const { service, store, clock, entries } = await adminFixture(t);
  const r = await service.createVm(CLI, 'vm1', [8888, 22, 22]);
  assert.ok(r.ok);
  assert.deepEqual(r.value.vm.ports, [22, 8888], 'sorted, deduplicated');
  const token = parseOneTimeCode(r.value.agentEnrollment.token, 'agent');
  assert.ok(token.ok);
  assert.equal(token.value.pin, TEST_PIN);
  assert.equal(
    r.value.agentEnrollment.command,
    `airlock-agent enroll ${TEST_RELAY_URL} ${r.value.agentEnrollment.token}`,
  );

  const exchanged = await service.exchangeAgentToken(token.value.secret, '10.0.0.5');
  assert.ok(exchanged.ok);
  assert.equal(exchanged.vm, 'vm1');
  assert.match(exchanged.credential, /^vm1\.[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(await authenticateAgent(store.agentCredentials, exchanged.credential), {
    vm: 'vm1',
    credentialId: exchanged.credentialId,
  });
  assert.equal(await authenticateAgent(store.agentCredentials, 'vm1.' + 'x'.repeat(43)), undefined);

  const reused = await service.exchangeAgentToken(token.value.secret, '10.0.0.5');
  assert.deepEqual([reused.ok, !reused.ok && reused.reason], [false, 'used']);
  const unknown = await service.exchangeAgentToken('y'.repeat(43));
  assert.deepEqual([unknown.ok, !unknown.ok && unknown.reason], [false, 'unknown']);

  const fresh = await service.newAgentToken(CLI, 'vm1');
  assert.ok(fresh.ok);
  const freshSecret = parseOneTimeCode(fresh.value.agentEnrollment.token, 'agent');
  assert.ok(freshSecret.ok);
  clock.advance(24 * 3600 * 1000 + 1);
  const expired = await service.exchangeAgentToken(freshSecret.value.secret);
  assert.deepEqual([expired.ok, !expired.ok && expired.reason], [false, 'expired']);

  const enrolls = (await entries()).filter((e) => e.type === 'agent.enroll');
  assert.deepEqual(
    enrolls.map((e) => [e.outcome, e.actor, e.data.reason]),
    [
      ['success', 'agent:vm1', undefined],
      ['failure', 'agent:unknown', 'used'],
      ['failure', 'agent:unknown', 'unknown'],
      ['failure', 'agent:unknown', 'expired'],
    ],
  );
  assert.equal(enrolls[0]!.source, '10.0.0.5');
  assert.ok(!JSON.stringify(await entries()).includes(exchanged.credential.split('.')[1]!));
});

test('agent credentials: list, revoke (then refused), listVms counts active ones', async (t) => {
  const { service, store } = await adminFixture(t);
  const vm = await service.createVm(CLI, 'vm1', [22]);
  assert.ok(vm.ok);
  const secret = parseOneTimeCode(vm.value.agentEnrollment.token, 'agent');
  assert.ok(secret.ok);
  const ex = await service.exchangeAgentToken(secret.value.secret);
  assert.ok(ex.ok);
  assert.deepEqual(
    (await service.listVms()).map((v) => [v.id, v.activeCredentials]),
    [['vm1', 1]],
  );
  const creds = await service.listAgentCredentials('vm1');
  assert.ok(creds.ok);
  assert.deepEqual(Object.keys(creds.value[0]!).sort(), ['createdAt', 'id', 'vm'], 'no secret hash');
  // A second token made before the revocation: it must not let anyone enroll again afterwards.
  const spare = await service.newAgentToken(CLI, 'vm1');
  assert.ok(spare.ok);
  const rev = await service.revokeAgentCredential(CLI, ex.credentialId);
  assert.ok(rev.ok);
  assert.equal(rev.value.tokensVoided, 1);
  assert.equal(await authenticateAgent(store.agentCredentials, ex.credential), undefined);
  const spareSecret = parseOneTimeCode(spare.value.agentEnrollment.token, 'agent');
  assert.ok(spareSecret.ok);
  const again = await service.exchangeAgentToken(spareSecret.value.secret);
  assert.equal(again.ok, false, 'the spare token was voided');
  assert.equal((await service.listVms())[0]!.activeCredentials, 0);
  const missing = await service.listAgentCredentials('nope');
  assert.deepEqual(!missing.ok && missing.error.code, 'not_found');
  const dupVm = await service.createVm(CLI, 'vm1', [22]);
  assert.deepEqual(!dupVm.ok && dupVm.error.code, 'exists');
  const badPorts = await service.createVm(CLI, 'vm2', [0]);
  assert.ok(!badPorts.ok);
  assert.match(badPorts.error.message, /^ports\.0: /);
});

test('grants: ports must be a subset of the VM’s, expiry in the future; list and delete', async (t) => {
  const { service, clock } = await adminFixture(t);
  await service.createUser(CLI, 'bob');
  await service.createVm(CLI, 'vm1', [22, 8888]);
  const wide = await service.putGrant(CLI, { user: 'bob', vm: 'vm1', ports: [22, 80, 443] });
  assert.ok(!wide.ok);
  assert.equal(wide.error.code, 'invalid');
  assert.match(wide.error.message, /80, 443 not allowed on VM "vm1" \(it allows 22, 8888\)/);
  const past = await service.putGrant(CLI, { user: 'bob', vm: 'vm1', expiresAt: '2029-01-01T00:00:00Z' });
  assert.deepEqual(!past.ok && past.error.code, 'invalid');
  const noUser = await service.putGrant(CLI, { user: 'zed', vm: 'vm1' });
  assert.deepEqual(!noUser.ok && noUser.error.message, 'no user "zed"');
  const ok = await service.putGrant(CLI, { user: 'bob', vm: 'vm1', ports: [22], expiresAt: '2030-01-01T08:00:00Z' });
  assert.ok(ok.ok);
  assert.deepEqual(ok.value.grant.ports, [22]);
  assert.equal(ok.value.grant.expiresAt, '2030-01-01T08:00:00.000Z');
  assert.equal((await service.listGrants({ user: 'bob' }))[0]!.active, true);
  clock.advance(9 * 3600 * 1000);
  assert.equal((await service.listGrants())[0]!.active, false);
  assert.ok((await service.deleteGrant(CLI, 'bob', 'vm1')).ok);
  const gone = await service.deleteGrant(CLI, 'bob', 'vm1');
  assert.deepEqual(!gone.ok && gone.error.code, 'not_found');
});

test('sessions: list live, kill (recorded on the session), kill of ended → conflict, unknown → not_found', async (t) => {
  const { service, store, entries } = await adminFixture(t);
  await service.createUser(CLI, 'bob');
  await service.createVm(CLI, 'vm1', [22]);
  const dev = await addDevice(store, 'bob');
  const live = randomUUID();
  const ended = randomUUID();
  await store.sessions.create({ id: live, user: 'bob', device: dev.id, vm: 'vm1', ports: [22] });
  await store.sessions.create({ id: ended, user: 'bob', device: dev.id, vm: 'vm1', ports: [22] });
  await store.sessions.markEnded(ended, { reason: 'closed', bytesFromClient: 1, bytesFromAgent: 2 });
  assert.deepEqual(
    (await service.listSessions({ live: true })).map((s) => s.id),
    [live],
  );
  assert.equal((await service.listSessions()).length, 2);
  const k = await service.killSession(CLI, live);
  assert.ok(k.ok);
  assert.equal(k.value.session.killRequestedBy, CLI);
  const e = await service.killSession(CLI, ended);
  assert.deepEqual(!e.ok && e.error.code, 'conflict');
  const u = await service.killSession(CLI, randomUUID());
  assert.deepEqual(!u.ok && u.error.code, 'not_found');
  const kill = (await entries()).find((x) => x.type === 'admin.session.kill');
  assert.equal(kill?.sid, live);
});

test('API clients: secret shown once and stored hashed; authenticate, scope subset, revoke', async (t) => {
  const { service, store, entries } = await adminFixture(t);
  const c = await service.createClient(CLI, 'ci', ['users.read', 'vms.read']);
  assert.ok(c.ok);
  const { client, clientSecret } = c.value;
  assert.match(client.clientId, /^ac_[A-Za-z0-9_-]{22}$/);
  const stored = await store.apiClients.get(client.clientId);
  assert.ok(stored && stored.secretSha256 !== clientSecret && !JSON.stringify(stored).includes(clientSecret));
  assert.ok(!JSON.stringify(await service.listClients()).includes('secretSha256'));

  const good = await service.authenticateClient(client.clientId, clientSecret, undefined);
  assert.deepEqual(good.ok && good.value.scopes, ['users.read', 'vms.read']);
  const narrow = await service.authenticateClient(client.clientId, clientSecret, 'vms.read');
  assert.deepEqual(narrow.ok && narrow.value.scopes, ['vms.read']);
  const wide = await service.authenticateClient(client.clientId, clientSecret, 'vms.read users.write');
  assert.ok(!wide.ok);
  assert.equal(wide.error.code, 'invalid_scope');
  assert.match(wide.error.message, /users\.write/);
  // The last character changed (to one it was not: a fixed 'A' was the same secret 1 time in 64).
  const wrongSecret = clientSecret.slice(0, -1) + (clientSecret.endsWith('A') ? 'B' : 'A');
  const wrong = await service.authenticateClient(client.clientId, wrongSecret, undefined);
  assert.deepEqual(!wrong.ok && wrong.error.code, 'invalid_client');
  const unknown = await service.authenticateClient('ac_' + 'x'.repeat(22), clientSecret, undefined);
  assert.deepEqual(!unknown.ok && unknown.error.code, 'invalid_client');

  assert.ok((await service.revokeClient(CLI, client.clientId)).ok);
  const revoked = await service.authenticateClient(client.clientId, clientSecret, undefined);
  assert.deepEqual(!revoked.ok && revoked.error.code, 'invalid_client');
  const badScope = await service.createClient(CLI, 'x', ['root']);
  assert.ok(!badScope.ok);
  assert.match(badScope.error.message, /^scopes\.0: /);

  const tokenEvents = (await entries()).filter((e) => e.type === 'admin.token.issue');
  assert.deepEqual(
    tokenEvents.map((e) => [e.outcome, e.data.reason ?? null]),
    [
      ['success', null],
      ['success', null],
      ['failure', 'scope not granted: users.write'],
      ['failure', 'wrong secret'],
      ['failure', 'unknown client'],
      ['failure', 'client revoked'],
    ],
  );
  assert.ok(!JSON.stringify(await entries()).includes(clientSecret));
});

test('unlockUser lifts a login lockout, shows in listUsers while it lasts, and is audited', async (t) => {
  const { service, store, clock, entries } = await adminFixture(t);
  assert.ok((await service.createUser(CLI, 'bob')).ok);
  const policy = { maxFailures: 2, windowMs: 60_000, lockoutMs: 900_000 };
  await store.loginLockouts.recordFailure('bob', clock.now(), policy);
  const { lockedUntil } = await store.loginLockouts.recordFailure('bob', clock.now(), policy);
  assert.ok(lockedUntil);
  assert.equal((await service.listUsers())[0]!.lockedUntil, lockedUntil.toISOString());
  const got = await service.getUser('bob');
  assert.ok(got.ok);
  assert.equal(got.value.lockedUntil, lockedUntil.toISOString());

  const r = await service.unlockUser(CLI, 'bob');
  assert.ok(r.ok);
  assert.equal(r.value.wasLocked, true);
  assert.equal(await store.loginLockouts.lockedUntil('bob', clock.now()), undefined);
  assert.ok(!('lockedUntil' in (await service.listUsers())[0]!));
  const again = await service.unlockUser(CLI, 'bob');
  assert.ok(again.ok);
  assert.equal(again.value.wasLocked, false, 'unlocking twice is not an error');
  const missing = await service.unlockUser(CLI, 'nobody');
  assert.ok(!missing.ok);
  assert.equal(missing.error.code, 'not_found');

  const unlocks = (await entries()).filter((e) => e.type === 'admin.user.unlock');
  assert.deepEqual(
    unlocks.map((e) => [e.actor, e.outcome, e.data.user, e.data.wasLocked]),
    [
      [CLI, 'success', 'bob', true],
      [CLI, 'success', 'bob', false],
      [CLI, 'failure', 'nobody', undefined],
    ],
  );
});
