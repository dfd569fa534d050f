import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { makeTestOrg } from '@airlock/shared/testing';
import { tmpStore } from '../store/test-support/tmp-store.js';
import { announceOrgRoot } from './announce.js';
import { OrgView } from './org-view.js';

/** The relay's start-up line about its trust, as JSON records. */
async function announced(
  setUp: (store: Awaited<ReturnType<typeof tmpStore>>['store']) => Promise<void>,
  t: Parameters<typeof tmpStore>[0],
) {
  const { store } = await tmpStore(t);
  await setUp(store);
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  await announceOrgRoot(new OrgView(store, Date.now), logger, Date.now);
  assert.equal(lines.length, 1);
  return lines[0]!;
}

test('without a root the relay says at start that it can impersonate users and VMs', async (t) => {
  const line = await announced(async () => {}, t);
  assert.equal(line.level, 40);
  assert.equal(line.trust, 'relay-only');
  assert.match(String(line.msg), /WITHOUT an organisation root.*impersonate users to VMs and VMs to users/);
});

test('with a root: no list is a warning, a list ending within 3 days is a warning, a fresh one is information', async (t) => {
  const org = await makeTestOrg();
  const noList = await announced((s) => s.org.setAnchor(org.anchor.text), t);
  assert.equal(noList.level, 40);
  assert.match(String(noList.msg), /no revocation list/);
  const ending = await announced(async (s) => {
    await s.org.setAnchor(org.anchor.text);
    await s.org.setCrl(await org.crl(1, {}, { seconds: 24 * 3600 }), 1);
  }, t);
  assert.equal(ending.level, 40);
  assert.match(String(ending.msg), /expires within 3 days/);
  const fresh = await announced(async (s) => {
    await s.org.setAnchor(org.anchor.text);
    await s.org.setCrl(await org.crl(2), 2);
  }, t);
  assert.equal(fresh.level, 30);
  assert.equal(fresh.trust, 'org-root');
  assert.equal(fresh.afp, org.anchor.afp);
  assert.equal(fresh.crlSeq, 2);
});
