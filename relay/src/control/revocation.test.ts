import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode } from '@airlock/shared';
import {
  FakeAgent,
  TEST_VM,
  api,
  closed,
  login,
  openConnect,
  pairedSession,
  startHarness,
  waitFor,
  type Harness,
} from '../test-support/harness.js';

describe('revocation reaches live sessions', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ revocationCheckMs: 100 });
  });
  after(() => h.close());

  test('an admin kill closes the session on both sides with the reason', async () => {
    const s = await pairedSession(h);
    try {
      const connectClosed = closed(s.connectWs);
      const agentClosed = closed(s.agentWs);
      const killed = await h.relay.admin.killSession('test', s.session.sessionId);
      assert.ok(killed.ok);
      const c = await connectClosed;
      assert.equal(c.code, CloseCode.revoked);
      assert.match(c.reason, /administrator closed this session/);
      assert.equal((await agentClosed).code, CloseCode.revoked);
      await waitFor(async () => !!(await h.relay.store.sessions.get(s.session.sessionId))?.endedAt, 'session ended');
      const audit = await h.relay.store.audit.query({ sid: s.session.sessionId });
      const types = audit.map((e) => e.type);
      for (const t of ['session.authorize', 'session.open', 'admin.session.kill', 'session.revoked', 'session.close'])
        assert.ok(types.includes(t), `${t} in ${types.join(',')}`);
    } finally {
      s.agent.close();
    }
  });

  test('revoking the device closes its session and refuses its token', async () => {
    const s = await pairedSession(h);
    try {
      const connectClosed = closed(s.connectWs);
      const revoked = await h.relay.admin.revokeDevice('test', h.alice.deviceId);
      assert.ok(revoked.ok);
      const c = await connectClosed;
      assert.equal(c.code, CloseCode.revoked);
      const again = await api(h.relay, 'POST', '/sessions', { token: s.token, body: { vm: TEST_VM } });
      assert.equal(again.status, 401);
      assert.equal(again.body.error.code, 'revoked');
    } finally {
      s.agent.close();
    }
  });
});

describe('refused upgrades are budgeted per source', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ refusedUpgradesPerMinute: 3, revocationCheckMs: 50 });
  });
  after(() => h.close());
  const junk = () => openConnect(h.relay, crypto.randomUUID(), 'not-a-ticket');
  const budgetSpent = /upgrade refused 429: too many refused connections from your address/;

  test('past the budget a source is refused at once and no longer fills the audit log', async () => {
    for (let i = 0; i < 3; i++) await assert.rejects(junk(), /upgrade refused 404/);
    await assert.rejects(junk(), budgetSpent);
    const audited = await h.relay.store.audit.query({ type: 'session.join_refused' });
    assert.equal(audited.length, 3);
  });

  test("an administrator's unlock of the address (however written), or of all, gives it its budget back", async () => {
    // A refusal at the budget's gate takes no budget, so waiting here costs nothing.
    const refusal = () =>
      junk().then(
        () => 'not refused',
        (e: Error) => e.message,
      );
    const heardAgain = async () => /upgrade refused 404/.test(await refusal());
    for (const typed of ['::ffff:127.0.0.1', 'all']) {
      let spent = false;
      for (let i = 0; i < 4 && !spent; i++) spent = budgetSpent.test(await refusal());
      assert.ok(spent, 'the budget is spent again');
      assert.ok((await h.relay.admin.unlockSource('cli:helpdesk', typed)).ok);
      await waitFor(heardAgain, `the upgrade budget given back by unlocking ${typed}`);
    }
  });
});

describe('revocation: users, grants and agents', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ revocationCheckMs: 100 });
  });
  after(() => h.close());

  test('removing the grant closes the session', async () => {
    const s = await pairedSession(h);
    try {
      const connectClosed = closed(s.connectWs);
      await h.relay.admin.deleteGrant('test', 'alice', TEST_VM);
      const c = await connectClosed;
      assert.equal(c.code, CloseCode.revoked);
      assert.match(c.reason, /access to VM demo-vm was withdrawn/);
    } finally {
      s.agent.close();
      await h.relay.admin.putGrant('test', { user: 'alice', vm: TEST_VM });
    }
  });

  test('narrowing the ports of a grant closes a session whose ticket allowed more', async () => {
    const s = await pairedSession(h);
    try {
      const connectClosed = closed(s.connectWs);
      assert.deepEqual(s.session.ports, [22, 8888]);
      assert.ok((await h.relay.admin.putGrant('test', { user: 'alice', vm: TEST_VM, ports: [22] })).ok);
      const c = await connectClosed;
      assert.equal(c.code, CloseCode.revoked);
      assert.match(c.reason, /ports you may use on VM demo-vm were narrowed/);
    } finally {
      s.agent.close();
      await h.relay.admin.putGrant('test', { user: 'alice', vm: TEST_VM });
    }
  });

  test('revoking the agent credential closes the control link and refuses reconnection', async () => {
    const agent = await FakeAgent.connect(h.relay, h.credential, h.hostKey);
    const linkClosed = closed(agent.ws);
    const creds = await h.relay.store.agentCredentials.listActive(TEST_VM);
    assert.equal(creds.length, 1);
    assert.ok((await h.relay.admin.revokeAgentCredential('test', creds[0]!.id)).ok);
    assert.equal((await linkClosed).code, CloseCode.revoked);
    await assert.rejects(FakeAgent.connect(h.relay, h.credential, h.hostKey), /upgrade refused 401/);
  });

  test('revoking a user refuses their logins; other users are unaffected', async () => {
    const token = await login(h.relay, h.alice);
    assert.ok(token);
    await h.relay.admin.revokeUser('test', 'bob');
    const res = await api(h.relay, 'GET', '/vms', { token: await login(h.relay, h.alice) });
    assert.equal(res.status, 200, 'alice is unaffected');
    await assert.rejects(login(h.relay, h.bob), /user_disabled|login_failed/);
  });
});
