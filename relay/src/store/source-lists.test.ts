import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openSqliteStore } from './sqlite-store.js';
import { tmpStore } from './test-support/tmp-store.js';

const list = (at: string) => ({
  at,
  total: 2,
  sources: [
    { source: '203.0.113.7', limit: 'failed-attempts' as const, retryAfterSeconds: 540 },
    { source: 'shared', limit: 'requests' as const, retryAfterSeconds: 12 },
  ],
});

test('source lists: the admin CLI asks, the relay (another connection) answers once; the CLI reads and removes the answer; stale requests are passed over and pruned', async (t) => {
  const { store: admin, path, clock } = await tmpStore(t);
  const relay = openSqliteStore(path, { now: clock.now });
  t.after(() => relay.close());

  assert.deepEqual(await relay.sourceLists.unanswered(), []);
  const first = await admin.sourceLists.request();
  const second = await admin.sourceLists.request();
  assert.deepEqual(await relay.sourceLists.unanswered(), [first, second]);
  assert.equal(await admin.sourceLists.answerOf(first), undefined, 'not answered yet');

  await relay.sourceLists.answer(first, list('2026-12-03T18:00:00.000Z'));
  await relay.sourceLists.answer(first, list('2026-12-03T18:00:01.000Z'));
  assert.deepEqual(await admin.sourceLists.answerOf(first), list('2026-12-03T18:00:00.000Z'), 'the first answer stays');
  assert.deepEqual(await relay.sourceLists.unanswered(), [second]);
  assert.equal(await admin.sourceLists.answerOf(9999), undefined, 'no such request');

  // A relay answers a bounded number of requests per poll, oldest first.
  for (let i = 0; i < 15; i++) await admin.sourceLists.request();
  const batch = await relay.sourceLists.unanswered();
  assert.equal(batch.length, 10);
  assert.equal(batch[0], second);

  // Nobody waits longer than 5 min for an answer: older requests are passed over, then pruned.
  clock.advance(5 * 60 * 1000 + 1);
  assert.deepEqual(await relay.sourceLists.unanswered(), []);
  const third = await admin.sourceLists.request();
  assert.deepEqual(await relay.sourceLists.unanswered(), [third]);
  assert.ok(third > second);
  clock.advance(5 * 60 * 1000);
  const fourth = await admin.sourceLists.request();
  assert.deepEqual(await relay.sourceLists.unanswered(), [third, fourth]);
  const rows = () => (admin.db.prepare('SELECT COUNT(*) AS n FROM source_lists').get() as { n: number }).n;
  assert.equal(rows(), 2, 'rows older than 10 min are pruned');

  // The asker, done with its answer, removes its row: a list of 1 000 sources is not kept.
  await relay.sourceLists.answer(third, list('2026-12-03T18:10:00.000Z'));
  await admin.sourceLists.forget(third);
  assert.equal(await admin.sourceLists.answerOf(third), undefined);
  assert.equal(rows(), 1);
});

test('an answer that is not what a relay writes is an error that says so, not a list', async (t) => {
  const { store } = await tmpStore(t);
  const id = await store.sourceLists.request();
  for (const garbage of ['{"total":-1}', 'not json']) {
    store.db.prepare('UPDATE source_lists SET answered_at = ?, answer = ? WHERE id = ?').run('x', garbage, id);
    await assert.rejects(store.sourceLists.answerOf(id), {
      message: `the relay's answer to list request ${id} is not readable`,
    });
  }
});
