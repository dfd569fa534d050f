import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { enrollSigningInput, parseOneTimeCode, signStatement } from '@airlock/shared';
import { totpCodeAt } from '../identity/totp.js';
import {
  api,
  enrollDevice,
  loginWith,
  newDeviceKey,
  nextTotp,
  startHarness,
  type Harness,
} from '../test-support/harness.js';

describe('enrollment', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ maxFailuresPerSource: 1000 });
  });
  after(() => h.close());

  const newCode = async (name: string) => {
    const created = await h.relay.admin.createUser('test', name);
    assert.ok(created.ok);
    const parsed = parseOneTimeCode(created.value.enrollment.code, 'user');
    assert.ok(parsed.ok);
    assert.equal(parsed.value.pin, h.relay.tls.pin, 'the code carries the relay pin');
    return { code: created.value.enrollment.code, secret: parsed.value.secret };
  };
  const begin = (secret: string, key = newDeviceKey()) =>
    api(h.relay, 'POST', '/enroll/begin', {
      body: { code: secret, publicKeyPem: key.publicKeyPem, deviceName: 'laptop' },
    });

  test('a code is single use, and a new user gets a TOTP secret to set up', async () => {
    const { secret } = await newCode('carol');
    const first = await begin(secret);
    assert.equal(first.status, 200);
    assert.equal(first.body.user, 'carol');
    assert.match(first.body.totp.uri, /^otpauth:\/\/totp\/Airlock:carol%40127\.0\.0\.1\?.*secret=/);
    const again = await begin(secret);
    assert.equal(again.status, 401);
    assert.equal(again.body.error.code, 'enrollment_code_rejected');
    assert.match(again.body.error.message, /already used/);
    const audit = await h.relay.store.audit.query({ type: 'enroll.begin', descending: true, limit: 1 });
    assert.equal(audit[0]!.data.reason, 'code used');
  });

  test('an expired code is refused', async () => {
    const { secret } = await newCode('dave');
    h.clock.advance(24 * 3600 * 1000 + 1000);
    const res = await begin(secret);
    assert.equal(res.status, 401);
    assert.match(res.body.error.message, /expired/);
  });

  test('completing needs the new key signature and a right code; five failures void the enrollment', async () => {
    const { secret } = await newCode('erin');
    const key = newDeviceKey();
    const started = await begin(secret, key);
    const id = started.body.enrollmentId as string;
    const totpSecret = started.body.totp.secretBase32 as string;
    const complete = (totp: string, signer = key.privateKey) =>
      api(h.relay, 'POST', '/enroll/complete', {
        body: { enrollmentId: id, totp, signature: signStatement(signer, enrollSigningInput(id)) },
      });
    const wrongSigner = await complete(nextTotp(h.relay, { totpSecret }), newDeviceKey().privateKey);
    assert.equal(wrongSigner.status, 401);
    assert.match(wrongSigner.body.error.message, /signature does not match/);
    for (let i = 0; i < 3; i++) assert.equal((await complete('000000')).status, 401);
    const fifth = await complete('000001');
    assert.equal(fifth.status, 401);
    assert.match(fifth.body.error.message, /enrollment is void/);
    const late = await complete(totpCodeAt(totpSecret, h.clock.nowMs()));
    assert.equal(late.status, 404);
    assert.match(late.body.error.message, /start again with a new enrollment code/);
  });

  test('completing an unknown or expired enrollment is audited, as it counts towards the source lockout', async () => {
    const key = newDeviceKey();
    const unknownId = '7d3c2b9e-55c4-4a44-9d1e-0c7f3b2a1e90';
    const unknown = await api(h.relay, 'POST', '/enroll/complete', {
      body: {
        enrollmentId: unknownId,
        totp: '123456',
        signature: signStatement(key.privateKey, enrollSigningInput(unknownId)),
      },
    });
    assert.equal(unknown.status, 404);
    const [last] = await h.relay.store.audit.query({ type: 'enroll.complete', descending: true, limit: 1 });
    assert.deepEqual(
      [last!.actor, last!.outcome, last!.data.reason, last!.data.enrollmentId],
      ['anonymous', 'failure', 'unknown enrollment', unknownId],
    );

    const { secret } = await newCode('gina');
    const started = await begin(secret, key);
    const id = started.body.enrollmentId as string;
    h.clock.advance(60 * 60 * 1000);
    const expired = await api(h.relay, 'POST', '/enroll/complete', {
      body: {
        enrollmentId: id,
        totp: nextTotp(h.relay, { totpSecret: started.body.totp.secretBase32 }),
        signature: signStatement(key.privateKey, enrollSigningInput(id)),
      },
    });
    assert.equal(expired.status, 404);
    const [after] = await h.relay.store.audit.query({ type: 'enroll.complete', descending: true, limit: 1 });
    assert.deepEqual(
      [after!.actor, after!.data.reason, after!.data.enrollmentId],
      ['user:gina', 'enrollment expired', id],
    );
  });

  test('a second device of an enrolled user confirms with the existing authenticator', async () => {
    const code = await h.relay.admin.newEnrollmentCode('test', 'alice');
    assert.ok(code.ok);
    const second = await enrollDevice(h.relay, 'alice', code.value.enrollment.code, h.alice.totpSecret);
    assert.notEqual(second.deviceId, h.alice.deviceId);
    assert.equal((await loginWith(h.relay, second)).status, 200);
  });

  test('an enrollment begun before the user was revoked cannot complete', async () => {
    const { secret } = await newCode('henry');
    const key = newDeviceKey();
    const started = await begin(secret, key);
    assert.equal(started.status, 200);
    assert.ok((await h.relay.admin.revokeUser('test', 'henry')).ok);
    assert.ok((await h.relay.admin.enableUser('test', 'henry')).ok, 'even once the user is enabled again');
    const id = started.body.enrollmentId as string;
    const res = await api(h.relay, 'POST', '/enroll/complete', {
      body: {
        enrollmentId: id,
        totp: nextTotp(h.relay, { totpSecret: started.body.totp.secretBase32 }),
        signature: signStatement(key.privateKey, enrollSigningInput(id)),
      },
    });
    assert.equal(res.status, 404);
    assert.deepEqual(await h.relay.store.devices.list({ user: 'henry' }), []);
  });

  test('a second pending enrollment cannot replace the TOTP secret another one confirmed', async () => {
    const { secret: first } = await newCode('ivy');
    const second = await h.relay.admin.newEnrollmentCode('test', 'ivy');
    assert.ok(second.ok);
    const secondSecret = parseOneTimeCode(second.value.enrollment.code, 'user');
    assert.ok(secondSecret.ok);
    const keyA = newDeviceKey();
    const keyB = newDeviceKey();
    const a = await begin(first, keyA);
    const b = await begin(secondSecret.value.secret, keyB);
    const complete = (started: typeof a, key: typeof keyA, totpSecret: string) =>
      api(h.relay, 'POST', '/enroll/complete', {
        body: {
          enrollmentId: started.body.enrollmentId,
          totp: nextTotp(h.relay, { totpSecret }),
          signature: signStatement(key.privateKey, enrollSigningInput(started.body.enrollmentId)),
        },
      });
    assert.equal((await complete(a, keyA, a.body.totp.secretBase32)).status, 200);
    const withOwnSecret = await complete(b, keyB, b.body.totp.secretBase32);
    assert.equal(withOwnSecret.status, 401, 'B must prove the secret A confirmed');
    assert.equal((await h.relay.store.users.getTotp('ivy'))?.secretBase32, a.body.totp.secretBase32);
    assert.equal((await complete(b, keyB, a.body.totp.secretBase32)).status, 200);
  });

  test('weak or foreign keys are refused with the field named', async () => {
    const { secret } = await newCode('frank');
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const res = await api(h.relay, 'POST', '/enroll/begin', {
      body: { code: secret, publicKeyPem: rsa2048, deviceName: 'old' },
    });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /^publicKeyPem: must be an ECDSA/);
    assert.equal((await begin(secret)).status, 200, 'a refused key does not burn the code');
  });

  test('an agent enrollment token is single use', async () => {
    const vm = await h.relay.admin.createVm('test', 'enroll-vm', [22]);
    assert.ok(vm.ok);
    const token = parseOneTimeCode(vm.value.agentEnrollment.token, 'agent');
    assert.ok(token.ok);
    const first = await api(h.relay, 'POST', '/agent/enroll', { body: { token: token.value.secret } });
    assert.equal(first.status, 200);
    assert.equal(first.body.vm, 'enroll-vm');
    assert.match(first.body.credential, /^enroll-vm\.[A-Za-z0-9_-]{43}$/);
    assert.equal(first.body.relaySigningKeyPem, h.relay.publicKeyPem);
    const reused = await api(h.relay, 'POST', '/agent/enroll', { body: { token: token.value.secret } });
    assert.equal(reused.status, 401);
    assert.equal(reused.body.error.code, 'enrollment_token_rejected');
    assert.match(reused.body.error.message, /already used/);
  });
});

describe('enrollment: guessing codes is rate limited per source', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ maxFailuresPerSource: 3 });
  });
  after(() => h.close());

  test('after the failures allowed per source, even a valid code waits', async () => {
    const key = newDeviceKey();
    for (let i = 0; i < 3; i++) {
      const r = await api(h.relay, 'POST', '/enroll/begin', {
        body: { code: 'A'.repeat(43), publicKeyPem: key.publicKeyPem, deviceName: 'x' },
      });
      assert.equal(r.status, 401);
    }
    const created = await h.relay.admin.createUser('test', 'gina');
    assert.ok(created.ok);
    const parsed = parseOneTimeCode(created.value.enrollment.code, 'user');
    assert.ok(parsed.ok);
    const res = await api(h.relay, 'POST', '/enroll/begin', {
      body: { code: parsed.value.secret, publicKeyPem: key.publicKeyPem, deviceName: 'x' },
    });
    assert.equal(res.status, 429);
    assert.match(res.body.error.message, /too many failed attempts from your address/);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
  });
});
