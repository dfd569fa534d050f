import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sshFingerprintFromPem } from '@airlock/shared';
import { keyFingerprint } from '@airlock/shared/ssh';
import { airlockHome, airlockPaths } from '../paths.js';
import { UserKeyStore } from './user-key-store.js';

const FAST = { scryptN: 2 ** 14 };

async function tempHome(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'airlock-keys-')), 'home');
}

test('AIRLOCK_HOME decides where everything lives', () => {
  assert.equal(airlockHome({ AIRLOCK_HOME: '/tmp/x' }), '/tmp/x');
  assert.match(airlockHome({}), /\.airlock$/);
  assert.equal(airlockPaths('/tmp/x').userKey, '/tmp/x/user-key.json');
  assert.equal(airlockPaths('/tmp/x').userPublicKey, '/tmp/x/user-key.pub.pem');
  assert.equal(airlockPaths('/tmp/x').session, '/tmp/x/session.json');
});

test('generate saves an encrypted ECDSA P-256 key 0600 in a 0700 folder; the password opens it', async () => {
  const home = await tempHome();
  try {
    const store = new UserKeyStore(airlockPaths(home), FAST);
    assert.equal(await store.exists(), false);
    const generated = await store.generate('a good password');
    assert.ok(generated.ok);
    assert.equal(await store.mode(), 0o600);
    assert.equal((await stat(home)).mode & 0o777, 0o700);
    const { key } = generated.value;
    assert.equal(key.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const text = await readFile(airlockPaths(home).userKey, 'utf8');
    assert.equal(JSON.parse(text).format, 'airlock-key');
    assert.doesNotMatch(text, /PRIVATE KEY/);
    assert.equal(await readFile(airlockPaths(home).userPublicKey, 'utf8'), key.publicKeyPem);

    // Locked: the public key and fingerprint are readable without the password.
    const pub = await store.publicKey();
    assert.ok(pub.ok);
    assert.equal(pub.value.fingerprint, key.fingerprint);
    assert.equal(pub.value.publicKeyPem, key.publicKeyPem);

    const loaded = await store.unlockWithPassword('a good password');
    assert.ok(loaded.ok);
    assert.equal(loaded.value.key.fingerprint, key.fingerprint);
    assert.match(loaded.value.key.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(sshFingerprintFromPem(loaded.value.key.publicKeyPem), loaded.value.key.fingerprint);
    assert.equal(await keyFingerprint(await loaded.value.key.sshKeyPair()), loaded.value.key.fingerprint);
    const sig = sign('sha256', Buffer.from('challenge'), loaded.value.key.privateKey);
    assert.ok(verify('sha256', Buffer.from('challenge'), key.publicKeyPem, sig));

    // The unlock key alone opens it; a wrong password is a typed result.
    assert.ok((await store.unlockWithUnlockKey(generated.value.unlockKey)).ok);
    const wrong = await store.unlockWithPassword('not the password');
    assert.ok(!wrong.ok);
    assert.equal(wrong.error.code, 'wrong_password');
  } finally {
    await rm(join(home, '..'), { recursive: true, force: true });
  }
});

test('save never overwrites unless told; missing, garbage and old unencrypted key files are typed errors', async () => {
  const home = await tempHome();
  try {
    const paths = airlockPaths(home);
    const store = new UserKeyStore(paths, FAST);
    const missing = await store.unlockWithPassword('whatever1');
    assert.ok(!missing.ok);
    assert.equal(missing.error.code, 'no_user_key');

    await mkdir(home, { recursive: true });
    const legacy = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await writeFile(paths.legacyUserKey, legacy.export({ type: 'pkcs8', format: 'pem' }));
    const old = await store.publicKey();
    assert.ok(!old.ok);
    assert.equal(old.error.code, 'user_key_unencrypted');
    assert.match(old.error.message, /user-key\.pem is an unencrypted key from an older Airlock/);

    const first = await store.generate('password one');
    assert.ok(first.ok);
    const second = await store.generate('password two');
    assert.ok(!second.ok);
    assert.equal(second.error.code, 'user_key_exists');
    assert.ok((await store.unlockWithPassword('password one')).ok);
    const replaced = await store.save(legacy, 'password two', { overwrite: true });
    assert.ok(replaced.ok);
    assert.equal(await store.mode(), 0o600);
    assert.ok((await store.unlockWithPassword('password two')).ok);

    await writeFile(paths.userKey, 'not a key');
    const garbage = await store.unlockWithPassword('password two');
    assert.ok(!garbage.ok);
    assert.equal(garbage.error.code, 'user_key_unreadable');
    assert.match(garbage.error.message, /not valid JSON/);
  } finally {
    await rm(join(home, '..'), { recursive: true, force: true });
  }
});
