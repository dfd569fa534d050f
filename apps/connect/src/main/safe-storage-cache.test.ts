import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SafeStorageSecretCache } from './safe-storage-cache.js';
import { fakeSafeStorage } from './test-support/fake-electron.js';

test('safeStorage keeps the unlock key sealed in a 0600 file, per home and user', async () => {
  const home = await mkdtemp(join(tmpdir(), 'airlock-safe-'));
  try {
    const storage = fakeSafeStorage('gnome_libsecret');
    const cache = new SafeStorageSecretCache(storage, home, 'alice');
    assert.equal(cache.backend, 'Electron safeStorage (gnome_libsecret)');
    assert.deepEqual(await cache.status(), { available: true });
    assert.deepEqual(await cache.get(), { ok: true, value: undefined });
    const key = Buffer.alloc(32, 0xab);
    assert.deepEqual(await cache.set(key), { ok: true, value: undefined });
    const [file] = await readdir(home);
    assert.ok(file && !file.includes('alice'), 'the user is not named in clear');
    assert.equal((await stat(join(home, file))).mode & 0o777, 0o600);
    assert.ok(!(await readFile(join(home, file), 'utf8')).includes(key.toString('base64')), 'sealed, not in clear');
    const got = await cache.get();
    assert.ok(got.ok && got.value?.equals(key));
    const bob = await new SafeStorageSecretCache(storage, home, 'bob').get();
    assert.deepEqual(bob, { ok: true, value: undefined }, "another user's entry is separate");
    assert.deepEqual(await cache.delete(), { ok: true, value: true });
    assert.deepEqual(await cache.delete(), { ok: true, value: false });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('the basic_text backend (no keyring) and no encryption at all: nothing is remembered, and it says why', async () => {
  const home = await mkdtemp(join(tmpdir(), 'airlock-safe-'));
  try {
    const basic = fakeSafeStorage('basic_text');
    const cache = new SafeStorageSecretCache(basic, home, 'alice');
    assert.equal(cache.backend, 'Electron safeStorage (basic_text)');
    const status = await cache.status();
    assert.ok(!status.available && /basic_text/.test(status.reason));
    const set = await cache.set(Buffer.alloc(32));
    assert.ok(!set.ok && set.error.code === 'keychain_unavailable' && /basic_text/.test(set.error.message));
    assert.equal(basic.sealed, 0, 'nothing was sealed with a fixed key');
    assert.deepEqual(await readdir(home), []);
    const none = new SafeStorageSecretCache(fakeSafeStorage(undefined, false), home, 'alice');
    assert.equal((await none.status()).available, false);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
