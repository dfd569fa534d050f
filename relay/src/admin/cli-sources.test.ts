import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { lockDataDir } from '../data-dir-lock.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import { openConnect, startHarness } from '../test-support/harness.js';
import { cliIn } from './test-support.js';

test('source list: what the relay running on the data dir refuses now, read through the store; an unlock empties it', async (t) => {
  const { dir, run, json } = await cliIn(t);
  const h = await startHarness({ dataDir: dir, refusedUpgradesPerMinute: 1, revocationCheckMs: 50 });
  t.after(() => h.close());
  const none = await run('source', 'list');
  assert.equal(none.code, 0, none.err);
  assert.match(none.out, /^no source address is refused \(as of \d{4}-\d\d-\d\dT[\d:.]+Z\)$/);

  // Two refused WebSocket upgrades from this address spend its budget of one a minute.
  for (let i = 0; i < 2; i++) await assert.rejects(openConnect(h.relay, randomUUID(), 'not-a-ticket'));
  // A list is made at most every 5 s (walking full tables is costly), whoever asks.
  h.clock.advance(5000);
  const listed = await run('source', 'list');
  assert.equal(listed.code, 0, listed.err);
  const lines = listed.out.split('\n');
  assert.match(lines[0]!, /^SOURCE +LIMIT +RETRY AFTER$/);
  assert.match(lines[1]!, /^127\.0\.0\.1 +refused-upgrades +\d+ s$/);
  assert.match(lines[2]!, /^1 refused as of \S+\. Lift one with: airlock-relay source unlock <address\|all>$/);
  const asJson = await json('source', 'list');
  assert.equal(asJson.running, true);
  assert.equal(asJson.total, 1);
  assert.deepEqual(
    asJson.sources.map((s: { source: string; limit: string }) => [s.source, s.limit]),
    [['127.0.0.1', 'refused-upgrades']],
  );

  assert.equal((await run('source', 'unlock', '127.0.0.1')).code, 0);
  // The unlock and the list go to the relay the same way; it applies the one before answering the other.
  assert.equal((await json('source', 'list')).total, 0);
});

test('source list without a running relay says there is nothing to list; a relay that does not answer is an error with a way on', async (t) => {
  const { dir, run, json } = await cliIn(t);
  assert.equal((await run('user', 'add', 'alice')).code, 0);
  const idle = await run('source', 'list');
  assert.equal(idle.code, 0, idle.err);
  assert.equal(
    idle.out,
    `no relay is running on ${dir}: these limits live in a running relay's memory, and a relay starts with none`,
  );
  assert.deepEqual(await json('source', 'list'), { running: false, total: 0, sources: [] });

  // The data dir held, as by a relay that is stuck: nobody answers.
  const lock = lockDataDir(dir);
  t.after(() => lock.release());
  const silent = await run('source', 'list', '--timeout', '0.3');
  assert.equal(silent.code, 1);
  assert.match(silent.err, new RegExp(`^error: the relay running on ${dir} did not answer within 0.3 s$`, 'm'));
  assert.match(silent.err, /^hint: .*try again with --timeout.*GET \/api\/v1\/admin\/sources/m);

  // A relay that stops while the command waits: said so, not taken for a slow one.
  const waiting = run('source', 'list', '--timeout', '1');
  setTimeout(() => lock.release(), 200);
  const gone = await waiting;
  assert.equal(gone.code, 1);
  assert.match(gone.err, new RegExp(`^error: the relay on ${dir} stopped before it answered$`, 'm'));
  // Each request's row went with its command (an answer can hold 1 000 sources).
  const store = openSqliteStore(join(dir, 'relay.db'));
  t.after(() => store.close());
  assert.equal((store.db.prepare('SELECT COUNT(*) AS n FROM source_lists').get() as { n: number }).n, 0);

  for (const bad of ['0', '-1', 'soon', '301']) {
    const r = await run('source', 'list', '--timeout', bad);
    assert.equal(r.code, 2, bad);
    assert.match(r.err, /expected a number of seconds, more than 0 and at most 300/);
  }
});
