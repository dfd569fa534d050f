import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as tlsConnect } from 'node:tls';
import {
  SessionResponse,
  TicketVerifier,
  TokenIssuer,
  VmListResponse,
  sshFingerprintB64,
  sshFingerprintFromPem,
} from '@airlock/shared';
import {
  FakeAgent,
  OTHER_VM,
  TEST_VM,
  api,
  certOf,
  login,
  startHarness,
  waitFor,
  type Harness,
} from '../test-support/harness.js';

describe('control API', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  describe('input validation', () => {
    test('bad bodies are 400 naming the field; malformed JSON is 400, not 500', async () => {
      const noUser = await api(h.relay, 'POST', '/login/challenge', { body: {} });
      assert.equal(noUser.status, 400);
      assert.equal(noUser.body.error.code, 'bad_request');
      assert.match(noUser.body.error.message, /^user: /);
      const badName = await api(h.relay, 'POST', '/login/challenge', { body: { user: 'Not Valid' } });
      assert.match(badName.body.error.message, /^user: must be/);
      const extra = await api(h.relay, 'POST', '/login/challenge', { body: { user: 'alice', admin: true } });
      assert.equal(extra.status, 400);
      assert.match(extra.body.error.message, /admin/);
      const noSig = await api(h.relay, 'POST', '/login', { body: { user: 'alice', nonce: 'x'.repeat(43) } });
      assert.equal(noSig.status, 400);
      assert.match(noSig.body.error.message, /deviceId: .*totp: .*signature: /);
      const badTotp = await api(h.relay, 'POST', '/enroll/complete', {
        body: { enrollmentId: crypto.randomUUID(), totp: '12345', signature: 'A'.repeat(40) },
      });
      assert.equal(badTotp.status, 400);
      assert.match(badTotp.body.error.message, /^totp: must be the 6-digit code/);
      const malformed = await api(h.relay, 'POST', '/login', { rawBody: '{"user": "alice",' });
      assert.equal(malformed.status, 400);
      assert.match(malformed.body.error.message, /not valid JSON/);
      const badPath = await api(h.relay, 'POST', '/sessions/%E0%A4%A/resume', { body: {} });
      assert.equal(badPath.status, 400);
      assert.equal(badPath.body.error.message, '(path): a part of the path is not valid percent-encoding');
      const notJson = await api(h.relay, 'POST', '/login/challenge', {
        rawBody: 'user=alice',
        contentType: 'text/plain',
      });
      assert.equal(notJson.status, 400);
      assert.match(notJson.body.error.message, /\(body\)/);
      const huge = await api(h.relay, 'POST', '/login', { body: { user: 'alice', pad: 'x'.repeat(100_000) } });
      assert.equal(huge.status, 413);
      assert.equal(huge.body.error.code, 'payload_too_large');
    });

    test('a body declared over the limit is refused before it is read, and the connection closed', async () => {
      // Only the headers and 1 KiB of the declared 100 MB are sent: the answer must not wait for the rest.
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: Number(new URL(h.relay.url).port),
        rejectUnauthorized: false,
      });
      await once(socket, 'secureConnect');
      socket.write(
        'POST /api/v1/login/challenge HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n' +
          'Content-Length: 100000000\r\n\r\n' +
          '{"user":"' +
          'x'.repeat(1024),
      );
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      const closed = await Promise.race([
        once(socket, 'close').then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000).unref()),
      ]);
      socket.destroy();
      assert.ok(closed, `the relay closed the connection (answer so far: ${JSON.stringify(answer.slice(0, 200))})`);
      assert.match(answer, /^HTTP\/1\.1 413 /);
      assert.match(answer, /\r\nconnection: close\r\n/i);
      assert.match(answer, /"payload_too_large"/);
      assert.match(answer, /request body is larger than \d+ bytes/);
    });
  });

  describe('access token', () => {
    test('is required, and a missing/bad/expired one is 401 with a code', async () => {
      const none = await api(h.relay, 'GET', '/vms');
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, 'unauthenticated');
      assert.match(none.body.error.message, /log in/);
      const garbage = await api(h.relay, 'GET', '/vms', { token: 'not.a.token' });
      assert.equal(garbage.status, 401);
      assert.equal(garbage.body.error.code, 'unauthenticated');
      const token = await login(h.relay, h.alice);
      const cert = certOf(token)!;
      const issuedLongAgo = new TokenIssuer(h.relay.signingKey.privateKey, () => h.clock.nowMs() - 3600_000);
      const binding = { deviceId: h.alice.deviceId, certThumbprint: cert.thumbprint, userKeyFingerprint: 'SHA256:x' };
      const expired = await issuedLongAgo.issueAccessToken('alice', binding, 60);
      const exp = await api(h.relay, 'GET', '/vms', { token: expired.token, cert });
      assert.equal(exp.status, 401);
      assert.equal(exp.body.error.code, 'token_expired');
    });

    test('a ticket, signed by the same key for the same user, is not an access token', async () => {
      const ticket = await h.relay.issuer.issueTicket({
        sub: 'alice',
        sid: crypto.randomUUID(),
        vm: TEST_VM,
        ukey: sshFingerprintFromPem(h.alice.publicKeyPem),
        ports: [22],
      });
      const res = await api(h.relay, 'GET', '/vms', { token: ticket.token });
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'unauthenticated');
      assert.match(res.body.error.message, /access token rejected \(.*("typ"|"aud").*\)/);
      const session = await api(h.relay, 'POST', '/sessions', { token: ticket.token, body: { vm: TEST_VM } });
      assert.equal(session.status, 401);
    });
  });

  describe('vms and sessions', () => {
    test('GET /vms lists granted VMs with online status and ports', async () => {
      const token = await login(h.relay, h.alice);
      const before = await api(h.relay, 'GET', '/vms', { token });
      assert.equal(before.status, 200);
      assert.deepEqual(
        VmListResponse.parse(before.body).vms,
        [
          { id: TEST_VM, online: false, ports: [22, 8888] },
          { id: OTHER_VM, online: false, ports: [22] },
        ].sort((a, b) => a.id.localeCompare(b.id)),
      );
      const agent = await FakeAgent.connect(h.relay, h.credential, h.hostKey);
      try {
        const after = await api(h.relay, 'GET', '/vms', { token });
        assert.equal(after.body.vms.find((v: { id: string }) => v.id === TEST_VM).online, true);
        const bobs = await api(h.relay, 'GET', '/vms', { token: await login(h.relay, h.bob) });
        assert.deepEqual(bobs.body, { vms: [] });
      } finally {
        agent.close();
        await waitFor(() => !h.relay.isAgentOnline(TEST_VM), 'agent offline');
      }
    });

    test('POST /sessions: 404 for unknown and ungranted VMs alike, 409 when offline, 400 for a bad body', async () => {
      const alice = await login(h.relay, h.alice);
      const bob = await login(h.relay, h.bob);
      const unknown = await api(h.relay, 'POST', '/sessions', { token: alice, body: { vm: 'no-such-vm' } });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'vm_not_found');
      const ungranted = await api(h.relay, 'POST', '/sessions', { token: bob, body: { vm: TEST_VM } });
      assert.equal(ungranted.status, 404);
      assert.equal(ungranted.body.error.code, 'vm_not_found');
      assert.equal(ungranted.body.error.message, unknown.body.error.message.replace('no-such-vm', TEST_VM));
      const offline = await api(h.relay, 'POST', '/sessions', { token: alice, body: { vm: TEST_VM } });
      assert.equal(offline.status, 409);
      assert.equal(offline.body.error.code, 'vm_offline');
      const bad = await api(h.relay, 'POST', '/sessions', { token: alice, body: { vm: 'BAD VM' } });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /^vm: /);
    });

    test('POST /sessions returns a ticket, the registered host key, and dials the agent', async () => {
      const agent = await FakeAgent.connect(h.relay, h.credential, h.hostKey);
      try {
        const token = await login(h.relay, h.alice);
        const res = await api(h.relay, 'POST', '/sessions', { token, body: { vm: TEST_VM } });
        assert.equal(res.status, 200);
        const session = SessionResponse.parse(res.body);
        assert.equal(session.hostKey, h.hostKey);
        assert.equal(session.hostKeyFingerprint, sshFingerprintB64(h.hostKey));
        assert.deepEqual(session.ports, [22, 8888]);
        const claims = await new TicketVerifier(h.relay.signingKey.publicKey).verify(session.ticket, {
          vm: TEST_VM,
          sessionId: session.sessionId,
        });
        assert.ok(claims.ok);
        assert.equal(claims.value.sub, 'alice');
        // The agent is to accept the login's ephemeral certificate key, not the long-term device key.
        assert.equal(claims.value.ukey, sshFingerprintFromPem(certOf(token)!.publicKeyPem));
        await waitFor(() => agent.dials.length === 1, 'dial');
        assert.deepEqual(agent.dials[0], { sessionId: session.sessionId, ticket: session.ticket });
        assert.equal(h.relay.sessionStats(session.sessionId)?.state, 'pending');
      } finally {
        agent.close();
        await waitFor(() => !h.relay.isAgentOnline(TEST_VM), 'agent offline');
      }
    });

    test('ports are the grant narrowed to what the VM allows; the grant says when it ends', async () => {
      // Granted while the VM allowed both ports; the VM then stops allowing 22.
      const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
      await h.relay.store.grants.put({ user: 'bob', vm: TEST_VM, ports: [8888, 22], expiresAt });
      await h.relay.store.vms.setPorts(TEST_VM, [8888]);
      try {
        const res = await api(h.relay, 'GET', '/vms', { token: await login(h.relay, h.bob) });
        assert.deepEqual(res.body.vms, [{ id: TEST_VM, online: false, ports: [8888], grantExpiresAt: expiresAt }]);
      } finally {
        await h.relay.store.vms.setPorts(TEST_VM, [22, 8888]);
        await h.relay.store.grants.delete('bob', TEST_VM);
      }
    });
  });

  test('unknown routes are 404 JSON; healthz answers', async () => {
    const res = await api(h.relay, 'GET', '/api/v1/nope');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'not_found');
    assert.equal((await api(h.relay, 'GET', '/elsewhere')).status, 404);
    for (const path of ['/healthz', '/api/v1/healthz']) {
      const health = await api(h.relay, 'GET', path);
      assert.equal(health.status, 200);
      assert.equal(health.body.status, 'ok');
      // The relay's own clock, to the millisecond, for Connect's clock-skew check.
      assert.equal(health.body.time, new Date(Date.parse(health.body.time)).toISOString());
      assert.ok(Math.abs(Date.parse(health.body.time) - h.clock.nowMs()) < 5000, 'the relay clock, not a constant');
    }
  });
});
