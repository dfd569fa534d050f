import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import express from 'express';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import {
  AdminTokenIssuer,
  AdminTokenVerifier,
  generateRelaySigningKey,
  type AdminScope,
  type RelaySigningKey,
} from '@airlock/shared';
import { makeTestOrg } from '@airlock/shared/testing';
import { errorHandler, notFound } from '../control/http-error.js';
import { Helpdesk } from '../helpdesk/helpdesk.js';
import { RefusalAuditBudget } from '../audit/refusal-budget.js';
import { createAdminRouter } from './admin-routes.js';
import { addDevice, adminFixture, type AdminFixture } from './test-support.js';

/** Refused admin tokens audited one by one per source and minute (the relay's is `refusedUpgradesPerMinute`). */
const REFUSALS_AUDITED_PER_MINUTE = 5;

interface Api {
  fx: AdminFixture;
  key: RelaySigningKey;
  base: string;
  /** JSON call with an optional bearer token; the body is whatever JSON came back (tests probe its fields). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call(method: string, path: string, opts?: { token?: string; body?: unknown }): Promise<{ status: number; body: any }>;
  /** A client with these scopes and a token for it. */
  clientWith(scopes: AdminScope[]): Promise<{ clientId: string; clientSecret: string; token: string }>;
}

/** The admin router on a real express app on 127.0.0.1, mounted the way the relay mounts it. */
async function startApi(t: TestContext, now?: () => number): Promise<Api> {
  const fx = await adminFixture(t);
  const key = generateRelaySigningKey();
  const logger = pino({ level: 'silent' });
  const app = express();
  const api = express.Router();
  api.use(express.json({ limit: 16 * 1024 }));
  api.use(
    '/admin',
    createAdminRouter({
      service: fx.service,
      helpdesk: new Helpdesk({ store: fx.store, now: () => new Date(), relay: () => ({ running: true }) }),
      store: fx.store,
      audit: fx.audit,
      refusals: new RefusalAuditBudget(fx.audit, REFUSALS_AUDITED_PER_MINUTE, now),
      logger,
      issuer: new AdminTokenIssuer(key.privateKey, now),
      verifier: new AdminTokenVerifier(key.publicKey, now),
      heldSources: () => ({
        at: '2026-12-03T18:00:00.000Z',
        sources: [{ source: '203.0.113.7', limit: 'failed-attempts', retryAfterSeconds: 840 }],
        total: 1,
      }),
    }),
  );
  app.use('/api/v1', api);
  app.use(notFound);
  app.use(errorHandler(logger));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.closeIdleConnections();
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/admin`;

  const call: Api['call'] = async (method, path, opts = {}) => {
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const clientWith: Api['clientWith'] = async (scopes) => {
    const c = await fx.service.createClient('cli:test', `client-${scopes.join('-')}`, scopes);
    assert.ok(c.ok);
    const r = await call('POST', '/token', {
      body: {
        grant_type: 'client_credentials',
        client_id: c.value.client.clientId,
        client_secret: c.value.clientSecret,
      },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return { clientId: c.value.client.clientId, clientSecret: c.value.clientSecret, token: r.body.access_token };
  };
  return { fx, key, base, call, clientWith };
}

test('token endpoint: JSON and form+Basic; wrong secret 401 invalid_client; scope must be a subset', async (t) => {
  const api = await startApi(t);
  const c = await api.fx.service.createClient('cli:test', 'ci', ['users.read', 'vms.read']);
  assert.ok(c.ok);
  const { clientId } = c.value.client;
  const secret = c.value.clientSecret;

  const json = await api.call('POST', '/token', {
    body: { grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'vms.read' },
  });
  assert.equal(json.status, 200);
  assert.equal(json.body.token_type, 'Bearer');
  assert.equal(json.body.expires_in, 600);
  assert.equal(json.body.scope, 'vms.read');
  assert.match(json.body.access_token, /^ey/);

  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
  const form = await fetch(`${api.base}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  assert.equal(form.status, 200);
  assert.equal(form.headers.get('cache-control'), 'no-store');
  assert.equal(((await form.json()) as { scope: string }).scope, 'users.read vms.read');

  const wrong = await fetch(`${api.base}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:nope`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /);
  assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_client');

  const wide = await api.call('POST', '/token', {
    body: { grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'users.write' },
  });
  assert.equal(wide.status, 400);
  assert.equal(wide.body.error, 'invalid_scope');
  assert.match(wide.body.error_description, /users\.write/);

  const grant = await api.call('POST', '/token', { body: { grant_type: 'password', client_id: clientId } });
  assert.equal(grant.status, 400);
  assert.equal(grant.body.error, 'unsupported_grant_type');
  assert.match(grant.body.error_description, /^grant_type: /);
  const noCreds = await api.call('POST', '/token', { body: { grant_type: 'client_credentials' } });
  assert.equal(noCreds.status, 401);

  const events = (await api.fx.entries()).filter((e) => e.type === 'admin.token.issue');
  assert.deepEqual(
    events.map((e) => e.outcome),
    ['success', 'success', 'failure', 'failure', 'failure', 'failure'],
  );
  assert.equal(events[2]!.data.reason, 'wrong secret');
  assert.equal(events[2]!.source, '127.0.0.1');
});

test('a call outside the token’s scopes is 403 insufficient_scope naming the scope, and audited', async (t) => {
  const api = await startApi(t);
  const reader = await api.clientWith(['users.read']);
  assert.equal((await api.call('GET', '/users', { token: reader.token })).status, 200);
  const denied = await api.call('POST', '/users', { token: reader.token, body: { name: 'bob' } });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error.code, 'insufficient_scope');
  assert.match(denied.body.error.message, /"users\.write"/);
  const clients = await api.call('GET', '/clients', { token: reader.token });
  assert.equal(clients.status, 403);
  assert.match(clients.body.error.message, /"admin"/);
  assert.equal(await api.fx.store.users.get('bob'), undefined, 'nothing was created');
  const deniedEvents = (await api.fx.entries()).filter((e) => e.type === 'admin.denied');
  assert.deepEqual(
    deniedEvents.map((e) => [e.actor, e.data.reason, e.data.needed, e.data.path]),
    [
      [`client:${reader.clientId}`, 'insufficient_scope', 'users.write', '/api/v1/admin/users'],
      [`client:${reader.clientId}`, 'insufficient_scope', 'admin', '/api/v1/admin/clients'],
    ],
  );
  // `admin` implies every scope.
  const root = await api.clientWith(['admin']);
  assert.equal((await api.call('POST', '/users', { token: root.token, body: { name: 'bob' } })).status, 201);
});

test('vms.write does not grant access: grants need grants.write (and grants.read to list them)', async (t) => {
  const api = await startApi(t);
  assert.ok((await api.fx.service.createUser('cli:test', 'bob')).ok);
  const vms = await api.clientWith(['vms.read', 'vms.write']);
  assert.equal((await api.call('POST', '/vms', { token: vms.token, body: { id: 'lab-vm', ports: [22] } })).status, 201);
  const grant = { user: 'bob', vm: 'lab-vm' };
  for (const [method, path, body, needed] of [
    ['PUT', '/grants', grant, 'grants.write'],
    ['DELETE', '/grants?user=bob&vm=lab-vm', undefined, 'grants.write'],
    ['GET', '/grants', undefined, 'grants.read'],
  ] as const) {
    const denied = await api.call(method, path, { token: vms.token, ...(body ? { body } : {}) });
    assert.equal(denied.status, 403, `${method} ${path}`);
    assert.equal(denied.body.error.code, 'insufficient_scope');
    assert.match(denied.body.error.message, new RegExp(`"${needed.replace('.', '\\.')}"`));
  }
  assert.equal(await api.fx.store.grants.get('bob', 'lab-vm'), undefined, 'no grant was made');
  const denials = (await api.fx.entries()).filter((e) => e.type === 'admin.denied').map((e) => e.data.needed);
  assert.deepEqual(denials, ['grants.write', 'grants.write', 'grants.read']);

  const granter = await api.clientWith(['grants.read', 'grants.write']);
  const put = await api.call('PUT', '/grants', {
    token: granter.token,
    body: { ...grant, expiresAt: '2031-01-01T00:00:00Z' },
  });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.equal((await api.call('GET', '/grants?user=bob', { token: granter.token })).body.grants.length, 1);
  assert.equal((await api.call('DELETE', '/grants?user=bob&vm=lab-vm', { token: granter.token })).status, 204);
  // Granting is not managing VMs.
  assert.equal((await api.call('POST', '/vms', { token: granter.token, body: { id: 'x-vm', ports: [] } })).status, 403);
});

test('users.write unlocks a user over REST; users.read may not', async (t) => {
  const api = await startApi(t);
  assert.ok((await api.fx.service.createUser('cli:test', 'bob')).ok);
  const policy = { maxFailures: 1, windowMs: 60_000, lockoutMs: 900_000 };
  await api.fx.store.loginLockouts.recordFailure('bob', api.fx.clock.now(), policy);
  const reader = await api.clientWith(['users.read']);
  assert.ok((await api.call('GET', '/users/bob', { token: reader.token })).body.user.lockedUntil);
  const denied = await api.call('POST', '/users/bob/unlock', { token: reader.token });
  assert.equal(denied.status, 403);
  assert.match(denied.body.error.message, /"users\.write"/);
  const writer = await api.clientWith(['users.write']);
  const r = await api.call('POST', '/users/bob/unlock', { token: writer.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.wasLocked, true);
  assert.equal(await api.fx.store.loginLockouts.lockedUntil('bob', api.fx.clock.now()), undefined);
  assert.equal((await api.call('POST', '/users/nobody/unlock', { token: writer.token })).status, 404);
  const audited = (await api.fx.entries()).find((e) => e.type === 'admin.user.unlock' && e.outcome === 'success')!;
  assert.equal(audited.actor, `client:${writer.clientId}`);
});

test('audit.read lists the source addresses held back; users.write unlocks one over REST (an IPv6 one with its /64); a name is 400', async (t) => {
  const api = await startApi(t);
  const reader = await api.clientWith(['users.read']);
  assert.equal((await api.call('POST', '/sources/203.0.113.7/unlock', { token: reader.token })).status, 403);
  assert.equal(
    (await api.call('GET', '/sources', { token: reader.token })).status,
    403,
    'source addresses are audit data',
  );
  const auditor = await api.clientWith(['audit.read']);
  assert.deepEqual((await api.call('GET', '/sources', { token: auditor.token })).body, {
    at: '2026-12-03T18:00:00.000Z',
    sources: [{ source: '203.0.113.7', limit: 'failed-attempts', retryAfterSeconds: 840 }],
    total: 1,
  });
  const writer = await api.clientWith(['users.write']);
  const v6 = await api.call('POST', '/sources/2001:db8:0:1:aaaa::7/unlock', { token: writer.token });
  assert.equal(v6.status, 200, JSON.stringify(v6.body));
  assert.deepEqual(v6.body, { source: '2001:db8:0:1:aaaa::7', network: '2001:db8:0:1::/64', every: false });
  assert.equal((await api.call('POST', '/sources/all/unlock', { token: writer.token })).body.network, '*');
  const bad = await api.call('POST', '/sources/lab-gateway/unlock', { token: writer.token });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /address.*must be an IP address, as the audit log names the source, or "all"/);
  assert.deepEqual(
    (await api.fx.store.sourceReleases.after(0)).map((r) => r.network),
    ['2001:db8:0:1::/64', '*'],
  );
  const audited = (await api.fx.entries()).filter((e) => e.type === 'admin.source.unlock');
  assert.deepEqual(
    audited.map((e) => [e.actor, e.outcome]),
    [
      [`client:${writer.clientId}`, 'success'],
      [`client:${writer.clientId}`, 'success'],
    ],
  );
});

test('a revoked client is refused at once although its token has not expired', async (t) => {
  const api = await startApi(t);
  const admin = await api.clientWith(['admin']);
  const victim = await api.clientWith(['vms.read']);
  assert.equal((await api.call('GET', '/vms', { token: victim.token })).status, 200);
  const rev = await api.call('POST', `/clients/${victim.clientId}/revoke`, { token: admin.token });
  assert.equal(rev.status, 200);
  assert.ok(rev.body.client.revokedAt);
  const after = await api.call('GET', '/vms', { token: victim.token });
  assert.equal(after.status, 401);
  assert.match(after.body.error.message, /revoked/);
  const again = await api.call('POST', '/token', {
    body: { grant_type: 'client_credentials', client_id: victim.clientId, client_secret: victim.clientSecret },
  });
  assert.equal(again.status, 401);
  const last = (await api.fx.entries()).filter((e) => e.type === 'admin.denied').at(-1)!;
  assert.deepEqual([last.actor, last.data.reason], [`client:${victim.clientId}`, 'client revoked']);
  const revokeEvent = (await api.fx.entries()).find((e) => e.type === 'admin.client.revoke')!;
  assert.equal(revokeEvent.actor, `client:${admin.clientId}`);
});

test('junk admin tokens are audited within a per-source budget, with the path cut short: they cannot grow the chain without bound', async (t) => {
  const api = await startApi(t);
  const longPath = `/users/${'x'.repeat(15_000)}`;
  for (let i = 0; i < 40; i++) {
    // Every third one has no token at all: a refusal like the others.
    const r = await api.call('GET', i % 2 ? longPath : '/users', i % 3 ? { token: `junk.${i}.token` } : {});
    assert.equal(r.status, 401);
  }
  const entries = await api.fx.entries();
  const denied = entries.filter((e) => e.type === 'admin.denied');
  assert.equal(denied.length, REFUSALS_AUDITED_PER_MINUTE, 'one by one up to the budget');
  assert.deepEqual(
    denied.map((e) => e.data.reason),
    ['no token', 'token rejected: malformed', 'token rejected: malformed', 'no token', 'token rejected: malformed'],
  );
  assert.ok(denied.every((e) => e.source === '127.0.0.1' || e.source === '::ffff:127.0.0.1'));
  const suppressed = entries.filter((e) => e.type === 'audit.refusals_suppressed');
  assert.equal(suppressed.length, 1, 'then one entry saying the rest of the minute is not audited one by one');
  assert.equal(suppressed[0]!.data.refused, 'admin.denied');
  const long = denied.find((e) => String(e.data.path).startsWith('/api/v1/admin/users/x'))!;
  assert.ok(String(long.data.path).length <= 201, `path kept short (${String(long.data.path).length} chars)`);
  // A valid client is not held back by someone else's junk: the budget limits auditing, not access.
  const c = await api.clientWith(['users.read']);
  assert.equal((await api.call('GET', '/users', { token: c.token })).status, 200);
});

test('missing, forged, expired and wrong-type tokens are 401', async (t) => {
  let clock = Date.now();
  const api = await startApi(t, () => clock);
  const c = await api.clientWith(['admin']);
  assert.equal((await api.call('GET', '/users')).status, 401);
  assert.equal((await api.call('GET', '/users', { token: 'not-a-jwt' })).status, 401);
  const otherKey = generateRelaySigningKey();
  const forged = await new AdminTokenIssuer(otherKey.privateKey).issue(c.clientId, ['admin']);
  assert.equal((await api.call('GET', '/users', { token: forged.token })).status, 401);
  // A user access token signed by the same key is not an admin token.
  const userToken = await new SignJWT({ scope: 'admin' })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
    .setIssuer('airlock-relay')
    .setAudience('airlock-api')
    .setSubject(c.clientId)
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti(randomUUID())
    .sign(api.key.privateKey);
  assert.equal((await api.call('GET', '/users', { token: userToken })).status, 401);
  clock += 11 * 60 * 1000;
  const expired = await api.call('GET', '/users', { token: c.token });
  assert.equal(expired.status, 401);
  assert.equal(expired.body.error.code, 'token_expired');
});

test('bad input is 400 naming the field; unknown ids 404; duplicates 409', async (t) => {
  const api = await startApi(t);
  const { token } = await api.clientWith(['admin']);
  const bad = async (method: string, path: string, body: unknown, field: RegExp) => {
    const r = await api.call(method, path, { token, body });
    assert.equal(r.status, 400, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.error.message, field);
  };
  await bad('POST', '/users', { name: 'Bad Name' }, /^name: /);
  await bad('POST', '/users', { name: 'ok', extra: 1 }, /extra/);
  await bad('POST', '/vms', { id: 'vm1', ports: [22, 70000] }, /^ports\.1: /);
  await bad('POST', '/vms', { id: 'vm1' }, /^ports: /);
  await bad('PUT', '/grants', { user: 'bob', vm: 'vm1', expiresAt: 'tomorrow' }, /^expiresAt: /);
  // An offset that moves an instant past 9999 would be stored as `+010000-…`, which sorts before every year.
  const pastYear9999 = '9999-12-31T23:59:59-23:59';
  await bad('PUT', '/grants', { user: 'bob', vm: 'vm1', expiresAt: pastYear9999 }, /^expiresAt: .*9999/);
  await bad('GET', `/audit?since=${encodeURIComponent(pastYear9999)}`, undefined, /^since: .*9999/);
  assert.equal(
    (await api.call('GET', '/audit?since=9999-12-31T23:59:59Z', { token })).status,
    200,
    'the last instant is fine',
  );
  await bad('POST', '/clients', { name: 'x', scopes: ['root'] }, /^scopes\.0: /);
  await bad('GET', '/sessions?live=yes', undefined, /^live: /);
  await bad('GET', '/audit?limit=0', undefined, /^limit: /);
  await bad('GET', '/devices?bogus=1', undefined, /bogus/);
  await bad('POST', '/devices/not-a-uuid/revoke', undefined, /^id: /);
  const notJson = await fetch(`${api.base}/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{',
  });
  assert.equal(notJson.status, 400);

  const nf = async (method: string, path: string, body?: unknown) => {
    const r = await api.call(method, path, { token, body });
    assert.equal(r.status, 404, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'not_found');
  };
  await nf('POST', '/users/nobody/disable');
  await nf('GET', '/users/nobody');
  await nf('POST', `/devices/${randomUUID()}/revoke`);
  await nf('PUT', '/vms/nope/ports', { ports: [22] });
  await nf('GET', '/vms/nope/credentials');
  await nf('POST', `/agent-credentials/${randomUUID()}/revoke`);
  await nf('POST', `/sessions/${randomUUID()}/kill`);
  await nf('DELETE', '/grants?user=bob&vm=vm1');
  await nf('POST', `/clients/ac_${'x'.repeat(22)}/revoke`);
  await nf('GET', '/no-such-route');

  assert.equal((await api.call('POST', '/users', { token, body: { name: 'bob' } })).status, 201);
  const dup = await api.call('POST', '/users', { token, body: { name: 'bob' } });
  assert.equal(dup.status, 409);
  assert.equal(dup.body.error.code, 'exists');
});

test('the admin flow over REST: user, VM, grant, sessions, kill, audit query', async (t) => {
  const api = await startApi(t);
  const { token, clientId } = await api.clientWith(['admin']);
  const call = (m: string, p: string, body?: unknown) => api.call(m, p, { token, body });

  const user = await call('POST', '/users', { name: 'bob' });
  assert.equal(user.status, 201);
  assert.match(user.body.enrollment.code, /^u1\./);
  assert.match(user.body.enrollment.command, /^airlock enroll https:\/\/relay\.test:7443 u1\./);
  const extra = await call('POST', '/users/bob/enrollment-codes');
  assert.equal(extra.status, 201);
  assert.notEqual(extra.body.enrollment.code, user.body.enrollment.code);

  const vm = await call('POST', '/vms', { id: 'vm1', ports: [22, 8888] });
  assert.equal(vm.status, 201);
  assert.match(vm.body.agentEnrollment.token, /^a1\./);
  assert.match(vm.body.agentEnrollment.command, /^airlock-agent enroll /);
  assert.equal((await call('PUT', '/vms/vm1/ports', { ports: [22, 8888, 9000] })).body.vm.ports.length, 3);
  assert.equal((await call('POST', '/vms/vm1/agent-tokens')).status, 201);
  assert.deepEqual((await call('GET', '/vms/vm1/credentials')).body, { credentials: [] });

  const tooWide = await call('PUT', '/grants', { user: 'bob', vm: 'vm1', ports: [22, 443] });
  assert.equal(tooWide.status, 400);
  assert.match(tooWide.body.error.message, /443 not allowed/);
  const grant = await call('PUT', '/grants', {
    user: 'bob',
    vm: 'vm1',
    ports: [22],
    expiresAt: '2031-01-01T00:00:00Z',
  });
  assert.equal(grant.status, 200);
  assert.deepEqual(
    (await call('GET', '/grants?user=bob')).body.grants.map((g: { vm: string }) => g.vm),
    ['vm1'],
  );

  const dev = await addDevice(api.fx.store, 'bob');
  assert.deepEqual(
    (await call('GET', '/devices?user=bob')).body.devices.map((d: { id: string }) => d.id),
    [dev.id],
  );
  assert.equal((await call('GET', '/users')).body.users[0].devices, 1);
  const sid = randomUUID();
  await api.fx.store.sessions.create({ id: sid, user: 'bob', device: dev.id, vm: 'vm1', ports: [22] });
  assert.deepEqual(
    (await call('GET', '/sessions?live=true')).body.sessions.map((s: { id: string }) => s.id),
    [sid],
  );
  const kill = await call('POST', `/sessions/${sid}/kill`);
  assert.equal(kill.status, 202);
  assert.equal((await api.fx.store.sessions.get(sid))!.killRequestedBy, `client:${clientId}`);

  const revoke = await call('POST', '/users/bob/revoke');
  assert.equal(revoke.status, 200);
  assert.equal(revoke.body.devicesRevoked, 1);
  const del = await api.call('DELETE', '/grants?user=bob&vm=vm1', { token });
  assert.equal(del.status, 204);

  const audit = await call('GET', `/audit?actor=client:${clientId}&type=admin.user.create`);
  assert.equal(audit.status, 200);
  assert.equal(audit.body.entries.length, 1);
  assert.equal(audit.body.entries[0].data.user, 'bob');
  const bySid = await call('GET', `/audit?sid=${sid}`);
  assert.deepEqual(
    bySid.body.entries.map((e: { type: string }) => e.type),
    ['admin.session.kill'],
  );
  const newest = await call('GET', '/audit?order=desc&limit=1');
  assert.equal(newest.body.entries.length, 1);
  assert.ok(!JSON.stringify((await call('GET', '/audit?limit=1000')).body).includes(user.body.enrollment.code));
});

test('under an organisation root the routes that would make an enrollment code refuse, audited', async (t) => {
  const api = await startApi(t);
  const { token } = await api.clientWith(['users.write', 'vms.write']);
  // Before the root: codes as before.
  const before = await api.call('POST', '/vms', { token, body: { id: 'before-root', ports: [22] } });
  assert.equal(before.status, 201);
  assert.match(before.body.agentEnrollment.token, /^a1\./);
  await api.fx.store.org.setAnchor((await makeTestOrg()).anchor.text);
  for (const [path, body] of [
    ['/users', { name: 'dora' }],
    ['/users/alice/enrollment-codes', undefined],
    ['/vms', { id: 'vm-under-root', ports: [22] }],
    ['/vms/before-root/agent-tokens', undefined],
  ] as const) {
    const r = await api.call('POST', path, { token, ...(body ? { body } : {}) });
    assert.equal(r.status, 409, path);
    assert.equal(r.body.error.code, 'organisation_root');
    assert.match(r.body.error.message, /enrollment codes are made with airlock-org, never by the relay/);
  }
  const denied = await api.fx.store.audit.query({ type: 'admin.denied' });
  assert.equal(denied.filter((e) => e.data.reason === 'organisation_root').length, 4);
  assert.equal(await api.fx.store.vms.get('vm-under-root'), undefined, 'nothing was made');
});
