/**
 * Tampering with a real audit trail: the relay's SQLite file edited behind its back with
 * better-sqlite3 directly, and its JSON-lines copy edited as text. `verify` must name the
 * first bad entry and say what happened.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { AuditLog } from './audit-log.js';
import { chainEntry } from './chain.js';
import { Checkpointer, signCheckpoint } from './checkpoints.js';
import { auditJsonlPath } from './jsonl-copy.js';
import { verifyJsonl, verifyStore, type VerifyResult } from './verify.js';
import { sampleEvent } from './test-support/memory-audit-store.js';
import { silentLogger, sqliteFixture, testKey, type SqliteFixture } from './test-support/fixtures.js';
import type { AuditEntry } from '../store/types.js';

const N = 20;

interface Trail extends SqliteFixture {
  publicKeyPem: string;
  trusted: string[];
  jsonl: string;
  /** A separate connection, as an attacker with write access to the file would have. */
  sql: InstanceType<typeof Database>;
  entries(): Promise<AuditEntry[]>;
}

/** 20 entries recorded through the real AuditLog, checkpoints signed at 10 and (on close) at 20. */
async function trail(t: TestContext): Promise<Trail> {
  const fx = await sqliteFixture(t);
  const { key, publicKeyPem } = testKey();
  const log = await AuditLog.open({ store: fx.store.audit, dataDir: fx.dataDir, logger: silentLogger });
  const checkpointer = new Checkpointer({
    store: fx.store.audit,
    privateKey: key.privateKey,
    publicKeyPem,
    logger: silentLogger,
    everyEntries: 10,
    everyMs: 3_600_000,
    beforeSign: (seq) => log.copyUpTo(seq),
  });
  await checkpointer.start();
  log.onAppended((e) => checkpointer.noteEntry(e));
  for (let i = 1; i <= N; i++) assert.ok(await log.record(sampleEvent(i)));
  await checkpointer.close();
  await log.close();
  assert.deepEqual(
    (await fx.store.audit.checkpoints()).map((c) => c.seq),
    [10, 20],
  );
  const sql = new Database(fx.dbPath);
  // Checkpoints reference their entry; an attacker simply switches that check off for their connection.
  sql.pragma('foreign_keys = OFF');
  t.after(() => sql.close());
  return {
    ...fx,
    publicKeyPem,
    trusted: [publicKeyPem],
    jsonl: auditJsonlPath(fx.dataDir),
    sql,
    entries: () => fx.store.audit.range(0, 1000),
  };
}

function assertBroken(r: VerifyResult, seq: number, problem: string): void {
  assert.equal(r.ok, false, `expected a break, got ${JSON.stringify(r)}`);
  if (r.ok) return;
  assert.equal(r.problem, problem, r.message);
  assert.equal(r.seq, seq, r.message);
  assert.match(r.message, new RegExp(`\\b${seq}\\b`));
}

test('an untouched trail verifies, in the database and in the JSON-lines copy', async (t) => {
  const tr = await trail(t);
  const r = await verifyStore(tr.store.audit, { trustedPublicKeysPem: tr.trusted });
  assert.deepEqual(r, {
    ok: true,
    entries: N,
    lastSeq: N,
    lastHash: (await tr.entries())[N - 1]!.hash,
    checkpointsVerified: 2,
    unsigned: 0,
  });
  const checkpoints = await tr.store.audit.checkpoints();
  assert.deepEqual(await verifyJsonl(tr.jsonl, { checkpoints, trustedPublicKeysPem: tr.trusted }), r);
});

test('database: data of entry 5 edited → entry 5 edited', async (t) => {
  const tr = await trail(t);
  tr.sql.prepare(`UPDATE audit_events SET data = '{"i":5,"reason":"nothing to see"}' WHERE seq = 5`).run();
  assertBroken(await verifyStore(tr.store.audit), 5, 'edited');
});

test('database: actor of entry 5 edited and its hash recomputed → entry 5 edited (entry 6 no longer links)', async (t) => {
  const tr = await trail(t);
  const [e4, e5] = (await tr.entries()).slice(3, 5);
  const forged = chainEntry(e4, { ...e5!, actor: 'user:someone-else' }, new Date(e5!.ts));
  tr.sql.prepare('UPDATE audit_events SET actor = ?, hash = ? WHERE seq = 5').run(forged.actor, forged.hash);
  assertBroken(await verifyStore(tr.store.audit), 5, 'edited');
});

test('database: entry 5 deleted → entry 5 deleted', async (t) => {
  const tr = await trail(t);
  tr.sql.prepare('DELETE FROM audit_events WHERE seq = 5').run();
  const r = await verifyStore(tr.store.audit);
  assertBroken(r, 5, 'deleted');
  assert.ok(!r.ok && /entry 4 is followed by entry 6/.test(r.message), !r.ok ? r.message : '');
});

test('database: entry 5 deleted and later entries renumbered → entry 5 deleted', async (t) => {
  const tr = await trail(t);
  tr.sql.prepare('DELETE FROM audit_events WHERE seq = 5').run();
  for (let s = 6; s <= N; s++) tr.sql.prepare('UPDATE audit_events SET seq = ? WHERE seq = ?').run(s - 1, s);
  assertBroken(await verifyStore(tr.store.audit), 5, 'deleted');
});

test('database: seqs of entries 5 and 6 swapped → reordered at 5', async (t) => {
  const tr = await trail(t);
  const swap = tr.sql.transaction(() => {
    tr.sql.prepare('UPDATE audit_events SET seq = -1 WHERE seq = 5').run();
    tr.sql.prepare('UPDATE audit_events SET seq = 5 WHERE seq = 6').run();
    tr.sql.prepare('UPDATE audit_events SET seq = 6 WHERE seq = -1').run();
  });
  swap();
  assertBroken(await verifyStore(tr.store.audit), 5, 'reordered');
});

function insertRow(sql: InstanceType<typeof Database>, e: AuditEntry): void {
  sql
    .prepare(
      `INSERT INTO audit_events (seq, ts, type, actor, outcome, sid, source, data, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      e.seq,
      e.ts,
      e.type,
      e.actor,
      e.outcome,
      e.sid ?? null,
      e.source ?? null,
      JSON.stringify(e.data),
      e.prevHash,
      e.hash,
    );
}

function makeRoomAt5(sql: InstanceType<typeof Database>): void {
  sql.prepare('UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 5').run();
  sql.prepare('UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000').run();
}

test('database: a forged entry chained properly to entry 4 wedged in at 5 → entry 5 inserted', async (t) => {
  const tr = await trail(t);
  const e4 = (await tr.entries())[3]!;
  makeRoomAt5(tr.sql);
  const forged = chainEntry(
    e4,
    { type: 'login.success', actor: 'user:mallory', outcome: 'success', data: {} },
    new Date(Date.parse(e4.ts) + 1),
  );
  insertRow(tr.sql, forged);
  assertBroken(await verifyStore(tr.store.audit), 5, 'inserted');
});

test('database: a forged entry with a made-up hash wedged in at 5 → entry 5 inserted', async (t) => {
  const tr = await trail(t);
  const e4 = (await tr.entries())[3]!;
  makeRoomAt5(tr.sql);
  insertRow(tr.sql, { ...e4, seq: 5, actor: 'user:mallory', prevHash: 'a'.repeat(64), hash: 'b'.repeat(64) });
  assertBroken(await verifyStore(tr.store.audit), 5, 'inserted');
});

test('database: the last 3 entries deleted after a checkpoint covered them → truncated at 18', async (t) => {
  const tr = await trail(t);
  tr.sql.prepare('DELETE FROM audit_events WHERE seq > 17').run();
  assertBroken(await verifyStore(tr.store.audit, { trustedPublicKeysPem: tr.trusted }), 18, 'truncated');
});

test('database: chain rewritten from entry 5 on with recomputed hashes → caught by the checkpoint at 10', async (t) => {
  const tr = await trail(t);
  const all = await tr.entries();
  let prev: AuditEntry = all[3]!;
  for (const e of all.slice(4)) {
    const next = chainEntry(prev, e.seq === 5 ? { ...e, data: { rewritten: true } } : e, new Date(e.ts));
    tr.sql
      .prepare('UPDATE audit_events SET data = ?, prev_hash = ?, hash = ? WHERE seq = ?')
      .run(JSON.stringify(next.data), next.prevHash, next.hash, e.seq);
    prev = next;
  }
  const r = await verifyStore(tr.store.audit, { trustedPublicKeysPem: tr.trusted });
  assertBroken(r, 10, 'edited');
  assert.ok(!r.ok && /checkpoint/.test(r.message));
});

test('database: checkpoint signature forged → bad_checkpoint', async (t) => {
  const tr = await trail(t);
  const other = testKey();
  const c = (await tr.store.audit.checkpoints())[0]!;
  const forged = signCheckpoint(c, other.key.privateKey, other.publicKeyPem);
  tr.sql.prepare('UPDATE audit_checkpoints SET signature = ? WHERE seq = 10').run(forged.signature);
  assertBroken(await verifyStore(tr.store.audit, { trustedPublicKeysPem: tr.trusted }), 10, 'bad_checkpoint');
  // Even without a trusted key, a signature that does not match the key it carries is caught.
  assertBroken(await verifyStore(tr.store.audit), 10, 'bad_checkpoint');
});

test('database: a checkpoint re-signed with another key is refused against the relay key', async (t) => {
  const tr = await trail(t);
  const other = testKey();
  const c = (await tr.store.audit.checkpoints())[1]!;
  const forged = signCheckpoint(c, other.key.privateKey, other.publicKeyPem);
  tr.sql
    .prepare('UPDATE audit_checkpoints SET signature = ?, public_key_pem = ? WHERE seq = 20')
    .run(forged.signature, forged.publicKeyPem);
  const r = await verifyStore(tr.store.audit, { trustedPublicKeysPem: tr.trusted });
  assertBroken(r, 20, 'bad_checkpoint');
  assert.ok(!r.ok && /not trusted/.test(r.message));
});

// The JSON-lines copy.

async function editLines(path: string, edit: (lines: string[]) => string[]): Promise<void> {
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
  await writeFile(path, edit(lines).join('\n') + '\n');
}

test('jsonl: data of entry 5 edited → entry 5 edited, line 5', async (t) => {
  const tr = await trail(t);
  await editLines(tr.jsonl, (lines) => {
    const e = JSON.parse(lines[4]!) as AuditEntry;
    lines[4] = JSON.stringify({ ...e, data: { ...e.data, i: 42 } });
    return lines;
  });
  const r = await verifyJsonl(tr.jsonl);
  assertBroken(r, 5, 'edited');
  assert.equal(!r.ok && r.line, 5);
});

test('jsonl: line 5 deleted → entry 5 deleted', async (t) => {
  const tr = await trail(t);
  await editLines(tr.jsonl, (lines) => lines.filter((_, i) => i !== 4));
  assertBroken(await verifyJsonl(tr.jsonl), 5, 'deleted');
});

test('jsonl: lines 5 and 6 swapped → reordered at 5', async (t) => {
  const tr = await trail(t);
  await editLines(tr.jsonl, (lines) => [...lines.slice(0, 4), lines[5]!, lines[4]!, ...lines.slice(6)]);
  assertBroken(await verifyJsonl(tr.jsonl), 5, 'reordered');
});

test('jsonl: a copy of entry 3 inserted after entry 7 → inserted at 8', async (t) => {
  const tr = await trail(t);
  await editLines(tr.jsonl, (lines) => [...lines.slice(0, 7), lines[2]!, ...lines.slice(7)]);
  const r = await verifyJsonl(tr.jsonl);
  assertBroken(r, 8, 'inserted');
  assert.ok(!r.ok && /copy of entry 3/.test(r.message));
});

test('jsonl: a line that is not JSON is reported with its line number', async (t) => {
  const tr = await trail(t);
  await editLines(tr.jsonl, (lines) => {
    lines[6] = lines[6]!.slice(0, 30);
    return lines;
  });
  const r = await verifyJsonl(tr.jsonl);
  assertBroken(r, 7, 'edited');
  assert.equal(!r.ok && r.line, 7);
  assert.ok(!r.ok && /line 7 is not valid JSON/.test(r.message));
});

test('jsonl: tail cut after a checkpoint covered it → truncated', async (t) => {
  const tr = await trail(t);
  await editLines(tr.jsonl, (lines) => lines.slice(0, 15));
  const checkpoints = await tr.store.audit.checkpoints();
  assertBroken(await verifyJsonl(tr.jsonl, { checkpoints, trustedPublicKeysPem: tr.trusted }), 16, 'truncated');
});
