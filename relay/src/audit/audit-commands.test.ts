import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { Command, CommanderError } from 'commander';
import { registerAuditCommands, parseTime } from './audit-commands.js';
import { AuditLog } from './audit-log.js';
import { Checkpointer } from './checkpoints.js';
import { auditJsonlPath } from './jsonl-copy.js';
import { sampleEvent, waitUntil } from './test-support/memory-audit-store.js';
import { silentLogger, sqliteFixture, testKey, type SqliteFixture } from './test-support/fixtures.js';
import { loadOrCreateSigningKey, SIGNING_PUBLIC_KEY_FILE } from '../signing-key.js';
import type { AuditEntry } from '../store/types.js';

interface Run {
  code: number;
  out: string[];
  err: string[];
}

/** The audit commands on a fresh program, with the exit-code mapping of the relay CLI's `main`. */
function cli(fx: SqliteFixture, signal?: AbortSignal, live?: string[]) {
  return async (...args: string[]): Promise<Run> => {
    const out: string[] = live ?? [];
    const err: string[] = [];
    const program = new Command('airlock-relay')
      .exitOverride()
      .configureOutput({ writeOut: (s) => out.push(s.trimEnd()), writeErr: (s) => err.push(s.trimEnd()) });
    registerAuditCommands(program, async () => ({ store: fx.reopen(), dataDir: fx.dataDir }), {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      ...(signal ? { signal } : {}),
      followPollMs: 20,
    });
    try {
      await program.parseAsync(args, { from: 'user' });
      return { code: 0, out, err };
    } catch (e) {
      if (e instanceof CommanderError) return { code: e.exitCode === 0 ? 0 : 2, out, err };
      err.push(`error: ${(e as Error).message}`);
      return { code: 1, out, err };
    }
  };
}

/** A data dir as the relay leaves it: signing key, six entries, a checkpoint, the JSON-lines copy. */
async function relayDataDir(t: TestContext): Promise<SqliteFixture> {
  const fx = await sqliteFixture(t);
  const { key, publicKeyPem } = await loadOrCreateSigningKey(fx.dataDir);
  const log = await AuditLog.open({ store: fx.store.audit, dataDir: fx.dataDir, logger: silentLogger });
  const cp = new Checkpointer({
    store: fx.store.audit,
    privateKey: key.privateKey,
    publicKeyPem,
    logger: silentLogger,
  });
  await cp.start();
  for (let i = 1; i <= 6; i++) await log.record(sampleEvent(i));
  await cp.close();
  await log.close();
  return fx;
}

test('audit verify: intact (human, --json, --jsonl) exits 0', async (t) => {
  const fx = await relayDataDir(t);
  const run = cli(fx);
  const human = await run('audit', 'verify');
  assert.equal(human.code, 0, human.err.join('\n'));
  assert.match(human.out[0]!, /^audit log intact: 6 entries \(last #6 [0-9a-f]{16}…\), 1 signed checkpoint verified$/);
  const json = await run('audit', 'verify', '--json');
  assert.deepEqual(
    { ...(JSON.parse(json.out[0]!) as object), lastHash: undefined },
    { ok: true, entries: 6, lastSeq: 6, checkpointsVerified: 1, unsigned: 0, lastHash: undefined },
  );
  const jsonl = await run('audit', 'verify', '--jsonl');
  assert.equal(jsonl.code, 0);
  assert.match(jsonl.out[0]!, /^audit JSON-lines copy intact: 6 entries/);
});

test('audit verify: a tampered database exits 1 naming the entry', async (t) => {
  const fx = await relayDataDir(t);
  const sql = new Database(fx.dbPath);
  sql.prepare(`UPDATE audit_events SET outcome = 'success' WHERE seq = 3`).run();
  sql.close();
  const r = await cli(fx)('audit', 'verify');
  assert.equal(r.code, 1);
  assert.match(r.err.join('\n'), /^error: audit log broken at entry 3: entry 3 was changed/m);
});

test('audit verify --jsonl --json: a broken copy exits 1 with the line in the JSON', async (t) => {
  const fx = await relayDataDir(t);
  const path = auditJsonlPath(fx.dataDir);
  const lines = (await readFile(path, 'utf8')).split('\n');
  await writeFile(path, [...lines.slice(0, 3), 'garbage', ...lines.slice(3)].join('\n'));
  const r = await cli(fx)('audit', 'verify', '--jsonl', '--json');
  assert.equal(r.code, 1);
  const result = JSON.parse(r.out[0]!) as { ok: boolean; seq: number; line: number; problem: string };
  assert.deepEqual([result.ok, result.seq, result.line, result.problem], [false, 4, 4, 'edited']);
  await rm(path);
  const missing = await cli(fx)('audit', 'verify', '--jsonl');
  assert.equal(missing.code, 1);
  assert.match(missing.err.join('\n'), /audit\.jsonl does not exist/);
});

test('audit verify: checkpoints are checked against the relay key; --trusted-key admits a rotated one', async (t) => {
  const fx = await relayDataDir(t);
  const oldPub = join(fx.dataDir, 'old.pub.pem');
  await writeFile(oldPub, await readFile(join(fx.dataDir, SIGNING_PUBLIC_KEY_FILE)));
  await writeFile(join(fx.dataDir, SIGNING_PUBLIC_KEY_FILE), testKey().publicKeyPem); // the key was rotated
  const refused = await cli(fx)('audit', 'verify');
  assert.equal(refused.code, 1);
  assert.match(refused.err.join('\n'), /broken at entry 6: the checkpoint for entry 6 .* not trusted/);
  const ok = await cli(fx)('audit', 'verify', '--trusted-key', oldPub);
  assert.equal(ok.code, 0, ok.err.join('\n'));
  // A file that is no key is refused, not dropped while verify passes on the other keys.
  const junk = join(fx.dataDir, 'junk.txt');
  await writeFile(junk, 'not a key\n');
  const notKey = await cli(fx)('audit', 'verify', '--trusted-key', junk, '--trusted-key', oldPub);
  assert.equal(notKey.code, 1);
  assert.match(notKey.err.join('\n'), /junk\.txt is not a public key \(PEM\)/);
});

test('audit tail: last n entries, readable or JSON', async (t) => {
  const fx = await relayDataDir(t);
  await fx.store.audit.append({
    type: 'login.failure',
    actor: 'user:\u001b[31mevil',
    outcome: 'failure',
    source: '203.0.113.9',
    data: { reason: 'bad totp', attempts: 3 },
  });
  const run = cli(fx);
  const human = await run('audit', 'tail', '-n', '2');
  assert.equal(human.code, 0);
  assert.equal(human.out.length, 2);
  assert.match(
    human.out[0]!,
    /^\S+Z {2}#6 {2}login\.failure {2}failure {2}user:u2 {2}sid=sid-6 {2}from=127\.0\.0\.1 {2}i=6 nested=\{"b":2,"a":\[1,"x"\]\} reason=bad_totp$/,
  );
  assert.match(
    human.out[1]!,
    /#7 {2}login\.failure {2}failure {2}user:\\u001b\[31mevil {2}from=203\.0\.113\.9 {2}reason="bad totp" attempts=3$/,
  );
  const json = await run('audit', 'tail', '--json');
  assert.deepEqual(
    json.out.map((l) => (JSON.parse(l) as AuditEntry).seq),
    [1, 2, 3, 4, 5, 6, 7],
  );
});

test('audit tail --follow prints new entries until stopped', async (t) => {
  const fx = await relayDataDir(t);
  const stop = new AbortController();
  const out: string[] = [];
  const running = cli(fx, stop.signal, out)('audit', 'tail', '-n', '1', '--follow', '--json');
  await waitUntil(() => out.length === 1, 5000, 'the last entry');
  // Another process appends while the follower runs.
  await fx.reopen().audit.append({ type: 'session.close', actor: 'relay', outcome: 'info', sid: 's-9', data: {} });
  await waitUntil(() => out.length === 2, 5000, 'the new entry');
  stop.abort();
  const r = await running;
  assert.equal(r.code, 0);
  assert.deepEqual(
    out.map((l) => (JSON.parse(l) as AuditEntry).seq),
    [6, 7],
  );
});

test('audit query: filters and bad options', async (t) => {
  const fx = await relayDataDir(t);
  const run = cli(fx);
  const failures = await run('audit', 'query', '--type', 'login.failure', '--json');
  assert.deepEqual(
    failures.out.map((l) => (JSON.parse(l) as AuditEntry).seq),
    [3, 6],
  );
  const byActor = await run('audit', 'query', '--actor', 'user:u1', '--since', '1h', '--limit', '1', '--json');
  assert.deepEqual(
    byActor.out.map((l) => (JSON.parse(l) as AuditEntry).seq),
    [5],
  );
  assert.match(byActor.err.join('\n'), /showing the newest 1/);
  const none = await run('audit', 'query', '--sid', 'nope');
  assert.deepEqual([none.code, none.out, none.err], [0, [], ['no matching entries']]);

  for (const args of [
    ['--since', 'yesterday'],
    ['--until', '2030-13-45'],
    ['--limit', '-1'],
    ['--limit=0'],
    ['--limit', '2.5'],
    ['--since', '2030-01-02', '--until', '2030-01-01'],
  ]) {
    const r = await run('audit', 'query', ...args);
    assert.equal(r.code, 2, `${args.join(' ')} → ${r.err.join(' ')}`);
    assert.match(r.err.join('\n'), /error: .*(ISO-8601|whole number|later than)/);
  }
  assert.equal((await run('audit', 'tail', '-n', '-3')).code, 2);
});

test('parseTime: ISO dates and ages', () => {
  const now = new Date('2030-01-01T12:00:00.000Z');
  assert.equal(parseTime('2h', now), '2030-01-01T10:00:00.000Z');
  assert.equal(parseTime('7d', now), '2029-12-25T12:00:00.000Z');
  assert.equal(parseTime('2030-01-01'), '2030-01-01T00:00:00.000Z');
  assert.equal(parseTime('2030-01-01T01:02:03+02:00'), '2029-12-31T23:02:03.000Z');
  assert.throws(() => parseTime('tomorrow'));
});
