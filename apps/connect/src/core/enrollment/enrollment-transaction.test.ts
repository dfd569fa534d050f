import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ok } from '@airlock/shared';
import { ConfigStore } from '../identity/config-store.js';
import type { SecretCache } from '../identity/secret-cache.js';
import { UserKeyStore } from '../identity/user-key-store.js';
import { airlockPaths } from '../paths.js';
import { enrolledHome } from '../test-support/enrolled-home.js';
import { startFakeRelay, totpFor, type FakeRelay } from '../test-support/fake-relay.js';
import { EnrollmentTransaction } from './enrollment-transaction.js';

const PASSWORD = 'a long enough password';
let relay: FakeRelay;
let dir: string;
before(async () => {
  relay = await startFakeRelay({ maxEnrollFailures: 2 });
  dir = await mkdtemp(join(tmpdir(), 'airlock-enroll-tx-'));
});
after(async () => {
  await relay.close();
  await rm(dir, { recursive: true, force: true });
});

function filesIn(name: string) {
  const paths = airlockPaths(join(dir, name));
  return { paths, store: new ConfigStore(paths), keys: new UserKeyStore(paths, { scryptN: 2 ** 14 }) };
}

/** A secret cache in memory, recording what the transaction did with it. */
function memoryCache(): SecretCache & { value: Buffer | undefined; users: string[] } {
  const cache = {
    backend: 'memory',
    value: undefined as Buffer | undefined,
    users: [] as string[],
    status: async () => ({ available: true as const }),
    get: async () => ok(cache.value),
    set: async (v: Buffer) => ((cache.value = v), ok(undefined)),
    delete: async () => {
      const had = cache.value !== undefined;
      cache.value = undefined;
      return ok(had);
    },
  };
  return cache;
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );
const wrong = (right: string) => String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');

test('enroll as a transaction: setup as data, a wrong code tried again, the enrollment written', async () => {
  const f = filesIn('happy');
  const prepared = await EnrollmentTransaction.prepare(f, {
    relayUrl: relay.url,
    code: relay.enrollmentCode('carol'),
    deviceName: 'lab laptop',
  });
  assert.ok(prepared.ok, !prepared.ok ? prepared.error.message : '');
  const tx = prepared.value;
  const cache = memoryCache();
  try {
    assert.equal(tx.codeUsed, false);
    const weak = await tx.begin('short');
    assert.ok(!weak.ok && weak.error.code === 'password_rejected');
    assert.equal(tx.codeUsed, false, 'a refused password uses nothing up');

    const begun = await tx.begin(PASSWORD, { remember: true, secretCacheFor: (u) => (cache.users.push(u), cache) });
    assert.ok(begun.ok, !begun.ok ? begun.error.message : '');
    assert.equal(begun.value.user, 'carol');
    assert.deepEqual(cache.users, ['carol']);
    const setup = begun.value.totp;
    assert.ok(setup);
    assert.equal(setup.secret, relay.totpSecret('carol'));
    assert.ok(setup.qr.size >= 21 && setup.qr.modules.length === setup.qr.size);
    assert.equal((await stat(f.paths.userKey)).mode & 0o777, 0o600);
    assert.ok(cache.value, 'the unlock key is remembered');

    const code = totpFor(setup.secret).generate();
    const miss = await tx.confirm(wrong(code));
    assert.ok(!miss.ok);
    assert.equal(miss.error.retryable, true);
    assert.ok(await exists(f.paths.userKey), 'a wrong code keeps the key for the next try');

    const done = await tx.confirm(code);
    assert.ok(done.ok, !done.ok ? done.error.message : '');
    assert.equal(done.value.user, 'carol');
    assert.equal(done.value.deviceName, 'lab laptop');
    assert.equal(done.value.remembered, true);
    assert.match(done.value.fingerprint, /^SHA256:/);
    const config = await f.store.readConfig();
    assert.deepEqual(config, {
      relayUrl: relay.url,
      relayPin: relay.pin,
      user: 'carol',
      deviceId: done.value.deviceId,
    });
    await tx.abort();
    assert.ok((await exists(f.paths.userKey)) && cache.value, 'abort after success changes nothing');
  } finally {
    await tx.close();
  }
});

test('a voided enrollment is undone: no key left behind, the remembered unlock forgotten', async () => {
  const f = filesIn('voided');
  const prepared = await EnrollmentTransaction.prepare(f, { relayUrl: relay.url, code: relay.enrollmentCode('dan') });
  assert.ok(prepared.ok);
  const tx = prepared.value;
  const cache = memoryCache();
  try {
    const begun = await tx.begin(PASSWORD, { remember: true, secretCacheFor: () => cache });
    assert.ok(begun.ok && begun.value.totp);
    const bad = wrong(totpFor(begun.value.totp.secret).generate());
    const first = await tx.confirm(bad);
    assert.ok(!first.ok && first.error.retryable);
    const second = await tx.confirm(bad);
    assert.ok(!second.ok);
    assert.equal(second.error.code, 'enrollment_failed');
    assert.ok(!second.error.retryable);
    assert.equal(await exists(f.paths.userKey), false);
    assert.equal(await exists(f.paths.userPublicKey), false);
    assert.equal(cache.value, undefined);
    assert.deepEqual(await f.store.readConfig(), {});
    const again = await tx.confirm('123456');
    assert.ok(!again.ok && again.error.code === 'enrollment_state');
  } finally {
    await tx.close();
  }
});

test('an enrolled device is refused unless replaced; abandoning a replacement puts the old key back', async () => {
  const f = filesIn('replace');
  await enrolledHome(relay, f.paths.home, { user: 'erin', login: false });
  const before = await readFile(f.paths.userKey, 'utf8');
  const refused = await EnrollmentTransaction.prepare(f, { relayUrl: relay.url, code: relay.enrollmentCode('erin') });
  assert.ok(!refused.ok);
  assert.equal(refused.error.code, 'already_enrolled');
  assert.match(refused.error.message, /already enrolled as erin on https:\/\/127\.0\.0\.1:\d+/);

  const prepared = await EnrollmentTransaction.prepare(f, {
    relayUrl: relay.url,
    code: relay.enrollmentCode('erin'),
    replace: true,
  });
  assert.ok(prepared.ok);
  const tx = prepared.value;
  try {
    const begun = await tx.begin(PASSWORD);
    assert.ok(begun.ok);
    assert.equal(begun.value.totp, null, 'erin has an authenticator already');
    assert.notEqual(await readFile(f.paths.userKey, 'utf8'), before);
    await tx.abort();
    assert.equal(await readFile(f.paths.userKey, 'utf8'), before);
    assert.equal((await stat(f.paths.userKey)).mode & 0o777, 0o600);
  } finally {
    await tx.close();
  }
});

test('a bad code or an unreachable relay is refused before anything is sent or written', async () => {
  const f = filesIn('early');
  const bad = await EnrollmentTransaction.prepare(f, { relayUrl: relay.url, code: 'u1.nonsense' });
  assert.ok(!bad.ok && bad.error.code === 'bad_enrollment_code');
  const code = relay.enrollmentCode('fay');
  const unreachable = await EnrollmentTransaction.prepare(f, { relayUrl: 'https://127.0.0.1:1', code });
  assert.ok(!unreachable.ok && unreachable.error.code === 'relay_unreachable');
  const badName = await EnrollmentTransaction.prepare(f, { relayUrl: relay.url, code, deviceName: 'x/y' });
  assert.ok(!badName.ok && badName.error.code === 'bad_device_name');
  assert.equal(await exists(f.paths.home), false, 'nothing written');
});
