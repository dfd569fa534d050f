import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { certThumbprint, formatOneTimeCode } from '@airlock/shared';
import { ConfigStore, type Enrollment } from '../identity/config-store.js';
import { DeviceEnrollment, generateDeviceKey, parseEnrollmentInput } from '../enrollment/enroll.js';
import { credentialsOf, login } from './login.js';
import { airlockPaths } from '../paths.js';
import { RelayClient } from '../relay/relay-client.js';
import { startFakeRelay, totpFor, type FakeRelay } from '../test-support/fake-relay.js';
import { userKeyFromPrivateKey } from '../identity/user-key-store.js';

let relay: FakeRelay;
let home: string;
before(async () => {
  relay = await startFakeRelay({ ports: [8888], maxEnrollFailures: 3 });
  home = await mkdtemp(join(tmpdir(), 'airlock-login-'));
});
after(async () => {
  await relay.close();
  await rm(home, { recursive: true, force: true });
});

/** A code the relay's authenticator would not accept now (the current one, shifted). */
function wrongCode(right: string): string {
  return String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');
}

test('enrollment input: the code carries the pin; http:// and foreign codes are refused', () => {
  const code = relay.enrollmentCode('nobody');
  const parsed = parseEnrollmentInput(relay.url + '/', code);
  assert.ok(parsed.ok);
  assert.equal(parsed.value.pin, relay.pin);
  assert.equal(parsed.value.relayUrl, relay.url);
  const plain = parseEnrollmentInput(relay.url.replace('https', 'http'), code);
  assert.ok(!plain.ok && plain.error.code === 'bad_relay_url');
  const agent = parseEnrollmentInput(relay.url, formatOneTimeCode('agent', 'a'.repeat(43), relay.pin));
  assert.ok(!agent.ok && agent.error.code === 'bad_enrollment_code');
  assert.match(agent.error.message, /agent enrollment token/);
});

test('enroll then log in: wrong codes re-tried, token bound to the certificate on the connection', async () => {
  const target = parseEnrollmentInput(relay.url, relay.enrollmentCode('alice'));
  assert.ok(target.ok);
  const privateKey = generateDeviceKey();
  const enrollment = new DeviceEnrollment(target.value);
  let enrolled: Enrollment;
  try {
    const begun = await enrollment.begin(privateKey, 'laptop (test)');
    assert.ok(begun.ok, !begun.ok ? begun.error.message : '');
    assert.equal(begun.value.user, 'alice');
    assert.ok(begun.value.totp, 'a first enrollment sets up TOTP');
    const totp = totpFor(begun.value.totp.secretBase32);

    const wrong = await enrollment.complete(begun.value.enrollmentId, privateKey, wrongCode(totp.generate()));
    assert.ok(!wrong.ok && wrong.error.code === 'enrollment_failed');
    assert.equal(wrong.error.voided, false);

    const done = await enrollment.complete(begun.value.enrollmentId, privateKey, totp.generate());
    assert.ok(done.ok, !done.ok ? done.error.message : '');
    enrolled = { relayUrl: relay.url, relayPin: relay.pin, user: 'alice', deviceId: done.value.deviceId };
    assert.equal(relay.devices.get(done.value.deviceId)?.user, 'alice');
  } finally {
    await enrollment.close();
  }

  const store = new ConfigStore(airlockPaths(home));
  const key = userKeyFromPrivateKey(privateKey);
  const totp = totpFor(relay.totpSecret('alice')!);
  const badCode = await login({ enrollment: enrolled, key, totp: wrongCode(totp.generate()), store });
  assert.ok(!badCode.ok);
  assert.equal(badCode.error.code, 'totp_failed');

  const before = relay.seen.http.length;
  const good = await login({ enrollment: enrolled, key, totp: totp.generate(), store });
  assert.ok(good.ok, !good.ok ? good.error.message : '');
  const thumbprint = certThumbprint(good.value.clientCertPem);
  const loginRequest = relay.seen.http.slice(before).find((r) => r.path === '/api/v1/login')!;
  assert.equal(loginRequest.thumbprint, thumbprint, 'the login connection presents the minted certificate');
  assert.equal((JSON.parse(loginRequest.body) as { certThumbprint: string }).certThumbprint, thumbprint);
  assert.equal((await stat(airlockPaths(home).session)).mode & 0o777, 0o600);

  // The saved session: token, certificate and key, good for this enrollment only.
  const saved = await store.accessToken(enrolled);
  assert.ok(saved.ok);
  assert.equal(saved.value.accessToken, good.value.accessToken);
  assert.match(saved.value.clientKeyPem, /^-----BEGIN PRIVATE KEY-----/);
  const other = await store.accessToken({ ...enrolled, relayUrl: 'https://127.0.0.1:1' });
  assert.ok(!other.ok && other.error.code === 'not_logged_in');
  const later = await store.accessToken(enrolled, Date.now() + 3_600_000);
  assert.ok(!later.ok && later.error.code === 'token_expired');

  // The token works with its certificate and not without it.
  const credentials = credentialsOf(enrolled, saved.value);
  const withCert = new RelayClient({ endpoint: credentials.endpoint, token: credentials.token });
  const withoutCert = new RelayClient({ endpoint: { url: relay.url, pin: relay.pin }, token: credentials.token });
  try {
    assert.ok((await withCert.listVms()).ok);
    const refused = await withoutCert.listVms();
    assert.ok(!refused.ok);
    assert.equal(refused.error.code, 'certificate_mismatch');
  } finally {
    await withCert.close();
    await withoutCert.close();
  }
  const vmsRequest = relay.seen.http.filter((r) => r.path === '/api/v1/vms');
  assert.deepEqual(
    vmsRequest.map((r) => r.thumbprint),
    [thumbprint, undefined],
  );
});

test('an enrollment voided by too many wrong codes says so', async () => {
  const target = parseEnrollmentInput(relay.url, relay.enrollmentCode('bob'));
  assert.ok(target.ok);
  const privateKey = generateDeviceKey();
  const enrollment = new DeviceEnrollment(target.value);
  try {
    const begun = await enrollment.begin(privateKey, 'desk');
    assert.ok(begun.ok && begun.value.totp);
    const right = totpFor(begun.value.totp.secretBase32).generate();
    const results = [];
    for (let i = 0; i < 3; i++)
      results.push(await enrollment.complete(begun.value.enrollmentId, privateKey, wrongCode(right)));
    assert.deepEqual(
      results.map((r) => !r.ok && r.error.code === 'enrollment_failed' && r.error.voided),
      [false, false, true],
    );
    const again = new DeviceEnrollment(target.value);
    const reused = await again.begin(privateKey, 'desk');
    await again.close();
    assert.ok(!reused.ok && reused.error.code === 'enrollment_code_rejected');
  } finally {
    await enrollment.close();
  }
});
