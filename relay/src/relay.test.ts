import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRelay } from './relay.js';
import { createRelayLogger } from './logger.js';
import { SIGNING_KEY_FILE, SIGNING_PUBLIC_KEY_FILE } from './signing-key.js';
import { STORE_FILE } from './relay-state.js';
import { api, login, startHarness } from './test-support/harness.js';

test('with a data dir the relay keeps its signing key, TLS key and store (0600) across restarts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-relay-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const logger = createRelayLogger('silent');
  const first = await createRelay({ config: { port: 0, dataDir: dir }, logger });
  const pem = first.publicKeyPem;
  assert.equal(first.publicKeyPath, join(dir, SIGNING_PUBLIC_KEY_FILE));
  assert.equal(await readFile(join(dir, SIGNING_PUBLIC_KEY_FILE), 'utf8'), pem);
  assert.equal((await stat(join(dir, SIGNING_KEY_FILE))).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'tls', 'relay-key.pem'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, STORE_FILE))).mode & 0o777, 0o600);
  assert.match(first.tls.pin, /^sha256\/[A-Za-z0-9+/]{43}=$/);
  assert.equal((await api(first, 'GET', '/healthz')).body.status, 'ok');
  assert.ok((await first.admin.createUser('test', 'kept')).ok);
  await first.close();
  const second = await createRelay({ config: { port: 0, dataDir: dir }, logger });
  t.after(() => second.close());
  assert.equal(second.publicKeyPem, pem);
  assert.equal(second.tls.pin, first.tls.pin, 'the TLS key, and so the pin enrolled clients hold, survives a restart');
  assert.equal((await second.store.users.get('kept'))?.name, 'kept');
});

test('a data dir that group or others can read or write is made private (0700) on open, and the relay says so', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-relay-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const sink = { write: (s: string) => void lines.push(s) } as unknown as NodeJS.WritableStream;
  const logger = createRelayLogger('info', sink);
  const changed = () => lines.map((l) => JSON.parse(l)).filter((l) => /changed its mode to 0700/.test(l.msg));

  await chmod(dir, 0o700);
  await (await createRelay({ config: { port: 0, dataDir: dir }, logger })).close();
  assert.deepEqual(changed(), [], 'a private dir is left alone');

  for (const [mode, text] of [
    [0o755, '0755'],
    [0o777, '0777'],
    [0o750, '0750'],
  ] as const) {
    await chmod(dir, mode);
    await (await createRelay({ config: { port: 0, dataDir: dir }, logger })).close();
    assert.equal((await stat(dir)).mode & 0o777, 0o700, `${text} became 0700`);
    assert.equal(changed().at(-1).dataDir, dir);
    assert.equal(changed().at(-1).oldMode, text, 'the change is logged');
  }
  assert.equal(changed().length, 3);
});

test('an invalid config is rejected with the field named', async () => {
  await assert.rejects(
    createRelay({ config: { highWaterMarkBytes: 100, lowWaterMarkBytes: 200 }, logger: createRelayLogger('silent') }),
    /lowWaterMarkBytes/,
  );
  // A relay that took less than a whole SSH packet in a frame would cut every bulk transfer.
  await assert.rejects(
    createRelay({ config: { maxPayloadBytes: 64 * 1024 }, logger: createRelayLogger('silent') }),
    /maxPayloadBytes.*must be at least 524288: a data frame carries a whole SSH packet/s,
  );
});

test('logs never contain tickets, tokens or credentials', async (t) => {
  const lines: string[] = [];
  const sink = { write: (s: string) => void lines.push(s) } as unknown as NodeJS.WritableStream;
  const h = await startHarness({}, { logger: createRelayLogger('trace', sink) });
  t.after(() => h.close());
  const relay = h.relay;
  const token = await login(relay, h.alice);
  await api(relay, 'GET', '/vms', { token });
  relay.logger.info({ ticket: 'SECRET-TICKET', req: { headers: { authorization: 'Bearer SECRET' } } }, 'probe');
  const all = lines.join('');
  assert.ok(all.includes('probe'));
  assert.ok(!all.includes(token));
  assert.ok(!all.includes('SECRET'));
});
