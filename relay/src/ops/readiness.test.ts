import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { ReadinessResponse, generateRelaySigningKey, type RelaySigningKey } from '@airlock/shared';
import { openSqliteStore } from '../store/sqlite-store.js';
import { Readiness } from './readiness.js';
import { STORE_FILE } from '../relay-state.js';
import { api, startHarness, waitFor, type Harness } from '../test-support/harness.js';

const sqliteModule = createRequire(import.meta.url).resolve('better-sqlite3');

/** Another process holding relay.db's write lock until told to let go (a backup tool, a stuck script). */
async function lockStoreFromAnotherProcess(dbPath: string): Promise<() => Promise<void>> {
  const script = `
    const Database = require(process.argv[1]);
    const db = new Database(process.argv[2], { timeout: 5000 });
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    process.stdin.on('end', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });
    process.stdin.resume();`;
  const child = spawn(process.execPath, ['-e', script, sqliteModule, dbPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  assert.equal(line.toString().trim(), 'locked');
  return async () => {
    child.stdin.end();
    await once(child, 'exit');
  };
}

async function readyz(h: Harness) {
  const pub = await api(h.relay, 'GET', '/readyz');
  const ops = await fetch(`${h.relay.metricsUrl}/readyz`);
  return {
    publicStatus: pub.status,
    public: ReadinessResponse.parse(pub.body),
    opsStatus: ops.status,
    ops: ReadinessResponse.parse(await ops.json()),
  };
}

test('/readyz: ready with a store and a signing key; not ready, with the reason, when relay.db is locked by another process or removed under the running relay', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-readyz-'));
  const h = await startHarness({ dataDir: dir, metrics: { port: 0 } });
  t.after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });
  const dbPath = join(dir, STORE_FILE);
  const isReady = async () => (await readyz(h)).public.status === 'ready';

  const ok = await readyz(h);
  assert.equal(ok.publicStatus, 200);
  assert.deepEqual(ok.public.checks.store.ok && ok.public.checks.signingKey.ok, true);
  assert.equal(ok.opsStatus, 200);
  assert.ok((ok.ops.checks.store.latencyMs ?? -1) >= 0);

  const unlock = await lockStoreFromAnotherProcess(dbPath);
  await waitFor(async () => !(await isReady()), 'not ready while another process holds the store', 10_000);
  const locked = await readyz(h);
  assert.equal(locked.publicStatus, 503);
  assert.deepEqual(locked.public.checks, {
    store: { ok: false, reason: 'the relay cannot reach its store' },
    signingKey: { ok: true },
  });
  assert.equal(locked.opsStatus, 503);
  assert.match(locked.ops.checks.store.reason ?? '', /locked by another process/);
  assert.doesNotMatch(JSON.stringify(locked.public), new RegExp(dir), 'no paths on the public port');
  // /healthz only says the process answers.
  assert.equal((await api(h.relay, 'GET', '/healthz')).status, 200);
  await unlock();
  await waitFor(isReady, 'ready again once the lock is gone', 10_000);

  await rename(dbPath, `${dbPath}.gone`);
  await waitFor(async () => !(await isReady()), 'not ready once relay.db is removed', 10_000);
  const removed = await readyz(h);
  assert.equal(removed.publicStatus, 503);
  assert.equal(
    removed.ops.checks.store.reason,
    `${dbPath} was removed while the relay runs; restore it and restart the relay`,
  );
  await rename(`${dbPath}.gone`, dbPath);
  await waitFor(isReady, 'ready again with the file back', 10_000);
});

test('/readyz: a signing key that does not sign (its public half is another key) is not ready', async () => {
  const a = generateRelaySigningKey();
  const b = generateRelaySigningKey();
  const store = openSqliteStore(':memory:');
  try {
    const check = (signingKey: RelaySigningKey) =>
      new Readiness({ store, signingKey, logger: pino({ level: 'silent' }) }).check();
    assert.equal((await check(a)).status, 'ready');
    const broken = await check({ privateKey: a.privateKey, publicKey: b.publicKey });
    assert.equal(broken.status, 'not_ready');
    assert.deepEqual(broken.checks.signingKey, {
      ok: false,
      reason: 'the signing key and its public key do not match',
    });
    assert.deepEqual(Readiness.publicView(broken).checks.signingKey, {
      ok: false,
      reason: 'the relay has no usable signing key',
    });
  } finally {
    await store.close();
  }
});
