import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openSqliteStore } from './sqlite-store.js';
import { tmpStore } from './test-support/tmp-store.js';

test('source releases: the admin CLI writes, the relay (another connection) reads what came after what it saw; a day later they are pruned', async (t) => {
  const { store: admin, path, clock } = await tmpStore(t);
  const relay = openSqliteStore(path);
  t.after(() => relay.close());

  assert.equal(await relay.sourceReleases.latest(), 0);
  const first = await admin.sourceReleases.request('203.0.113.7');
  const second = await admin.sourceReleases.request('*');
  assert.ok(second > first);
  assert.equal(await relay.sourceReleases.latest(), second);
  assert.deepEqual(await relay.sourceReleases.after(0), [
    { id: first, network: '203.0.113.7' },
    { id: second, network: '*' },
  ]);
  assert.deepEqual(await relay.sourceReleases.after(first), [{ id: second, network: '*' }]);
  assert.deepEqual(await relay.sourceReleases.after(second), []);

  clock.advance(24 * 60 * 60 * 1000 + 1);
  const third = await admin.sourceReleases.request('2001:db8:0:1::');
  assert.deepEqual(await relay.sourceReleases.after(0), [{ id: third, network: '2001:db8:0:1::' }]);
  assert.ok(third > second, 'ids are never reused, so a relay never takes a new request for one it saw');
});
