import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeTestOrg } from '../testing/org.js';
import { CrlKeeper } from './crl-keeper.js';
import { anchorFingerprint, parseAnchor } from './anchor.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-crl-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const org = await makeTestOrg();

test('the keeper takes only newer valid lists, keeps them on disk, and is never rolled back', async () => {
  const file = join(dir, 'crl.json');
  const keeper = await CrlKeeper.open(org.anchor, file);
  assert.equal(keeper.refusal(Date.now())?.code, 'crl_missing');
  assert.deepEqual(await keeper.offer(await org.crl(2)), { outcome: 'newer', seq: 2 });
  assert.deepEqual(await keeper.offer(await org.crl(1, { users: ['alice'] })), { outcome: 'older', seq: 1 });
  assert.deepEqual(await keeper.offer(await org.crl(2, { users: ['alice'] })), { outcome: 'same', seq: 2 });
  const stranger = await makeTestOrg('Intruder');
  const forged = await keeper.offer(await stranger.crl(99));
  assert.equal(forged.outcome, 'invalid');
  assert.equal(keeper.claims?.seq, 2);
  assert.equal(keeper.refusal(Date.now()), undefined);
  // A restart remembers seq 2, so an older list cannot be slipped in afterwards.
  const reopened = await CrlKeeper.open(org.anchor, file);
  assert.equal(reopened.claims?.seq, 2);
  assert.equal((await reopened.offer(await org.crl(1))).outcome, 'older');
  // A file edited to hold something else is not believed.
  writeFileSync(file, JSON.stringify({ chain: await stranger.crl(50) }));
  assert.equal((await CrlKeeper.open(org.anchor, file)).claims, undefined);
  assert.ok(readFileSync(file, 'utf8').length > 0);
});

test('an expired newest list refuses new sessions (fail closed)', async () => {
  const keeper = await CrlKeeper.open(org.anchor);
  await keeper.offer(await org.crl(1, {}, { nowMs: Date.now() - 20 * 86_400_000 }));
  assert.equal(keeper.refusal(Date.now())?.code, 'crl_stale');
});

test('an anchor is accepted only with the fingerprint a code pinned', () => {
  assert.equal(parseAnchor(org.anchor.text, anchorFingerprint(org.anchor.text)).ok, true);
  const r = parseAnchor(org.anchor.text, anchorFingerprint('something else'));
  assert.equal(r.ok ? '' : r.error.code, 'anchor_mismatch');
  const tampered = org.anchor.text.replace('Test Org', 'Test Orh');
  assert.equal(parseAnchor(tampered, org.anchor.afp).ok, false);
  const notEd = parseAnchor(
    JSON.stringify({
      v: 1,
      type: 'airlock-anchor',
      org: 'x',
      roots: ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
      createdAt: 'now',
    }),
  );
  assert.equal(notEd.ok ? '' : notEd.error.code, 'anchor_malformed');
});
