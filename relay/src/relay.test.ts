import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRelay } from './relay.js';
import { createRelayLogger } from './logger.js';
import { SIGNING_KEY_FILE, SIGNING_PUBLIC_KEY_FILE } from './signing-key.js';
import { api, newUser } from './test-support/harness.js';

const here = dirname(fileURLToPath(import.meta.url));

test('with a data dir the relay keeps its signing key (0600) and publishes the public key', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-relay-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const logger = createRelayLogger('silent');
  const first = await createRelay({ config: { port: 0, dataDir: dir }, logger });
  const pem = first.publicKeyPem;
  assert.equal(first.publicKeyPath, join(dir, SIGNING_PUBLIC_KEY_FILE));
  assert.equal(await readFile(join(dir, SIGNING_PUBLIC_KEY_FILE), 'utf8'), pem);
  assert.equal((await stat(join(dir, SIGNING_KEY_FILE))).mode & 0o777, 0o600);
  assert.deepEqual((await api(first, 'GET', '/healthz')).body, { status: 'ok' });
  await first.close();
  const second = await createRelay({ config: { port: 0, dataDir: dir }, logger });
  t.after(() => second.close());
  assert.equal(second.publicKeyPem, pem);
});

test('a data dir that group or others can write to is made private (0700) on open, and the relay says so', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-relay-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const sink = { write: (s: string) => void lines.push(s) } as unknown as NodeJS.WritableStream;
  const logger = createRelayLogger('info', sink);
  const changed = () => lines.map((l) => JSON.parse(l)).filter((l) => /changed its mode to 0700/.test(l.msg));

  await chmod(dir, 0o750);
  await (await createRelay({ config: { port: 0, dataDir: dir }, logger })).close();
  assert.equal((await stat(dir)).mode & 0o777, 0o750, 'a dir only its owner can write to is left alone');
  assert.deepEqual(changed(), []);

  await chmod(dir, 0o777);
  const relay = await createRelay({ config: { port: 0, dataDir: dir }, logger });
  t.after(() => relay.close());
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.equal(changed().length, 1, 'the change is logged');
  assert.equal(changed()[0].dataDir, dir);
  assert.equal(changed()[0].oldMode, '0777');
});

test('an invalid config is rejected with the field named', async () => {
  await assert.rejects(
    createRelay({ config: { highWaterMarkBytes: 100, lowWaterMarkBytes: 200 }, logger: createRelayLogger('silent') }),
    /lowWaterMarkBytes/,
  );
});

test('logs never contain tickets, tokens or credentials', async (t) => {
  const lines: string[] = [];
  const sink = { write: (s: string) => void lines.push(s) } as unknown as NodeJS.WritableStream;
  const relay = await createRelay({ config: { port: 0 }, logger: createRelayLogger('trace', sink) });
  t.after(() => relay.close());
  const alice = newUser('alice');
  await relay.directory.addUser(alice);
  const { login } = await import('./test-support/harness.js');
  const token = await login(relay, alice);
  await api(relay, 'GET', '/vms', { token });
  relay.logger.info({ ticket: 'SECRET-TICKET', req: { headers: { authorization: 'Bearer SECRET' } } }, 'probe');
  const all = lines.join('');
  assert.ok(all.includes('probe'));
  assert.ok(!all.includes(token));
  assert.ok(!all.includes('SECRET'));
});

function cli(args: string[]) {
  return spawnSync(process.execPath, [join(here, '..', 'bin', 'airlock-relay.js'), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
}

test('CLI: vm add prints a credential once; errors are one line plus a hint, exit 1', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-relay-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const add = cli(['--data-dir', dir, 'vm', 'add', 'demo-vm', '--ports', '22,8888']);
  assert.equal(add.status, 0, add.stderr);
  assert.match(add.stdout.trim(), /^demo-vm\.[A-Za-z0-9_-]{43}$/);
  const list = cli(['--data-dir', dir, 'vm', 'list', '--json']);
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(
    JSON.parse(list.stdout).map((v: { id: string; ports: number[] }) => [v.id, v.ports]),
    [['demo-vm', [22, 8888]]],
  );
  assert.ok(!list.stdout.includes('secret'));
  const dup = cli(['--data-dir', dir, 'vm', 'add', 'demo-vm', '--ports', '22']);
  assert.equal(dup.status, 1);
  assert.match(dup.stderr, /^error: VM "demo-vm" already exists\nhint: /);
  assert.ok(!dup.stderr.includes('    at '), 'no stack trace');
  const grant = cli(['--data-dir', dir, 'grant', 'nobody', 'demo-vm']);
  assert.equal(grant.status, 1);
  assert.match(grant.stderr, /no user "nobody"/);
});
