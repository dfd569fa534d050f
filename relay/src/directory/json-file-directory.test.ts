import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newUser } from '../test-support/harness.js';
import { authenticateAgent, enrollVm, parseAgentCredential, rotateVmCredential } from './agent-credential.js';
import { DirectoryError, effectivePorts } from './directory.js';
import { MemoryDirectory } from './document.js';
import { DIRECTORY_FILE, JsonFileDirectory } from './json-file-directory.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-relay-dir-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the JSON directory persists users, VMs and grants in a 0600 file', async (t) => {
  const dir = await tempDir(t);
  const d = await JsonFileDirectory.open(dir);
  const alice = newUser('alice');
  await d.addUser(alice);
  const credential = await enrollVm(d, 'demo-vm', [8888, 22, 22]);
  await d.grant({ user: 'alice', vm: 'demo-vm', ports: [22] });

  const file = join(dir, DIRECTORY_FILE);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const text = await readFile(file, 'utf8');
  assert.ok(!text.includes(parseAgentCredential(credential)!.secret), 'the secret itself must not be stored');

  const reopened = await JsonFileDirectory.open(dir);
  assert.equal((await reopened.getUser('alice'))?.publicKeyPem, alice.publicKeyPem);
  assert.deepEqual((await reopened.getVm('demo-vm'))?.ports, [22, 8888]);
  assert.deepEqual((await reopened.getGrant('alice', 'demo-vm'))?.ports, [22]);
  assert.equal(await authenticateAgent(reopened, credential), 'demo-vm');
});

test('a running directory sees changes written by another process', async (t) => {
  const dir = await tempDir(t);
  const running = await JsonFileDirectory.open(dir);
  assert.equal(await running.getUser('alice'), undefined);
  const cli = await JsonFileDirectory.open(dir);
  await cli.addUser(newUser('alice'));
  assert.ok(await running.getUser('alice'));
});

test('a corrupt directory file is a clear error', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, DIRECTORY_FILE), '{"version":1,"users":[{"name":"BAD"}]}');
  await assert.rejects(JsonFileDirectory.open(dir), /not a valid directory \(users\.0\.name/);
  await writeFile(join(dir, DIRECTORY_FILE), '{oops');
  await assert.rejects(JsonFileDirectory.open(dir), /not valid JSON/);
});

test('directory rules: duplicates, unknown names, invalid keys and names', async () => {
  const d = new MemoryDirectory();
  await d.addUser(newUser('alice'));
  await assert.rejects(d.addUser(newUser('alice')), (e: unknown) => e instanceof DirectoryError && e.code === 'exists');
  await assert.rejects(d.addUser({ name: 'Alice!', publicKeyPem: newUser('x').publicKeyPem }), /user name/);
  await assert.rejects(d.addUser({ name: 'carol', publicKeyPem: 'not a key' }), /public key of "carol" is not usable/);
  await enrollVm(d, 'vm1', [22]);
  await assert.rejects(enrollVm(d, 'vm1', [22]), /already exists/);
  await assert.rejects(enrollVm(d, 'vm2', [70000]), /ports/);
  await assert.rejects(d.grant({ user: 'nobody', vm: 'vm1' }), /no user "nobody"/);
  await assert.rejects(d.grant({ user: 'alice', vm: 'nope' }), /no VM "nope"/);
  await assert.rejects(
    d.grant({ user: 'alice', vm: 'vm1', ports: [22, 9999] }),
    (e: unknown) => e instanceof DirectoryError && e.code === 'invalid' && /does not allow port 9999/.test(e.message),
  );
  const g = await d.grant({ user: 'alice', vm: 'vm1' });
  assert.deepEqual(effectivePorts((await d.getVm('vm1'))!, g), [22]);
  assert.equal(await d.revoke('alice', 'vm1'), true);
  assert.equal(await d.revoke('alice', 'vm1'), false);
});

test('agent credentials: format, wrong secret, other VM, rotation', async () => {
  const d = new MemoryDirectory();
  const c1 = await enrollVm(d, 'vm1', [22]);
  const c2 = await enrollVm(d, 'vm2', [22]);
  assert.match(c1, /^vm1\.[A-Za-z0-9_-]{43}$/);
  assert.equal(await authenticateAgent(d, c1), 'vm1');
  assert.equal(await authenticateAgent(d, c2), 'vm2');
  const secret2 = parseAgentCredential(c2)!.secret;
  assert.equal(await authenticateAgent(d, `vm1.${secret2}`), undefined);
  assert.equal(await authenticateAgent(d, `nope.${secret2}`), undefined);
  assert.equal(await authenticateAgent(d, 'vm1'), undefined);
  assert.equal(await authenticateAgent(d, ''), undefined);
  const rotated = await rotateVmCredential(d, 'vm1');
  assert.equal(await authenticateAgent(d, c1), undefined);
  assert.equal(await authenticateAgent(d, rotated), 'vm1');
});
