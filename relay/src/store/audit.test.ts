import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GENESIS_HASH, entryHash } from '../audit/chain.js';
import { openSqliteStore } from './sqlite-store.js';
import { fakeSha, storeError } from './test-support/assertions.js';
import { tmpStore } from './test-support/tmp-store.js';
import type { AuditEventInput, RelayStore } from './types.js';

const at = (s: number): Date => new Date(Date.parse('2030-01-01T00:00:00.000Z') + s * 1000);

test('append builds the chain: seq 1..n, prevHash links, hash = entryHash', async (t) => {
  const { store } = await tmpStore(t);
  assert.equal(await store.audit.last(), undefined);
  const first = await store.audit.append(
    { type: 'login.success', actor: 'user:alice', outcome: 'success', sid: 's1', source: '10.0.0.1', data: { a: 1 } },
    at(0),
  );
  assert.equal(first.seq, 1);
  assert.equal(first.ts, '2030-01-01T00:00:00.000Z');
  assert.equal(first.prevHash, GENESIS_HASH);
  const { hash, ...rest } = first;
  assert.equal(hash, entryHash(rest));

  const second = await store.audit.append({ type: 'relay.start', actor: 'relay', outcome: 'info', data: {} });
  assert.equal(second.seq, 2);
  assert.equal(second.prevHash, first.hash);
  assert.ok(!('sid' in second) && !('source' in second), 'absent, not undefined');
  assert.equal(second.ts, '2030-01-01T00:00:00.000Z', "the store's clock when no time is given");
  assert.deepEqual(await store.audit.last(), second);
  assert.deepEqual(await store.audit.range(0, 10), [first, second]);
  assert.deepEqual(await store.audit.range(1, 10), [second]);
  assert.deepEqual(await store.audit.range(0, 1), [first]);
});

test('the hash covers what is stored: non-JSON values in data are normalized first', async (t) => {
  const { store, path } = await tmpStore(t);
  const e = await store.audit.append({
    type: 'x',
    actor: 'relay',
    outcome: 'info',
    data: { when: new Date(0), nested: { b: 2, a: undefined, c: [1, undefined] } },
  });
  assert.deepEqual(e.data, { when: '1970-01-01T00:00:00.000Z', nested: { b: 2, c: [1, null] } });
  const reopened = openSqliteStore(path);
  t.after(() => reopened.close());
  const [read] = await reopened.audit.range(0, 1);
  assert.deepEqual(read, e);
  const { hash, ...rest } = read!;
  assert.equal(hash, entryHash(rest));
});

test('append refuses malformed events as StoreError("invalid")', async (t) => {
  const { store } = await tmpStore(t);
  const good: AuditEventInput = { type: 'x', actor: 'relay', outcome: 'info', data: {} };
  await assert.rejects(store.audit.append({ ...good, type: '' }), storeError('invalid', /type/));
  await assert.rejects(store.audit.append({ ...good, outcome: 'maybe' as 'info' }), storeError('invalid', /outcome/));
  await assert.rejects(
    store.audit.append({ ...good, data: 'x' as unknown as Record<string, unknown> }),
    storeError('invalid'),
  );
  assert.equal(await store.audit.last(), undefined);
});

async function seed(store: RelayStore): Promise<void> {
  const events: [number, AuditEventInput][] = [
    [0, { type: 'login.success', actor: 'user:alice', outcome: 'success', data: {} }],
    [10, { type: 'session.open', actor: 'user:alice', outcome: 'success', sid: 's1', data: {} }],
    [20, { type: 'login.failure', actor: 'user:bob', outcome: 'failure', data: { reason: 'totp' } }],
    [30, { type: 'session.close', actor: 'user:alice', outcome: 'info', sid: 's1', data: { bytes: 10 } }],
    [40, { type: 'admin.user.create', actor: 'cli:root', outcome: 'success', data: { user: 'carol' } }],
    [50, { type: 'login', actor: 'user:carol', outcome: 'success', data: {} }],
  ];
  for (const [s, e] of events) await store.audit.append(e, at(s));
}

test('query filters by type, type prefix, actor, sid, time; orders and limits', async (t) => {
  const { store } = await tmpStore(t);
  await seed(store);
  const seqs = async (q: Parameters<RelayStore['audit']['query']>[0]): Promise<number[]> =>
    (await store.audit.query(q)).map((e) => e.seq);

  assert.deepEqual(await seqs({}), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(await seqs(undefined), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(await seqs({ type: 'login.failure' }), [3]);
  assert.deepEqual(await seqs({ type: 'login.*' }), [1, 3, 6]);
  assert.deepEqual(await seqs({ type: 'admin.*' }), [5]);
  assert.deepEqual(await seqs({ type: 'log.*' }), []);
  assert.deepEqual(await seqs({ actor: 'user:alice' }), [1, 2, 4]);
  assert.deepEqual(await seqs({ sid: 's1' }), [2, 4]);
  assert.deepEqual(await seqs({ since: at(20).toISOString() }), [3, 4, 5, 6]);
  assert.deepEqual(await seqs({ until: at(20).toISOString() }), [1, 2], 'until is exclusive');
  assert.deepEqual(await seqs({ since: '2030-01-01T00:00:10Z', until: '2030-01-01T00:00:40Z' }), [2, 3, 4]);
  assert.deepEqual(await seqs({ descending: true }), [6, 5, 4, 3, 2, 1]);
  assert.deepEqual(await seqs({ descending: true, limit: 2 }), [6, 5]);
  assert.deepEqual(await seqs({ afterSeq: 2, limit: 2 }), [3, 4]);
  assert.deepEqual(await seqs({ afterSeq: 2, actor: 'user:alice' }), [4]);
  assert.deepEqual(await seqs({ actor: 'user:alice', descending: true, limit: 1 }), [4]);
  assert.deepEqual(await seqs({ actor: 'user:alice', type: 'session.*', since: at(15).toISOString() }), [4]);

  await assert.rejects(store.audit.query({ since: 'yesterday' }), storeError('invalid', /since/));
  await assert.rejects(store.audit.query({ limit: 0 }), storeError('invalid', /limit/));
  await assert.rejects(store.audit.range(-1, 10), storeError('invalid'));
});

test('checkpoints must name an existing entry with its hash; listed in seq order', async (t) => {
  const { store } = await tmpStore(t);
  await seed(store);
  const [e2, e5] = [(await store.audit.range(1, 1))[0]!, (await store.audit.range(4, 1))[0]!];
  const cp = (e: { seq: number; hash: string }, key = 'PEM-1') => ({
    seq: e.seq,
    hash: e.hash,
    ts: '2030-01-01T01:00:00Z',
    signature: 'c2ln',
    publicKeyPem: key,
  });
  assert.deepEqual(await store.audit.checkpoints(), []);
  await store.audit.addCheckpoint(cp(e5));
  await store.audit.addCheckpoint(cp(e2));
  await store.audit.addCheckpoint(cp(e5, 'PEM-2'));
  assert.deepEqual(await store.audit.checkpoints(), [cp(e2), cp(e5), cp(e5, 'PEM-2')]);

  await assert.rejects(store.audit.addCheckpoint(cp({ seq: 99, hash: fakeSha(1) })), storeError('not_found'));
  await assert.rejects(store.audit.addCheckpoint(cp({ seq: 2, hash: fakeSha(1) })), storeError('invalid'));
});

test('sink cursors start at 0 and persist', async (t) => {
  const { store, path } = await tmpStore(t);
  assert.equal(await store.audit.getCursor('http'), 0);
  await store.audit.setCursor('http', 5);
  await store.audit.setCursor('http', 7);
  await store.audit.setCursor('file', 3);
  const reopened = openSqliteStore(path);
  t.after(() => reopened.close());
  assert.equal(await reopened.audit.getCursor('http'), 7);
  assert.equal(await reopened.audit.getCursor('file'), 3);
  await assert.rejects(store.audit.setCursor('http', -1), storeError('invalid'));
});
