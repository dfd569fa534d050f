import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainEntry, GENESIS_HASH } from './chain.js';
import { signCheckpoint } from './checkpoints.js';
import { verifyAuditChain, verifyStore, type VerifyResult } from './verify.js';
import { MemoryAuditStore, sampleEvent } from './test-support/memory-audit-store.js';
import { testKey } from './test-support/fixtures.js';
import type { AuditEntry } from '../store/types.js';

async function chainOf(n: number): Promise<MemoryAuditStore> {
  const store = new MemoryAuditStore();
  for (let i = 1; i <= n; i++) await store.append(sampleEvent(i), new Date(Date.UTC(2030, 0, 1, 0, 0, i)));
  return store;
}

function broken(r: VerifyResult): Extract<VerifyResult, { ok: false }> {
  assert.equal(r.ok, false, JSON.stringify(r));
  return r as Extract<VerifyResult, { ok: false }>;
}

test('an empty log verifies; so does a chain given as a plain array', async () => {
  assert.deepEqual(await verifyAuditChain([], []), {
    ok: true,
    entries: 0,
    lastSeq: 0,
    lastHash: GENESIS_HASH,
    checkpointsVerified: 0,
    unsigned: 0,
  });
  const store = await chainOf(3);
  const r = await verifyAuditChain(store.entries, []);
  assert.equal(r.ok && r.entries, 3);
});

test('the chain survives a JSON round trip with keys in another order', async () => {
  const store = await chainOf(5);
  const shuffled = store.entries.map((e) => {
    const copy = JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(copy).reverse()) as unknown as AuditEntry;
  });
  assert.equal((await verifyAuditChain(shuffled, [])).ok, true);
});

test('verifyStore pages through a long log', async () => {
  const store = await chainOf(1203);
  const r = await verifyStore(store);
  assert.equal(r.ok && r.lastSeq, 1203);
});

test('first entry edited, and first entry missing', async () => {
  const store = await chainOf(4);
  store.entries[0]!.outcome = 'failure';
  assert.deepEqual([broken(await verifyStore(store)).seq, broken(await verifyStore(store)).problem], [1, 'edited']);
  const fresh = await chainOf(4);
  fresh.entries.shift();
  const r = broken(await verifyStore(fresh));
  assert.deepEqual([r.seq, r.problem], [1, 'deleted']);
});

test('an entry moved far ahead is reported as reordered where it should have been', async () => {
  const store = await chainOf(12);
  const [moved] = store.entries.splice(2, 1); // entry 3 now comes after entry 9
  store.entries.splice(8, 0, moved!);
  const r = broken(await verifyAuditChain(store.entries, []));
  assert.deepEqual([r.seq, r.problem], [3, 'reordered']);
});

test('the first break is reported even when a later checkpoint is also bad', async () => {
  const store = await chainOf(12);
  const { key, publicKeyPem } = testKey();
  const good = signCheckpoint(store.entries[9]!, key.privateKey, publicKeyPem);
  store.entries[4]!.data = { changed: true };
  const r = broken(await verifyStore(store));
  assert.equal(r.seq, 5);
  const bad = { ...good, signature: good.signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) };
  const r2 = broken(await verifyAuditChain(store.entries, [bad]));
  assert.deepEqual([r2.seq, r2.problem], [5, 'edited']);
});

test('checkpoints: signed by the relay key verify; another key or a malformed one does not', async () => {
  const store = await chainOf(6);
  const relay = testKey();
  const other = testKey();
  const cp = signCheckpoint(
    { ...store.entries[5]!, ts: '2030-01-01T01:00:00.000Z' },
    relay.key.privateKey,
    relay.publicKeyPem,
  );
  await store.addCheckpoint(cp);
  const ok = await verifyStore(store, { trustedPublicKeysPem: [relay.publicKeyPem] });
  assert.equal(ok.ok && ok.checkpointsVerified, 1);

  const r = broken(await verifyStore(store, { trustedPublicKeysPem: [other.publicKeyPem] }));
  assert.deepEqual([r.seq, r.problem], [6, 'bad_checkpoint']);
  assert.match(r.message, /not trusted/);

  // A later ts than was signed: the signature covers the ts.
  const moved = { ...cp, ts: '2030-01-01T02:00:00.000Z' };
  assert.equal(broken(await verifyAuditChain(store.entries, [moved])).problem, 'bad_checkpoint');
  assert.equal(broken(await verifyAuditChain(store.entries, [{ ...cp, hash: 'nope' }])).problem, 'bad_checkpoint');
  assert.equal(broken(await verifyAuditChain(store.entries, [{ ...cp, publicKeyPem: 'x' }])).problem, 'bad_checkpoint');
});

test('a forged checkpoint past the end is bad_checkpoint, not truncated', async () => {
  const store = await chainOf(3);
  const relay = testKey();
  const forged = {
    seq: 9,
    hash: 'c'.repeat(64),
    ts: '2030-01-01T00:00:00.000Z',
    signature: 'AAAA',
    publicKeyPem: relay.publicKeyPem,
  };
  const r = broken(await verifyAuditChain(store.entries, [forged]));
  assert.deepEqual([r.seq, r.problem], [9, 'bad_checkpoint']);
});

test('an entry that cannot be read is reported at its position', async () => {
  const store = await chainOf(3);
  async function* failing() {
    yield* store.entries;
    throw new Error('malformed JSON in column data');
  }
  const r = broken(await verifyAuditChain(failing(), []));
  assert.deepEqual([r.seq, r.problem], [4, 'edited']);
  assert.match(r.message, /malformed JSON/);
  const shapeless = [...store.entries, { seq: 4 } as unknown as AuditEntry];
  assert.equal(broken(await verifyAuditChain(shapeless, [])).seq, 4);
});

test('an entry appended with a made-up hash is edited; a duplicate of the last is inserted', async () => {
  const store = await chainOf(3);
  const last = store.entries[2]!;
  const made = { ...chainEntry(last, sampleEvent(9), new Date()), hash: 'd'.repeat(64) };
  const r = broken(await verifyAuditChain([...store.entries, made], []));
  assert.deepEqual([r.seq, r.problem], [4, 'edited']);
  const dup = broken(await verifyAuditChain([...store.entries, last], []));
  assert.deepEqual([dup.seq, dup.problem], [4, 'inserted']);
});

test('entries after the last checkpoint: counted; past the bound, refused as unsigned', async () => {
  const store = await chainOf(30);
  const counted = await verifyAuditChain(store.entries, []);
  assert.equal(counted.ok && counted.unsigned, 30);
  // A log whose entries were deleted, the rest renumbered and rehashed, and every checkpoint
  // deleted reads like this one: only the bound on what no signature covers tells them apart.
  const r = await verifyStore(store, { maxUnsigned: 20 });
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.problem === 'unsigned' && r.seq === 1, JSON.stringify(r));
  assert.match(!r.ok ? r.message : '', /entries 1–30 \(30\) are covered by no signed checkpoint/);
});
