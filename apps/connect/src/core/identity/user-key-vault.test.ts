import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigStore } from './config-store.js';
import { KeychainCache, type KeytarLike } from './keytar-secret-cache.js';
import { airlockPaths } from '../paths.js';
import { PromptError, type Prompter } from './prompter.js';
import { UserKeyStore } from './user-key-store.js';
import { UserKeyVault } from './user-key-vault.js';

const N = 2 ** 14;
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'airlock-vault-'));
  dirs.push(d);
  return d;
}

async function vaultIn(home: string) {
  const paths = airlockPaths(home);
  return new UserKeyVault(new UserKeyStore(paths, { scryptN: N }), new ConfigStore(paths));
}

/** Answers prompts from a list, records what was asked and said; an exhausted list cancels. */
class ScriptedPrompter implements Prompter {
  readonly asked: string[] = [];
  readonly said: string[] = [];
  constructor(private readonly answers: string[]) {}
  async password(prompt: string): Promise<string> {
    this.asked.push(prompt);
    const a = this.answers.shift();
    if (a === undefined) throw new PromptError({ code: 'cancelled', message: 'cancelled' });
    return a;
  }
  text(prompt: string): Promise<string> {
    return this.password(prompt);
  }
  info(message: string): void {
    this.said.push(message);
  }
}

/** An in-memory keychain behind keytar's interface (the real one is tested in keychain.test.ts). */
function memoryKeytar(): KeytarLike & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return {
    entries,
    getPassword: async (s, a) => entries.get(`${s}/${a}`) ?? null,
    setPassword: async (s, a, p) => void entries.set(`${s}/${a}`, p),
    deletePassword: async (s, a) => entries.delete(`${s}/${a}`),
  };
}

const privateKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

test('unlock asks the password up to three times, saying "wrong password" each time', async () => {
  const vault = await vaultIn(join(await tempDir(), 'home'));
  const created = await vault.create(
    privateKey().export({ type: 'pkcs8', format: 'pem' }).toString(),
    'right password',
  );
  assert.ok(created.ok);

  const p = new ScriptedPrompter(['nope', 'still nope', 'right password']);
  const unlocked = await vault.unlock(p);
  assert.ok(unlocked.ok);
  assert.equal(unlocked.value.source, 'password');
  assert.equal(unlocked.value.key.fingerprint, created.value.key.fingerprint);
  assert.deepEqual(p.said, ['wrong password; try again', 'wrong password; try again']);
  assert.equal(p.asked.length, 3);
  assert.match(p.asked[0]!, /^Password for your Airlock key SHA256:/);

  const three = new ScriptedPrompter(['a', 'b', 'c', 'right password']);
  const failed = await vault.unlock(three);
  assert.ok(!failed.ok);
  assert.equal(failed.error.code, 'wrong_password');
  assert.equal(three.asked.length, 3);
  assert.deepEqual(three.said.at(-1), 'wrong password');

  const cancelled = await vault.unlock(new ScriptedPrompter([]));
  assert.deepEqual(cancelled, { ok: false, error: { code: 'cancelled', message: 'cancelled' } });
});

test('remember on this device: the keychain holds the unlock key (not the password) and skips the prompt', async () => {
  const home = join(await tempDir(), 'home');
  const vault = await vaultIn(home);
  const keytar = memoryKeytar();
  const keychain = new KeychainCache({ home, user: 'alice', keytar });
  const created = await vault.create(privateKey(), 'right password', { keychain, remember: true });
  assert.ok(created.ok);
  assert.equal(created.value.remembered, true);
  const stored = [...keytar.entries.entries()];
  assert.equal(stored.length, 1);
  assert.equal(stored[0]![0], `airlock/unlock-key:alice@${home}`);
  assert.equal(Buffer.from(stored[0]![1], 'base64').length, 32);
  assert.ok(!stored[0]![1].includes('right password'));

  const silent = await vault.unlock(new ScriptedPrompter([]), { keychain });
  assert.ok(silent.ok);
  assert.equal(silent.value.source, 'keychain');

  // Password changed: the remembered key is replaced and still works.
  const changed = await vault.changePassword('right password', 'new password', { keychain });
  assert.ok(changed.ok);
  assert.equal(changed.value.keychain, 'updated');
  assert.equal((await vault.unlock(new ScriptedPrompter([]), { keychain })).ok, true);

  // A stale entry (e.g. the password changed on a copy elsewhere) is dropped and the password asked.
  await keychain.set(Buffer.alloc(32, 7));
  const p = new ScriptedPrompter(['new password']);
  const asked = await vault.unlock(p, { keychain });
  assert.ok(asked.ok);
  assert.equal(asked.value.source, 'password');
  assert.equal(asked.value.remembered, false);
  assert.match(p.said[0]!, /no longer fits/);
  assert.equal(keytar.entries.size, 0);
});

test('change password: the old one stops working, the new one works, fresh salt', async () => {
  const home = join(await tempDir(), 'home');
  const vault = await vaultIn(home);
  assert.ok((await vault.create(privateKey(), 'old password')).ok);
  const before = JSON.parse(await readFile(airlockPaths(home).userKey, 'utf8'));
  const wrong = await vault.changePassword('not it', 'new password');
  assert.ok(!wrong.ok);
  assert.equal(wrong.error.code, 'wrong_password');
  const changed = await vault.changePassword('old password', 'new password');
  assert.ok(changed.ok);
  assert.equal(changed.value.keychain, 'untouched');
  const afterFile = JSON.parse(await readFile(airlockPaths(home).userKey, 'utf8'));
  assert.notEqual(afterFile.kdf.salt, before.kdf.salt);
  assert.notEqual(afterFile.cipher.iv, before.cipher.iv);
  assert.equal((await stat(airlockPaths(home).userKey)).mode & 0o777, 0o600);
  assert.equal((await vault.verifyPassword('old password')).ok, false);
  const now = await vault.verifyPassword('new password');
  assert.ok(now.ok);
  assert.equal(now.value.fingerprint, changed.value.key.fingerprint);
});

test('backup: export, then import on another home restores the same key and the settings', async () => {
  const dir = await tempDir();
  const homeA = join(dir, 'a');
  const homeB = join(dir, 'b');
  const a = await vaultIn(homeA);
  const created = await a.create(privateKey(), 'password on A');
  assert.ok(created.ok);
  const backup = join(dir, 'airlock-backup.json');
  const settings = {
    relayUrl: 'https://relay.example.org',
    relayPin: 'sha256/' + 'A'.repeat(43) + '=',
    user: 'alice',
    deviceId: randomUUID(),
  };
  const exported = await a.exportBackup(created.value.key, backup, 'backup password', settings, { scryptN: N });
  assert.ok(exported.ok);
  assert.equal((await stat(backup)).mode & 0o777, 0o600);
  const text = await readFile(backup, 'utf8');
  assert.equal(JSON.parse(text).format, 'airlock-backup');
  for (const secretish of ['alice', 'relay.example.org', settings.deviceId, 'PRIVATE'])
    assert.ok(!text.includes(secretish));
  const again = await a.exportBackup(created.value.key, backup, 'backup password', settings, { scryptN: N });
  assert.equal(!again.ok && again.error.code, 'backup_exists');

  const b = await vaultIn(homeB);
  const wrong = await b.importBackup(backup, 'not the backup password', 'password on B');
  assert.ok(!wrong.ok);
  assert.equal(wrong.error.code, 'wrong_password');
  assert.equal(await b.store.exists(), false);

  const imported = await b.importBackup(backup, 'backup password', 'password on B');
  assert.ok(imported.ok, JSON.stringify(imported));
  assert.deepEqual(imported.value.config, settings);
  assert.equal(imported.value.key.fingerprint, created.value.key.fingerprint);
  assert.equal((await stat(airlockPaths(homeB).userKey)).mode & 0o777, 0o600);
  const config = JSON.parse(await readFile(airlockPaths(homeB).config, 'utf8'));
  assert.deepEqual(config, settings);

  // The imported key (opened with B's own password) signs what A's public key verifies.
  const onB = await b.verifyPassword('password on B');
  assert.ok(onB.ok);
  assert.equal((await b.verifyPassword('password on A')).ok, false);
  const challenge = Buffer.from('a login challenge');
  const sig = sign('sha256', challenge, onB.value.privateKey);
  assert.ok(verify('sha256', challenge, created.value.key.publicKeyPem, sig));
  assert.deepEqual(
    onB.value.privateKey.export({ type: 'pkcs8', format: 'der' }),
    created.value.key.privateKey.export({ type: 'pkcs8', format: 'der' }),
  );
});

test('import refuses to replace an existing key unless forced; bad backup files are typed errors', async () => {
  const dir = await tempDir();
  const source = await vaultIn(join(dir, 'src'));
  const created = await source.create(privateKey(), 'source password');
  assert.ok(created.ok);
  const backup = join(dir, 'backup.json');
  assert.ok((await source.exportBackup(created.value.key, backup, 'backup password', {}, { scryptN: N })).ok);

  const home = join(dir, 'home');
  const target = await vaultIn(home);
  const existing = await target.create(privateKey(), 'existing password');
  assert.ok(existing.ok);
  const refused = await target.importBackup(backup, 'backup password', 'new password');
  assert.ok(!refused.ok);
  assert.equal(refused.error.code, 'user_key_exists');
  assert.ok((await target.verifyPassword('existing password')).ok);

  const keytar = memoryKeytar();
  const keychain = new KeychainCache({ home, keytar });
  await keychain.set(Buffer.alloc(32, 1));
  const forced = await target.importBackup(backup, 'backup password', 'new password', { force: true, keychain });
  assert.ok(forced.ok);
  assert.equal(forced.value.key.fingerprint, created.value.key.fingerprint);
  assert.equal(keytar.entries.size, 0, 'the replaced key’s remembered unlock key is gone');

  const missing = await target.importBackup(join(dir, 'nope.json'), 'x', 'y', { force: true });
  assert.equal(!missing.ok && missing.error.code, 'backup_unreadable');
  await writeFile(join(dir, 'newer.json'), JSON.stringify({ format: 'airlock-backup', version: 9 }));
  const newer = await target.importBackup(join(dir, 'newer.json'), 'x', 'y', { force: true });
  assert.ok(!newer.ok);
  assert.equal(newer.error.code, 'backup_unsupported');
  assert.match(newer.error.message, /upgrade Airlock/);
  const text = await readFile(backup, 'utf8');
  const json = JSON.parse(text);
  json.ciphertext = Buffer.from(
    Buffer.from(json.ciphertext, 'base64').map((b: number, i: number) => (i === 3 ? b ^ 1 : b)),
  ).toString('base64');
  await writeFile(join(dir, 'tampered.json'), JSON.stringify(json));
  const tampered = await target.importBackup(join(dir, 'tampered.json'), 'backup password', 'y', { force: true });
  assert.ok(!tampered.ok);
  assert.equal(tampered.error.code, 'backup_corrupt');
});
