import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashSecret } from '@airlock/shared';
import { makeTestOrg } from '@airlock/shared/testing';
import type { AuditEventInput } from '../store/types.js';
import { tmpStore } from '../store/test-support/tmp-store.js';
import { OrgAdmin } from './org-admin.js';

const PIN = `sha256/${Buffer.alloc(32, 7).toString('base64')}`;

async function setUp(t: Parameters<typeof tmpStore>[0]) {
  const { store } = await tmpStore(t);
  const events: AuditEventInput[] = [];
  const admin = new OrgAdmin({
    store,
    audit: { record: async (e) => void events.push(e) },
    enrollment: { relayUrl: 'https://relay.example.org:7443', pin: PIN },
  });
  return { store, admin, events, org: await makeTestOrg() };
}

const answerFor = async (org: Awaited<ReturnType<typeof makeTestOrg>>, kind: 'user' | 'vm', sub: string) =>
  org.code(kind, sub);

test('the anchor is set once; a different one needs --replace; requests need it and a known subject', async (t) => {
  const { admin, org, store } = await setUp(t);
  const noAnchor = await admin.request('test', 'user', 'alice');
  assert.equal(noAnchor.ok, false);
  assert.equal((await admin.setAnchor('test', org.anchor.text)).ok, true);
  const same = await admin.setAnchor('test', org.anchor.text);
  assert.ok(same.ok && !same.value.changed);
  const other = await makeTestOrg('Other Org');
  const refused = await admin.setAnchor('test', other.anchor.text);
  assert.ok(!refused.ok && refused.error.code === 'conflict', 'a different anchor replaced the pinned one silently');
  assert.equal((await admin.setAnchor('test', 'not an anchor')).ok, false);
  const unknown = await admin.request('test', 'user', 'alice');
  assert.ok(!unknown.ok && unknown.error.code === 'not_found');
  await store.users.create('alice');
  const request = await admin.request('test', 'user', 'alice');
  assert.ok(request.ok);
  assert.equal(request.value.afp, org.anchor.afp);
  assert.equal(request.value.relayPin, PIN);
});

test("accept stores only the secret's hash and the public chain, for a credential of this organisation", async (t) => {
  const { admin, org, store, events } = await setUp(t);
  await admin.setAnchor('test', org.anchor.text);
  await store.vms.create({ id: 'vm-1', ports: [] });
  const { answer, relaySecret } = await answerFor(org, 'vm', 'vm-1');
  const accepted = await admin.accept('test', answer);
  assert.ok(accepted.ok, accepted.ok ? '' : accepted.error.message);
  const consumed = await store.codes.consume('agent-enrollment', hashSecret(relaySecret), new Date());
  assert.ok(consumed.ok);
  assert.deepEqual(consumed.code.orgChain, answer.chain);
  // Another organisation's credential, or one for another subject, is refused.
  const foreign = await answerFor(await makeTestOrg(), 'vm', 'vm-1');
  const refused = await admin.accept('test', foreign.answer);
  assert.ok(!refused.ok && /not_chained_to_org_root|refused/.test(refused.error.message));
  const swapped = await answerFor(org, 'vm', 'vm-1');
  const renamed = await admin.accept('test', { ...swapped.answer, sub: 'vm-2' });
  assert.equal(renamed.ok, false);
  assert.ok(events.some((e) => e.type === 'admin.org.accept' && e.outcome === 'failure'));
});

test('revocation lists: only valid lists of this organisation, never an older one', async (t) => {
  const { admin, org } = await setUp(t);
  assert.equal((await admin.setCrl('test', await org.crl(1))).ok, false, 'a list was taken without an anchor');
  await admin.setAnchor('test', org.anchor.text);
  assert.ok((await admin.setCrl('test', await org.crl(2))).ok);
  const older = await admin.setCrl('test', await org.crl(1));
  assert.ok(!older.ok && older.error.code === 'conflict');
  const forged = await admin.setCrl('test', await (await makeTestOrg()).crl(9));
  assert.equal(forged.ok, false);
  const status = await admin.status();
  assert.equal(status.crl?.seq, 2);
  assert.equal(status.anchor?.afp, org.anchor.afp);
});

test("a new organisation's anchor drops the old one's list: the new one's lists count from 1", async (t) => {
  const { admin, org, store } = await setUp(t);
  await admin.setAnchor('test', org.anchor.text);
  assert.ok((await admin.setCrl('test', await org.crl(3))).ok);
  const next = await makeTestOrg('Next Org');
  assert.ok((await admin.setAnchor('test', next.anchor.text, true)).ok);
  assert.equal((await store.org.get()).crl, undefined, "the old organisation's list is not served");
  const first = await admin.setCrl('test', await next.crl(1));
  assert.ok(first.ok, first.ok ? '' : first.error.message);
  assert.equal((await admin.status()).crl?.seq, 1);
  // The same anchor again changes nothing and keeps the list.
  assert.ok((await admin.setAnchor('test', next.anchor.text, true)).ok);
  assert.equal((await store.org.get()).crl?.seq, 1);
});

test('accept refuses a code the revocation list this relay holds already revokes', async (t) => {
  const { admin, org, store } = await setUp(t);
  await admin.setAnchor('test', org.anchor.text);
  assert.ok((await admin.setCrl('test', await org.crl(5, { users: ['alice'] }))).ok);
  await store.users.create('alice');
  await store.users.create('bob');
  const revoked = await admin.accept('test', (await answerFor(org, 'user', 'alice')).answer);
  assert.ok(!revoked.ok);
  assert.match(
    revoked.error.message,
    /the answer's credential is refused: user alice was revoked \(revocation list 5\)/,
  );
  const fine = await admin.accept('test', (await answerFor(org, 'user', 'bob')).answer);
  assert.ok(fine.ok, fine.ok ? '' : fine.error.message);
});

test('the same answer accepted twice: said so, with nothing to do', async (t) => {
  const { admin, org, store } = await setUp(t);
  await admin.setAnchor('test', org.anchor.text);
  await store.users.create('erin');
  const { answer } = await answerFor(org, 'user', 'erin');
  assert.ok((await admin.accept('test', answer)).ok);
  const again = await admin.accept('test', answer);
  assert.ok(!again.ok);
  assert.equal(again.error.code, 'exists');
  assert.match(again.error.message, /this answer was accepted before: the code for user erin is already on this relay/);
  assert.match(again.error.hint ?? '', /^nothing to do/);
});
