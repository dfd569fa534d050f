import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { test } from 'node:test';
import { AuditLog } from './audit-log.js';
import { checkpointSigningInput } from './chain.js';
import { Checkpointer, checkpointSignatureProblem } from './checkpoints.js';
import { verifyStore } from './verify.js';
import { MemoryAuditStore, sampleEvent, waitUntil } from './test-support/memory-audit-store.js';
import { captureLogger, silentLogger, sqliteFixture, testKey } from './test-support/fixtures.js';

test('a checkpoint every N entries and one on close, signed with the relay key (Ed25519)', async (t) => {
  const fx = await sqliteFixture(t);
  const { key, publicKeyPem } = testKey();
  const log = await AuditLog.open({ store: fx.store.audit, dataDir: fx.dataDir, logger: silentLogger });
  const cp = new Checkpointer({
    store: fx.store.audit,
    privateKey: key.privateKey,
    publicKeyPem,
    logger: silentLogger,
    everyEntries: 5,
    everyMs: 3_600_000,
    beforeSign: (seq) => log.copyUpTo(seq),
  });
  await cp.start();
  log.onAppended((e) => cp.noteEntry(e));
  const checkpointed = (n: number) => waitUntil(async () => (await fx.store.audit.checkpoints()).length === n, 5000);
  for (let i = 1; i <= 5; i++) await log.record(sampleEvent(i));
  await checkpointed(1);
  for (let i = 6; i <= 10; i++) await log.record(sampleEvent(i));
  await checkpointed(2);
  for (let i = 11; i <= 12; i++) await log.record(sampleEvent(i));
  await cp.close();
  await log.close();

  const checkpoints = await fx.store.audit.checkpoints();
  assert.deepEqual(
    checkpoints.map((c) => c.seq),
    [5, 10, 12],
  );
  const entries = await fx.store.audit.range(0, 100);
  for (const c of checkpoints) {
    assert.equal(c.hash, entries[c.seq - 1]!.hash);
    assert.equal(c.publicKeyPem, publicKeyPem);
    assert.ok(verify(null, checkpointSigningInput(c), key.publicKey, Buffer.from(c.signature, 'base64url')));
  }
  const ok = await verifyStore(fx.store.audit, { trustedPublicKeysPem: [publicKeyPem] });
  assert.equal(ok.ok && ok.checkpointsVerified, 3);

  const other = testKey();
  assert.match(checkpointSignatureProblem(checkpoints[0]!, [other.publicKeyPem]) ?? '', /not trusted/);
  const r = await verifyStore(fx.store.audit, { trustedPublicKeysPem: [other.publicKeyPem] });
  assert.equal(!r.ok && r.problem, 'bad_checkpoint');
});

test('the timer signs only when there are new entries; a restart does not re-sign the same head', async () => {
  const store = new MemoryAuditStore();
  const { key, publicKeyPem } = testKey();
  const opts = { store, privateKey: key.privateKey, publicKeyPem, logger: silentLogger, everyMs: 20 };
  const cp = new Checkpointer(opts);
  await cp.start();
  assert.equal(await cp.checkpointNow(), undefined, 'nothing to sign yet');
  await store.append(sampleEvent(1)); // appended by another process: only the timer notices
  await waitUntil(() => store.checkpointList.length === 1, 5000, 'the timer checkpoint');
  assert.equal(await cp.checkpointNow(), undefined, 'head unchanged');
  await cp.close();
  assert.equal(store.checkpointList.length, 1);

  const restarted = new Checkpointer(opts);
  await restarted.start();
  await restarted.close();
  assert.equal(store.checkpointList.length, 1);
});

test('a checkpoint that cannot be stored is logged and counted, never thrown', async () => {
  const store = new MemoryAuditStore();
  const { key, publicKeyPem } = testKey();
  const { logger, lines } = captureLogger();
  store.addCheckpoint = async () => {
    throw new Error('disk I/O error');
  };
  const cp = new Checkpointer({ store, privateKey: key.privateKey, publicKeyPem, logger, everyMs: 3_600_000 });
  await cp.start();
  await store.append(sampleEvent(1));
  assert.equal(await cp.checkpointNow(), undefined);
  assert.equal(cp.failures, 1);
  assert.ok(lines.some((l) => l.msg === 'audit: could not sign a checkpoint'));
  await cp.close();
});
