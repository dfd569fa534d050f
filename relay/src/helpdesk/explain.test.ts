import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ExplainCode, ExplainReport } from '@airlock/shared';
import {
  FakeAgent,
  adminToken,
  OTHER_VM,
  TEST_VM,
  addVm,
  api,
  enrollUser,
  login,
  loginWith,
  startHarness,
  waitFor,
  type Harness,
} from '../test-support/harness.js';

/** Runs the engine the CLI and the API share, on the running relay's store and clock. */
async function explain(h: Harness, user: string, vm: string, port?: number): Promise<ExplainReport> {
  const r = await h.relay.helpdesk.explain({ user, vm, ...(port !== undefined ? { port } : {}) });
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

function failed(r: ExplainReport, code: ExplainCode) {
  const c = r.checks.find((x) => x.code === code);
  assert.ok(c, `expected a failed check ${code}, got ${JSON.stringify(r.checks)}`);
  assert.equal(c.ok, false);
  assert.ok(c.hint && c.hint.length > 0, 'every failed check says what to do next');
  return c;
}

describe('explain: every reason, produced for real on a running relay', () => {
  let h: Harness;
  let agent: FakeAgent;
  before(async () => {
    h = await startHarness({ loginMaxFailuresPerUser: 2 });
    agent = await FakeAgent.connect(h.relay, h.credential, h.hostKey);
    await waitFor(async () => (await h.relay.store.agentPresence.get(TEST_VM))?.online === true, 'presence online');
  });
  after(async () => {
    agent.close();
    await h.close();
  });

  test('allowed: active user with a device, a grant in force, the port on the VM and in the grant, agent online', async () => {
    await login(h.relay, h.alice);
    const r = await explain(h, 'alice', TEST_VM, 8888);
    assert.equal(r.allowed, true, JSON.stringify(r.checks));
    assert.deepEqual(r.blockers, []);
    assert.deepEqual(
      r.checks.map((c) => [c.check, c.ok]),
      [
        ['relay', true],
        ['user', true],
        ['lockout', true],
        ['device', true],
        ['vm', true],
        ['grant', true],
        ['port', true],
        ['agent', true],
      ],
    );
    assert.match(r.checks.find((c) => c.check === 'device')!.message, /1 enrolled device\(s\); last login 20/);
    assert.equal(r.agent?.online, true);
    assert.equal(r.agent?.activeCredentials, 1);
    assert.equal(r.agent?.version, 'test');
    assert.match(r.agent?.hostKeyFingerprint ?? '', /^SHA256:/);
    assert.deepEqual(r.grant?.effectivePorts, [22, 8888]);
    assert.deepEqual(r.vmPorts, [22, 8888]);
    assert.equal(r.userInfo?.status, 'active');
  });

  test('user_unknown, and vm_unknown', async () => {
    const r = await explain(h, 'nobody', 'no-such-vm');
    assert.deepEqual(r.blockers, ['user_unknown', 'vm_unknown']);
    assert.match(failed(r, 'user_unknown').hint!, /airlock-relay user list/);
    assert.equal(r.userInfo, undefined);
  });

  test('user_disabled: says since when and how to enable', async () => {
    await enrollUser(h.relay, 'dora');
    assert.ok((await h.relay.admin.putGrant('test', { user: 'dora', vm: TEST_VM })).ok);
    assert.ok((await h.relay.admin.disableUser('test', 'dora')).ok);
    const r = await explain(h, 'dora', TEST_VM);
    assert.deepEqual(r.blockers, ['user_disabled']);
    assert.match(failed(r, 'user_disabled').message, /is disabled \(since 20/);
    assert.match(failed(r, 'user_disabled').hint!, /airlock-relay user enable dora/);
  });

  test('user_locked_out after wrong authenticator codes: until when, how to unlock; the failures are in recent refusals', async () => {
    const lou = await enrollUser(h.relay, 'lou');
    assert.ok((await h.relay.admin.putGrant('test', { user: 'lou', vm: TEST_VM })).ok);
    for (let i = 0; i < 2; i++) assert.equal((await loginWith(h.relay, lou, { totp: '000000' })).status, 401);
    const r = await explain(h, 'lou', TEST_VM);
    assert.deepEqual(r.blockers, ['user_locked_out']);
    const c = failed(r, 'user_locked_out');
    assert.match(c.message, /locked out after too many wrong authenticator codes until 20/);
    assert.match(c.hint!, /airlock-relay user unlock lou/);
    assert.ok(r.userInfo?.lockedUntil);
    assert.deepEqual(
      r.recentRefusals.map((f) => [f.type, f.reason]),
      [
        ['login.failure', 'totp wrong_code'],
        ['login.failure', 'totp wrong_code'],
      ],
    );
    assert.ok(r.recentRefusals.every((f) => f.source === '127.0.0.1'));
    assert.ok((await h.relay.admin.unlockUser('test', 'lou')).ok);
    assert.equal((await explain(h, 'lou', TEST_VM)).allowed, true, 'an unlock clears it at once');
  });

  test('no_device: a code waiting unused, then all devices revoked', async () => {
    assert.ok((await h.relay.admin.createUser('test', 'newbie')).ok);
    assert.ok((await h.relay.admin.putGrant('test', { user: 'newbie', vm: TEST_VM })).ok);
    const waiting = await explain(h, 'newbie', TEST_VM);
    assert.deepEqual(waiting.blockers, ['no_device']);
    assert.match(failed(waiting, 'no_device').message, /an enrollment code is waiting, unused, until 20/);
    assert.match(failed(waiting, 'no_device').hint!, /airlock enroll/);

    const rex = await enrollUser(h.relay, 'rex');
    assert.ok((await h.relay.admin.revokeDevice('test', rex.deviceId)).ok);
    const revoked = await explain(h, 'rex', TEST_VM);
    assert.match(failed(revoked, 'no_device').message, /no enrolled device \(1 revoked\)$/);
    assert.match(failed(revoked, 'no_device').hint!, /airlock-relay user enroll-code rex/);
  });

  test('no_grant, with the refused session request in recent refusals', async () => {
    const token = await login(h.relay, h.bob);
    assert.equal((await api(h.relay, 'POST', '/sessions', { token, body: { vm: TEST_VM } })).status, 404);
    const r = await explain(h, 'bob', TEST_VM);
    assert.deepEqual(r.blockers, ['no_grant']);
    assert.match(failed(r, 'no_grant').hint!, /airlock-relay grant add bob demo-vm/);
    assert.deepEqual(
      r.recentRefusals.map((f) => [f.type, f.reason, f.vm]),
      [['session.deny', 'no grant', TEST_VM]],
    );
  });

  test('grant_expired: when, and how to renew keeping its ports', async () => {
    await enrollUser(h.relay, 'gil');
    const expiresAt = new Date(h.clock.nowMs() + 60_000).toISOString();
    assert.ok((await h.relay.admin.putGrant('test', { user: 'gil', vm: TEST_VM, ports: [22], expiresAt })).ok);
    assert.equal((await explain(h, 'gil', TEST_VM)).allowed, true);
    h.clock.advance(120_000);
    const r = await explain(h, 'gil', TEST_VM);
    assert.deepEqual(r.blockers, ['grant_expired']);
    assert.equal(failed(r, 'grant_expired').message, `the grant of "gil" on "demo-vm" expired at ${expiresAt}`);
    assert.match(failed(r, 'grant_expired').hint!, /grant add gil demo-vm --expires 30d --ports 22/);
  });

  test('port_not_in_grant, port_not_allowed_by_vm (and both at once)', async () => {
    await enrollUser(h.relay, 'pat');
    assert.ok((await h.relay.admin.putGrant('test', { user: 'pat', vm: TEST_VM, ports: [22] })).ok);
    const notGranted = await explain(h, 'pat', TEST_VM, 8888);
    assert.deepEqual(notGranted.blockers, ['port_not_in_grant']);
    assert.match(failed(notGranted, 'port_not_in_grant').hint!, /grant add pat demo-vm --ports 22,8888/);

    const vmSaysNo = await explain(h, 'alice', TEST_VM, 3389);
    assert.deepEqual(vmSaysNo.blockers, ['port_not_allowed_by_vm'], 'alice’s grant names no ports: all the VM allows');
    assert.match(failed(vmSaysNo, 'port_not_allowed_by_vm').message, /does not allow port 3389 \(it allows 22, 8888\)/);
    assert.match(failed(vmSaysNo, 'port_not_allowed_by_vm').hint!, /vm set-ports demo-vm 22,3389,8888/);

    assert.deepEqual((await explain(h, 'pat', TEST_VM, 3389)).blockers, [
      'port_not_allowed_by_vm',
      'port_not_in_grant',
    ]);
  });

  test('agent_not_enrolled; agent_offline: never connected, then offline since it went away and why', async () => {
    assert.ok((await h.relay.admin.createVm('test', 'fresh-vm', [])).ok);
    assert.ok((await h.relay.admin.putGrant('test', { user: 'alice', vm: 'fresh-vm' })).ok);
    const fresh = await explain(h, 'alice', 'fresh-vm');
    assert.deepEqual(fresh.blockers, ['agent_not_enrolled']);
    assert.match(failed(fresh, 'agent_not_enrolled').hint!, /airlock-relay vm new-token fresh-vm/);

    const never = await explain(h, 'alice', OTHER_VM);
    assert.deepEqual(never.blockers, ['agent_offline']);
    assert.match(failed(never, 'agent_offline').message, /has never connected/);

    // A real control link that goes away: the relay records when and why.
    const credential = await addVm(h.relay, 'gone-vm', [22]);
    assert.ok((await h.relay.admin.putGrant('test', { user: 'alice', vm: 'gone-vm' })).ok);
    const gone = await FakeAgent.connect(h.relay, credential, h.hostKey);
    await waitFor(async () => (await explain(h, 'alice', 'gone-vm')).allowed, 'gone-vm online');
    const beforeDrop = Date.now();
    gone.close();
    await waitFor(async () => !(await explain(h, 'alice', 'gone-vm')).allowed, 'gone-vm offline');
    const r = await explain(h, 'alice', 'gone-vm');
    assert.deepEqual(r.blockers, ['agent_offline']);
    assert.match(failed(r, 'agent_offline').message, /is offline since 20.* \(control link closed \(code 1006\)\)$/);
    assert.match(failed(r, 'agent_offline').hint!, /airlock-agent status/);
    assert.equal(r.agent?.online, false);
    assert.ok(Date.parse(r.agent!.since!) >= beforeDrop - 1000);
  });

  test('the admin API: GET /api/v1/admin/explain needs sessions.read; bad input is a 400 naming the field', async () => {
    const token = await adminToken(h.relay, ['sessions.read']);
    const ok = await api(h.relay, 'GET', '/admin/explain?user=alice&vm=demo-vm&port=8888', { token });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.allowed, true);
    assert.equal(ok.body.port, 8888);
    const denied = await api(h.relay, 'GET', '/admin/explain?user=bob&vm=demo-vm', { token });
    assert.deepEqual(denied.body.blockers, ['no_grant']);
    const bad = await api(h.relay, 'GET', '/admin/explain?user=alice&vm=demo-vm&port=70000', { token });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /^port: /);
    const unknownKey = await api(h.relay, 'GET', '/admin/explain?user=alice&vm=demo-vm&x=1', { token });
    assert.equal(unknownKey.status, 400);
    const other = await adminToken(h.relay, ['users.read']);
    const forbidden = await api(h.relay, 'GET', '/admin/explain?user=alice&vm=demo-vm', { token: other });
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.body.error.message, /sessions\.read/);
  });

  test("the user's own GET /api/v1/explain: their access in their terms; an unknown VM reads like one not granted", async () => {
    const alice = await login(h.relay, h.alice);
    const mine = await api(h.relay, 'GET', '/explain?vm=demo-vm&port=8888', { token: alice });
    assert.equal(mine.status, 200);
    assert.equal(mine.body.allowed, true);
    assert.equal(mine.body.user, 'alice');
    assert.deepEqual(mine.body.grant.effectivePorts, [22, 8888]);
    assert.equal(mine.body.agent.online, true);
    const port = await api(h.relay, 'GET', '/explain?vm=demo-vm&port=3389', { token: alice });
    assert.deepEqual(port.body.blockers, ['port_not_allowed_by_vm']);
    assert.doesNotMatch(JSON.stringify(port.body), /airlock-relay/, 'no admin commands for users');
    const offline = await api(h.relay, 'GET', '/explain?vm=other-vm', { token: alice });
    assert.deepEqual(offline.body.blockers, ['agent_offline']);
    assert.match(offline.body.checks.at(-1).message, /has not come online yet/);

    const bob = await login(h.relay, h.bob);
    const notGranted = await api(h.relay, 'GET', '/explain?vm=demo-vm', { token: bob });
    const missing = await api(h.relay, 'GET', '/explain?vm=no-such-vm', { token: bob });
    assert.deepEqual(notGranted.body.blockers, ['no_grant']);
    assert.deepEqual(missing.body.blockers, ['no_grant']);
    const shape = (b: { checks: unknown[]; grant?: unknown; agent?: unknown }) =>
      JSON.stringify({ checks: b.checks, grant: b.grant, agent: b.agent }).replace(/no-such-vm|demo-vm/g, 'X');
    assert.equal(shape(notGranted.body), shape(missing.body));
    assert.equal(notGranted.body.agent, undefined, 'no word about the agent of a VM the user may not use');

    assert.equal((await api(h.relay, 'GET', '/explain?vm=demo-vm&port=x', { token: alice })).status, 400);
    assert.equal((await api(h.relay, 'GET', '/explain?vm=demo-vm')).status, 401, 'needs a login');
  });
});
