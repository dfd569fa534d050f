import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { auditJsonlPath } from './jsonl-copy.js';
import { openAuditTrail } from './trail.js';
import { RelayConfig } from '../config.js';
import { verifyJsonl, verifyStore } from './verify.js';
import { sampleEvent, waitUntil } from './test-support/memory-audit-store.js';
import { silentLogger, sqliteFixture, testKey } from './test-support/fixtures.js';

test('openAuditTrail: store, copy, sink and a final checkpoint, all consistent after close', async (t) => {
  const fx = await sqliteFixture(t);
  const { key, publicKeyPem } = testKey();
  const trail = await openAuditTrail({
    store: fx.store,
    config: RelayConfig.parse({ dataDir: fx.dataDir, auditSinks: [{ type: 'file', path: 'sink/audit-sink.jsonl' }] }),
    signingKey: key,
    logger: silentLogger,
  });
  for (let i = 1; i <= 25; i++) assert.ok(await trail.record(sampleEvent(i)));
  const sinkPath = join(fx.dataDir, 'sink', 'audit-sink.jsonl');
  await waitUntil(() => trail.sinks.status()[0]!.cursor === 25, 5000, 'the sink to receive everything');
  await trail.close();
  await trail.close(); // idempotent

  const checkpoints = await fx.store.audit.checkpoints();
  assert.equal(checkpoints.at(-1)!.seq, 25, 'close signs the head');
  const trusted = { trustedPublicKeysPem: [publicKeyPem] };
  const fromStore = await verifyStore(fx.store.audit, trusted);
  assert.equal(fromStore.ok && fromStore.lastSeq, 25);
  assert.deepEqual(await verifyJsonl(auditJsonlPath(fx.dataDir), { checkpoints, ...trusted }), fromStore);
  assert.deepEqual(await verifyJsonl(sinkPath), { ...fromStore, checkpointsVerified: 0, unsigned: 25 });
  assert.equal((await readFile(sinkPath, 'utf8')).trimEnd().split('\n').length, 25);
  assert.deepEqual(trail.log.stats(), { recorded: 25, failed: 0, copyFailures: 0 });
  assert.equal(trail.checkpointer.failures, 0);
});
