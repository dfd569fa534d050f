import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeTestOrg } from '@airlock/shared/testing';
import { tmpStore } from '../store/test-support/tmp-store.js';
import { OrgView } from './org-view.js';

const DAY_MS = 24 * 3600_000;

test("a dial carries the newer of Connect's and the relay's revocation lists; one not of the organisation only when there is no other", async (t) => {
  const org = await makeTestOrg();
  const { store } = await tmpStore(t);
  await store.org.setAnchor(org.anchor.text);
  const view = new OrgView(store, Date.now);
  const list = (seq: number) => org.crl(seq);
  const stale = await org.crl(2, {}, { nowMs: Date.now() - 20 * DAY_MS }); // signed for 14 days, 20 days ago

  // The relay has none: Connect's goes along.
  const two = await list(2);
  assert.deepEqual(await view.crlForDial(two), two);

  // The relay's is newer (a renewal Connect has not seen yet): the relay's, not Connect's stale one.
  const three = await list(3);
  await store.org.setCrl(three, 3);
  assert.deepEqual(await view.crlForDial(stale), three);
  assert.deepEqual(await view.crlForDial(two), three);
  assert.deepEqual(await view.crlForDial(undefined), three);

  // Connect's is newer (a relay that withheld the newest): Connect's.
  const four = await list(4);
  assert.deepEqual(await view.crlForDial(four), four);

  // Not the organisation's: never preferred to a good one.
  const other = await makeTestOrg('Other Org');
  assert.deepEqual(await view.crlForDial(await other.crl(9)), three);

  // A relay whose own list has expired: Connect's newer one; a list not of the organisation never
  // replaces the relay's (its freshness is the agent's to judge, and to say why it refuses).
  const { store: staleStore } = await tmpStore(t);
  await staleStore.org.setAnchor(org.anchor.text);
  await staleStore.org.setCrl(stale, 2);
  const staleView = new OrgView(staleStore, Date.now);
  assert.deepEqual(await staleView.crlForDial(three), three);
  const foreign = await other.crl(9);
  assert.deepEqual(await staleView.crlForDial(foreign), stale);
  assert.deepEqual(await staleView.crlForDial(undefined), stale);
});
