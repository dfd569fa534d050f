import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sshFingerprintFromPem, verifyLogin, signLogin } from '@airlock/shared';
import { keyFingerprint } from '@airlock/shared/ssh';
import { airlockHome, airlockPaths } from './paths.js';
import { UserKeyStore } from './user-key-store.js';

async function tempHome(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'airlock-keys-')), 'home');
}

test('AIRLOCK_HOME decides where everything lives', () => {
  assert.equal(airlockHome({ AIRLOCK_HOME: '/tmp/x' }), '/tmp/x');
  assert.match(airlockHome({}), /\.airlock$/);
  assert.equal(airlockPaths('/tmp/x').userKey, '/tmp/x/user-key.pem');
  assert.equal(airlockPaths('/tmp/x').session, '/tmp/x/session.json');
});

test('generate saves an ECDSA P-256 key 0600 in a 0700 folder; load returns the same key', async () => {
  const home = await tempHome();
  try {
    const store = new UserKeyStore(airlockPaths(home));
    assert.equal(await store.exists(), false);
    const generated = await store.generate();
    assert.ok(generated.ok);
    assert.equal(await store.mode(), 0o600);
    assert.equal((await stat(home)).mode & 0o777, 0o700);
    assert.equal(generated.value.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');

    const loaded = await store.load();
    assert.ok(loaded.ok);
    assert.equal(loaded.value.fingerprint, generated.value.fingerprint);
    assert.equal(loaded.value.publicKeyPem, generated.value.publicKeyPem);
    assert.match(loaded.value.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(sshFingerprintFromPem(loaded.value.publicKeyPem), loaded.value.fingerprint);
    // The SSH form of the key has the same fingerprint the relay computes from the PEM.
    assert.equal(await keyFingerprint(await loaded.value.sshKeyPair()), loaded.value.fingerprint);
    // And it signs a login the relay can verify.
    const sig = signLogin(loaded.value.privateKey, 'alice', 'n'.repeat(32));
    assert.ok(verifyLogin(loaded.value.publicKeyPem, 'alice', 'n'.repeat(32), sig));
  } finally {
    await rm(join(home, '..'), { recursive: true, force: true });
  }
});

test('generate never overwrites; missing and garbage key files are typed errors', async () => {
  const home = await tempHome();
  try {
    const store = new UserKeyStore(airlockPaths(home));
    const missing = await store.load();
    assert.ok(!missing.ok);
    assert.equal(missing.error.code, 'no_user_key');
    const first = await store.generate();
    assert.ok(first.ok);
    const second = await store.generate();
    assert.ok(!second.ok);
    assert.equal(second.error.code, 'user_key_exists');
    await writeFile(airlockPaths(home).userKey, 'not a key');
    const garbage = await store.load();
    assert.ok(!garbage.ok);
    assert.equal(garbage.error.code, 'user_key_unreadable');
  } finally {
    await rm(join(home, '..'), { recursive: true, force: true });
  }
});
