import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { API_PREFIX, AccessTokenVerifier, certThumbprint, type HeldSource } from '@airlock/shared';
import { totpCodeAt } from '../identity/totp.js';
import {
  adminToken,
  api,
  certOf,
  login,
  loginWith,
  mintCert,
  newDeviceKey,
  nextTotp,
  signedLoginBody,
  startHarness,
  waitFor,
  type ClientCert,
  type Harness,
} from '../test-support/harness.js';

describe('login: device signature + TOTP + certificate binding', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ loginMaxFailuresPerUser: 1000, maxFailuresPerSource: 1000 });
  });
  after(() => h.close());

  test('a signed challenge and a fresh TOTP code yield a token bound to the certificate on the connection', async () => {
    const res = await loginWith(h.relay, h.alice);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const claims = await new AccessTokenVerifier(h.relay.signingKey.publicKey, h.clock.nowMs).verify(
      res.body.accessToken,
    );
    assert.ok(claims.ok);
    assert.equal(claims.value.sub, 'alice');
    assert.equal(claims.value.did, h.alice.deviceId);
    assert.equal(claims.value.cnf['x5t#S256'], res.cert.thumbprint);
    assert.equal(claims.value.exp - claims.value.iat, 30 * 60, 'tokens last 30 minutes by default');
    const vms = await api(h.relay, 'GET', '/vms', { token: res.body.accessToken });
    assert.equal(vms.status, 200);
  });

  test('a replayed challenge is refused', async () => {
    const cert = await mintCert();
    const body = await signedLoginBody(h.relay, h.alice, cert.thumbprint);
    const first = await api(h.relay, 'POST', '/login', { body: { ...body, totp: nextTotp(h.relay, h.alice) }, cert });
    assert.equal(first.status, 200);
    const replay = await api(h.relay, 'POST', '/login', { body: { ...body, totp: nextTotp(h.relay, h.alice) }, cert });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error.code, 'login_failed');
    assert.match(replay.body.error.message, /challenge is unknown, expired or already used/);
  });

  test('a wrong signature, another device, or an unknown device all get the same answer', async () => {
    const cert = await mintCert();
    const attempt = async (deviceId: string, privateKey = h.alice.privateKey) => {
      const body = await signedLoginBody(h.relay, { name: 'alice', deviceId, privateKey }, cert.thumbprint);
      return api(h.relay, 'POST', '/login', { body: { ...body, totp: nextTotp(h.relay, h.alice) }, cert });
    };
    const wrongKey = await attempt(h.alice.deviceId, newDeviceKey().privateKey);
    const bobsDevice = await attempt(h.bob.deviceId);
    const unknown = await attempt(crypto.randomUUID());
    for (const r of [wrongKey, bobsDevice, unknown]) {
      assert.equal(r.status, 401);
      assert.equal(r.body.error.code, 'login_failed');
    }
    assert.equal(wrongKey.body.error.message, unknown.body.error.message);
    assert.equal(bobsDevice.body.error.message, unknown.body.error.message);
  });

  test('a TOTP code is accepted once; a wrong code is refused', async () => {
    const code = nextTotp(h.relay, h.alice);
    assert.equal((await loginWith(h.relay, h.alice, { totp: code })).status, 200);
    const reused = await loginWith(h.relay, h.alice, { totp: code });
    assert.equal(reused.status, 401);
    assert.equal(reused.body.error.code, 'totp_reused', 'a code of its own, so Connect can say to wait');
    assert.match(reused.body.error.message, /already used; wait for the next code/);
    const wrong = await loginWith(h.relay, h.alice, { totp: code === '000000' ? '111111' : '000000' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'totp_failed');
    // An older step than the last accepted one is a replay too, even if still inside the window.
    const older = totpCodeAt(h.alice.totpSecret, h.clock.nowMs() - 30_000);
    assert.equal((await loginWith(h.relay, h.alice, { totp: older })).status, 401);
  });

  test('the login must come over the certificate it names', async () => {
    const named = await mintCert();
    const presented = await mintCert();
    const body = {
      ...(await signedLoginBody(h.relay, h.alice, named.thumbprint)),
      totp: nextTotp(h.relay, h.alice),
    };
    const other = await api(h.relay, 'POST', '/login', { body, cert: presented });
    assert.equal(other.status, 401);
    assert.equal(other.body.error.code, 'certificate_required');
    const none = await api(h.relay, 'POST', '/login', { body, cert: null });
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'certificate_required');
  });

  test('a client certificate with a key the agent cannot use is a 400, and consumes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-ed25519-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ed25519',
          '-nodes',
          '-subj',
          '/CN=x',
          '-days',
          '1',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      const certPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
      const cert = { certPem, keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'), thumbprint: certThumbprint(certPem) };
      const body = await signedLoginBody(h.relay, h.alice, cert.thumbprint);
      const res = await api(h.relay, 'POST', '/login', {
        body: { ...body, totp: nextTotp(h.relay, h.alice) },
        cert: cert as unknown as ClientCert,
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'certificate_unsupported');
      const [entry] = await h.relay.store.audit.query({ type: 'login.failure', descending: true, limit: 1 });
      assert.match(String(entry?.data.reason), /^unsupported certificate key \(/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a token is refused without its certificate and with another one', async () => {
    const token = await login(h.relay, h.alice);
    const without = await api(h.relay, 'GET', '/vms', { token, cert: null });
    assert.equal(without.status, 401);
    assert.equal(without.body.error.code, 'certificate_mismatch');
    assert.match(without.body.error.message, /must be presented with its client certificate/);
    const other = await api(h.relay, 'GET', '/vms', { token, cert: await mintCert() });
    assert.equal(other.status, 401);
    assert.equal(other.body.error.code, 'certificate_mismatch');
    assert.match(other.body.error.message, /bound to another client certificate/);
    assert.equal((await api(h.relay, 'GET', '/vms', { token, cert: certOf(token)! })).status, 200);
    const refused = await h.relay.store.audit.query({ type: 'token.refused', descending: true, limit: 2 });
    assert.deepEqual(
      refused.map((e) => e.data.reason),
      ['token presented with another certificate', 'token presented without its certificate'],
    );
  });

  test('junk, forged and missing access tokens are refused and audited without trusting what they name', async () => {
    const token = await login(h.relay, h.alice);
    const [header, payload] = token.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(86)}`;
    for (const junk of ['not-a-jwt', forged, undefined]) {
      const r = await api(h.relay, 'GET', '/vms', { ...(junk ? { token: junk } : {}), cert: certOf(token)! });
      assert.equal(r.status, 401);
      assert.equal(r.body.error.code, 'unauthenticated');
    }
    const refused = await h.relay.store.audit.query({ type: 'token.refused', descending: true, limit: 3 });
    assert.deepEqual(
      refused.map((e) => [e.actor, e.outcome, e.source, e.data.reason, e.data.path]),
      [
        ['anonymous', 'failure', '127.0.0.1', 'no token', '/vms'],
        ['anonymous', 'failure', '127.0.0.1', 'invalid token', '/vms'],
        ['anonymous', 'failure', '127.0.0.1', 'invalid token', '/vms'],
      ],
    );
  });

  test('a token expires with the clock', async () => {
    const token = await login(h.relay, h.alice);
    h.clock.advance(30 * 60 * 1000 + 10_000);
    const res = await api(h.relay, 'GET', '/vms', { token });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'token_expired');
  });

  test('every failure and success is in the audit log with its reason', async () => {
    const entries = await h.relay.store.audit.query({ type: 'login.failure' });
    const reasons = new Set(entries.map((e) => e.data.reason));
    for (const r of ['challenge unknown', 'bad signature', 'unknown device', 'totp reused_code', 'totp wrong_code'])
      assert.ok(reasons.has(r), `audit has "${r}" (has: ${[...reasons].join(', ')})`);
    assert.ok((await h.relay.store.audit.query({ type: 'login.success' })).length >= 3);
  });
});

describe('login: rate limits and lockout', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ loginMaxFailuresPerUser: 3, maxFailuresPerSource: 50, lockoutSeconds: 600 });
  });
  after(() => h.close());

  test('brute force on one user locks the account; the right code is refused while locked', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await loginWith(h.relay, h.alice, { totp: '000000' });
      assert.equal(r.status, 401, `attempt ${i + 1}`);
    }
    const locked = await loginWith(h.relay, h.alice);
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error.code, 'rate_limited');
    assert.match(locked.body.error.message, /too many failed logins for "alice".*locked for 10 min/);
    // The clock moved one TOTP step (30 s) for the attempt itself.
    assert.equal(locked.headers.get('retry-after'), '570');
    // Another user from the same address is not locked out by alice's failures.
    assert.equal((await loginWith(h.relay, h.bob)).status, 200);
    const audit = await h.relay.store.audit.query({ type: 'login.failure', actor: 'user:alice' });
    assert.ok(audit.some((e) => e.data.lockout === 'started'));
    assert.ok(audit.some((e) => e.data.reason === 'locked out'));
    h.clock.advance(601_000);
    assert.equal((await loginWith(h.relay, h.alice)).status, 200, 'the lockout ends');
  });

  test('logging in again with a code already used is not a failure: it never locks the account', async () => {
    const code = nextTotp(h.relay, h.bob);
    assert.equal((await loginWith(h.relay, h.bob, { totp: code })).status, 200);
    for (let i = 0; i < 6; i++) {
      const again = await loginWith(h.relay, h.bob, { totp: code });
      assert.equal(again.status, 401, `attempt ${i + 1}`);
      assert.equal(again.body.error.code, 'totp_reused');
    }
    assert.equal(await h.relay.store.loginLockouts.lockedUntil('bob', new Date(h.clock.nowMs())), undefined);
    assert.equal((await loginWith(h.relay, h.bob)).status, 200, 'the next code works at once');
    const reused = await h.relay.store.audit.query({ type: 'login.failure', actor: 'user:bob' });
    assert.equal(reused.filter((e) => e.data.reason === 'totp reused_code').length, 6, 'each one is audited');
    assert.ok(!reused.some((e) => e.data.lockout));
  });
});

describe('refused access tokens: audited within a budget per source', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ refusedUpgradesPerMinute: 5 });
  });
  after(() => h.close());

  test('a flood of junk tokens grows the audit log by the budget and one note, not by the flood', async () => {
    const before = (await h.relay.store.audit.last())?.seq ?? 0;
    for (let i = 0; i < 40; i++) {
      const r = await api(h.relay, 'GET', '/vms', { token: `junk-${i}` });
      assert.equal(r.status, 401, 'every one is still refused');
    }
    const added = await h.relay.store.audit.query({ afterSeq: before, limit: 1000 });
    assert.deepEqual(
      added.map((e) => e.type),
      [...Array.from({ length: 5 }, () => 'token.refused'), 'audit.refusals_suppressed'],
    );
    assert.equal(added.at(-1)!.source, '127.0.0.1');
    assert.match(String(added.at(-1)!.data.reason), /not audited one by one/);
  });
});

describe('login: knowing a user name is not enough to lock the account', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      loginMaxFailuresPerUser: 3,
      maxFailuresPerSource: 4,
      lockoutSeconds: 600,
      revocationCheckMs: 100,
    });
  });
  after(() => h.close());

  /** A login from `localAddress` (127.0.0.x: each one is another source address to the relay). */
  const loginFrom = async (localAddress: string, body: Record<string, unknown>, cert: ClientCert) => {
    const nonce = (await postFrom(h.relay, localAddress, '/login/challenge', { user: body.user }, cert)).body.nonce;
    return postFrom(h.relay, localAddress, '/login', { ...body, nonce }, cert);
  };

  test('bad signatures and unknown devices for bob, from several addresses, lock the addresses, not bob', async () => {
    const cert = await mintCert();
    const zeroSignature = Buffer.alloc(64).toString('base64');
    const forged = (deviceId: string) => ({
      user: 'bob',
      deviceId,
      certThumbprint: cert.thumbprint,
      signature: zeroSignature,
      totp: '123456',
    });
    const sources = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
    for (let i = 0; i < 9; i++) {
      const r = await loginFrom(sources[i % 3]!, forged(i % 2 ? crypto.randomUUID() : h.bob.deviceId), cert);
      assert.equal(r.status, 401, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'login_failed');
    }
    // A fourth failure from one address locks that address (4 per source here) …
    assert.equal((await loginFrom('127.0.0.2', forged(crypto.randomUUID()), cert)).status, 401);
    const lockedSource = await loginFrom('127.0.0.2', forged(h.bob.deviceId), cert);
    assert.equal(lockedSource.status, 429);
    assert.match(lockedSource.body.error.message, /from your address/);
    // … but bob, from his own address, logs in with his device and a code.
    assert.equal(await h.relay.store.loginLockouts.lockedUntil('bob', new Date(h.clock.nowMs())), undefined);
    const bob = await loginWith(h.relay, h.bob);
    assert.equal(bob.status, 200, JSON.stringify(bob.body));

    const audited = await h.relay.store.audit.query({ type: 'login.failure', actor: 'user:bob' });
    const bySource = new Map<string, string[]>();
    for (const e of audited) bySource.set(e.source!, [...(bySource.get(e.source!) ?? []), String(e.data.reason)]);
    for (const s of sources) assert.ok((bySource.get(s)?.length ?? 0) >= 3, `failures from ${s} are audited`);
    assert.ok(audited.some((e) => e.data.reason === 'bad signature'));
    assert.ok(audited.some((e) => e.data.reason === 'unknown device'));
    assert.ok(audited.some((e) => e.source === '127.0.0.2' && e.data.reason === 'locked out'));
  });

  test("an administrator unlocks a locked-out address in the running relay; another address's lockout stays", async () => {
    const cert = await mintCert();
    const forged = {
      user: 'bob',
      deviceId: crypto.randomUUID(),
      certThumbprint: cert.thumbprint,
      signature: Buffer.alloc(64).toString('base64'),
      totp: '123456',
    };
    for (const source of ['127.0.0.5', '127.0.0.6'])
      for (let i = 0; i < 4; i++) assert.equal((await loginFrom(source, forged, cert)).status, 401);
    for (const source of ['127.0.0.5', '127.0.0.6'])
      assert.equal((await loginFrom(source, forged, cert)).status, 429, `${source} is locked out`);

    const token = await adminToken(h.relay, ['audit.read']);
    const lockedOut = async () =>
      (await api<{ sources: HeldSource[] }>(h.relay, 'GET', '/admin/sources', { token })).body.sources
        .filter((s) => s.limit === 'failed-attempts' && ['127.0.0.5', '127.0.0.6'].includes(s.source))
        .map((s) => s.source)
        .sort();
    assert.deepEqual(await lockedOut(), ['127.0.0.5', '127.0.0.6']);

    const unlocked = await h.relay.admin.unlockSource('cli:helpdesk', '127.0.0.5');
    assert.deepEqual(unlocked, { ok: true, value: { source: '127.0.0.5', network: '127.0.0.5', every: false } });
    // The relay reads the request from the store (where the admin CLI, another process, writes it).
    // Every attempt costs the address two requests of its budget, so not asked more often than that.
    const unlockedYet = async () => {
      if ((await loginFrom('127.0.0.5', forged, cert)).status === 401) return true;
      await new Promise((r) => setTimeout(r, 100));
      return false;
    };
    await waitFor(unlockedYet, 'the address unlocked');
    assert.equal((await loginFrom('127.0.0.6', forged, cert)).status, 429, 'the other address stays locked out');
    assert.deepEqual(await lockedOut(), ['127.0.0.6']);
    const [entry] = await h.relay.store.audit.query({ type: 'admin.source.unlock', descending: true, limit: 1 });
    assert.equal(entry?.actor, 'cli:helpdesk');
    assert.deepEqual(entry?.data, { source: '127.0.0.5', network: '127.0.0.5' });

    const refused = await h.relay.admin.unlockSource('cli:helpdesk', 'lab-gateway');
    assert.equal(refused.ok, false);
    assert.match(
      !refused.ok ? refused.error.message : '',
      /must be an IP address, as the audit log names the source, or "all"/,
    );
  });

  test('a wrong code from the holder of the device key still counts against the user', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await loginWith(h.relay, h.alice, { totp: '000000' })).status, 401);
    const locked = await loginWith(h.relay, h.alice);
    assert.equal(locked.status, 429);
    assert.match(
      locked.body.error.message,
      /locked for 10 min — wait, or ask an admin to unlock it \(airlock-relay user unlock alice\)/,
    );
    // An outsider trying alice's name learns nothing about the lock: still the plain refusal.
    const cert = await mintCert();
    const outsider = await loginFrom(
      '127.0.0.5',
      {
        user: 'alice',
        deviceId: h.alice.deviceId,
        certThumbprint: cert.thumbprint,
        signature: Buffer.alloc(64).toString('base64'),
        totp: '123456',
      },
      cert,
    );
    assert.equal(outsider.status, 401);
    assert.equal(outsider.body.error.code, 'login_failed');
  });
});

/** POST over TLS from a chosen local address (the relay's tests reach it on 127.0.0.1). */
async function postFrom(
  relay: Harness['relay'],
  localAddress: string,
  path: string,
  body: unknown,
  cert: ClientCert,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test bodies are inspected loosely
): Promise<{ status: number; body: any }> {
  const url = new URL(API_PREFIX + path, relay.url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: 'POST',
        localAddress,
        cert: cert.certPem,
        key: cert.keyPem,
        // The pin is not what this test is about; the relay's certificate is self-signed.
        rejectUnauthorized: false,
        headers: { 'content-type': 'application/json' },
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
