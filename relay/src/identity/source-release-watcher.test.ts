import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { EVERY_SOURCE, type SourceRelease, type SourceReleaseStore } from '../store/types.js';
import { SourceReleaseWatcher } from './source-release-watcher.js';

/** A store of release requests in memory, which can be made to fail. */
function requests() {
  const list: SourceRelease[] = [];
  let failing = false;
  const store: SourceReleaseStore = {
    request: async (network) => list.push({ id: list.length + 1, network }),
    after: async (id) => {
      if (failing) throw new Error('database is locked');
      return list.filter((r) => r.id > id);
    },
    latest: async () => list.length,
  };
  return { store, fail: (on: boolean) => (failing = on) };
}

test('the watcher applies each request made since it started, once and in order; older ones are not its business', async () => {
  const { store, fail } = requests();
  await store.request('198.51.100.1');
  const released: string[] = [];
  const watcher = new SourceReleaseWatcher({
    store,
    release: (network) => (released.push(network), 1),
    logger: pino({ level: 'silent' }),
    intervalMs: 60_000,
  });
  await watcher.start();
  await watcher.poll();
  assert.deepEqual(released, [], 'a request made before the relay started');

  await store.request('203.0.113.7');
  await store.request(EVERY_SOURCE);
  await watcher.poll();
  await watcher.poll();
  assert.deepEqual(released, ['203.0.113.7', EVERY_SOURCE]);

  // A store that cannot be read this time: the request is applied on a later poll, not lost.
  await store.request('203.0.113.8');
  fail(true);
  await watcher.poll();
  fail(false);
  await watcher.poll();
  assert.deepEqual(released, ['203.0.113.7', EVERY_SOURCE, '203.0.113.8']);
  watcher.close();
});
