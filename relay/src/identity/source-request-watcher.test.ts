import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { HeldSource } from '@airlock/shared';
import {
  EVERY_SOURCE,
  type HeldSourceList,
  type SourceListStore,
  type SourceRelease,
  type SourceReleaseStore,
} from '../store/types.js';
import { SourceRequestWatcher } from './source-request-watcher.js';

/** Release and list requests in memory; the store can be made to fail. */
function requests() {
  const releases: SourceRelease[] = [];
  const lists = new Map<number, HeldSourceList | undefined>();
  let failing = false;
  const failable = () => {
    if (failing) throw new Error('database is locked');
  };
  const releaseStore: SourceReleaseStore = {
    request: async (network) => releases.push({ id: releases.length + 1, network }),
    after: async (id) => (failable(), releases.filter((r) => r.id > id)),
    latest: async () => releases.length,
  };
  const listStore: SourceListStore = {
    request: async () => (lists.set(lists.size + 1, undefined), lists.size),
    unanswered: async () => (failable(), [...lists].filter(([, a]) => !a).map(([id]) => id)),
    answer: async (id, list) => void lists.set(id, list),
    answerOf: async (id) => lists.get(id),
    forget: async (id) => void lists.delete(id),
  };
  return { releaseStore, listStore, fail: (on: boolean) => (failing = on) };
}

function watcherOn(r: ReturnType<typeof requests>, held: HeldSource[] = []) {
  const released: string[] = [];
  let asked = 0;
  const watcher = new SourceRequestWatcher({
    releases: r.releaseStore,
    lists: r.listStore,
    release: (network) => (released.push(network), 1),
    held: () => (asked++, { at: '2026-12-03T18:00:00.000Z', sources: held, total: held.length }),
    logger: pino({ level: 'silent' }),
    intervalMs: 60_000,
  });
  return { watcher, released, asked: () => asked };
}

test('the watcher applies each release made since it started, once and in order; older ones are not its business', async () => {
  const r = requests();
  await r.releaseStore.request('198.51.100.1');
  const { watcher, released } = watcherOn(r);
  await watcher.start();
  await watcher.poll();
  assert.deepEqual(released, [], 'a request made before the relay started');

  await r.releaseStore.request('203.0.113.7');
  await r.releaseStore.request(EVERY_SOURCE);
  await watcher.poll();
  await watcher.poll();
  assert.deepEqual(released, ['203.0.113.7', EVERY_SOURCE]);

  // A store that cannot be read this time: the request is applied on a later poll, not lost.
  await r.releaseStore.request('203.0.113.8');
  r.fail(true);
  await watcher.poll();
  r.fail(false);
  await watcher.poll();
  assert.deepEqual(released, ['203.0.113.7', EVERY_SOURCE, '203.0.113.8']);
  watcher.close();
});

test('the watcher answers each list request with what is held now; it makes no list when nobody asked', async () => {
  const r = requests();
  const held: HeldSource[] = [{ source: '203.0.113.7', limit: 'failed-attempts', retryAfterSeconds: 540 }];
  const { watcher, asked } = watcherOn(r, held);
  // A request made before the relay started is answered too: the list is of now, not of then.
  const early = await r.listStore.request();
  await watcher.start();
  await watcher.poll();
  const answer = { at: '2026-12-03T18:00:00.000Z', sources: held, total: 1 };
  assert.deepEqual(await r.listStore.answerOf(early), answer);
  await watcher.poll();
  assert.equal(asked(), 1, 'no list is made while no request waits');

  const [a, b] = [await r.listStore.request(), await r.listStore.request()];
  r.fail(true);
  await watcher.poll();
  assert.equal(await r.listStore.answerOf(a), undefined);
  r.fail(false);
  await watcher.poll();
  assert.deepEqual([await r.listStore.answerOf(a), await r.listStore.answerOf(b)], [answer, answer]);
  assert.equal(asked(), 2, 'one list for the requests of one poll');
  watcher.close();
});
