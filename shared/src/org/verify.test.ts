import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { makeTestOrg } from '../testing/org.js';
import { sshFingerprint, sshPublicKeyBlob } from '../fingerprint.js';
import { publicKeyFingerprint, generateEd25519 } from './keys.js';
import { issueLogin } from './issue.js';
import { signOrgObject, type CrlClaims } from './objects.js';
import {
  verifyCrl,
  verifyUserChain,
  verifyVmChain,
  verifyVmIdentity,
  verifyCredential,
  verifyEnrolled,
} from './verify.js';
import { ed25519FromSeed } from './keys.js';
import { randomBytes } from 'node:crypto';
import { issueCredential } from './issue.js';

const NOW = Date.now();
const HOUR = 3600_000;
const T = Math.floor(NOW / 1000);
const DAY = 24 * HOUR;
const sessionFp = () => sshFingerprint(sshPublicKeyBlob(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey));
const org = await makeTestOrg();
const crlOf = async (chain: string[]): Promise<CrlClaims> => {
  const r = await verifyCrl(org.anchor, chain);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
};
const crl1 = await crlOf(await org.crl(1));

async function refusalOf(p: Promise<{ ok: boolean; error?: { code: string } }>): Promise<string> {
  const r = await p;
  assert.equal(r.ok, false, 'expected a refusal');
  return r.error!.code;
}

test('a user chain signed by a root, or by an approver, verifies for its user and session key', async () => {
  const ukey = sessionFp();
  const alice = await org.user('alice');
  const direct = await verifyUserChain(org.anchor, await alice.login(ukey), { user: 'alice', ukey }, crl1, NOW);
  assert.ok(direct.ok, JSON.stringify(direct));
  assert.equal(direct.value.device, publicKeyFingerprint(alice.deviceKey));
  const carol = await org.approver('carol');
  const bob = await org.user('bob', { signer: carol });
  const viaApprover = await verifyUserChain(org.anchor, await bob.login(ukey), { user: 'bob', ukey }, crl1, NOW);
  assert.ok(viaApprover.ok, JSON.stringify(viaApprover));
  assert.equal(viaApprover.value.approver, 'carol');
});

test('the backup root certifies as well as the primary', async () => {
  const ukey = sessionFp();
  const alice = await org.user('alice', { signer: { key: org.roots[1]!, chain: [] } });
  assert.ok((await verifyUserChain(org.anchor, await alice.login(ukey), { user: 'alice', ukey }, crl1, NOW)).ok);
});

test('user chains the agent must refuse, each with its reason', async () => {
  const ukey = sessionFp();
  const alice = await org.user('alice');
  const chain = await alice.login(ukey);
  const check = (c: unknown, expect = { user: 'alice', ukey }, crl: CrlClaims | undefined = crl1, now = NOW) =>
    refusalOf(verifyUserChain(org.anchor, c, expect, crl, now));

  assert.equal(await check(undefined), 'no_chain');
  assert.equal(await check([]), 'no_chain');
  assert.equal(await check(['not a jws']), 'malformed');
  // A stranger's organisation: its own root signed the credential.
  const other = await makeTestOrg('Intruder');
  const forged = await (await other.user('alice')).login(ukey);
  assert.equal(await check(forged), 'not_chained_to_org_root');
  // A device key the intruder registered, with a login certificate it signed itself.
  const intruderDevice = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const selfSigned = [...chain.slice(0, 2), await issueLogin(intruderDevice, { sub: 'alice', ukey, seconds: 600 })];
  assert.equal(await check(selfSigned), 'not_chained_to_org_root');
  // The real chain, another key in the ticket; bob's real chain, a ticket for alice.
  assert.equal(await check(chain, { user: 'alice', ukey: sessionFp() }), 'ukey_mismatch');
  const bob = await org.user('bob');
  assert.equal(await check(await bob.login(ukey)), 'sub_mismatch');
  // A VM chain where a user chain belongs.
  const vm = await org.vm('lab-1');
  assert.equal(await check(await vm.hostkey(ukey)), 'not_allowed');
  // Objects out of order, or swapped for another kind.
  assert.equal(await check([chain[0], chain[2], chain[1]]), 'malformed');
  assert.equal(await check([...chain, chain[2]]), 'malformed');
});

test('expiry: device and login certificates must be current; the credential only when it signed', async () => {
  const ukey = sessionFp();
  const refuse = (c: string[], now = NOW) =>
    refusalOf(verifyUserChain(org.anchor, c, { user: 'alice', ukey }, crl1, now));
  // Enrolled 10 days ago with a 3-day code: the credential expired long since, the device works.
  const old = await org.user('alice', { nowMs: NOW - 10 * DAY });
  assert.ok((await verifyUserChain(org.anchor, await old.login(ukey), { user: 'alice', ukey }, crl1, NOW)).ok);
  // A device certificate signed after its credential expired is refused, whenever it is shown.
  const late = await org.user('alice', { nowMs: NOW - 10 * DAY, enrolledAtMs: NOW - 5 * DAY });
  assert.equal(await refuse(await late.login(ukey)), 'expired:cred');
  const shortLived = await org.user('alice', { nowMs: NOW - 3 * DAY, ttl: DAY / 1000 });
  assert.equal(await refuse(await shortLived.login(ukey)), 'expired:device');
  const alice = await org.user('alice');
  assert.equal(await refuse(await alice.login(ukey, { nowMs: NOW - 2 * HOUR, seconds: HOUR / 1000 })), 'expired:login');
  // A login certificate that claims more than 12 hours is refused even while "valid".
  const long = await signOrgObject(
    'login',
    { sub: 'alice', ukey, aud: 'airlock-agent', iat: T - 60, exp: T + DAY / 1000, jti: 'abcdefghij' },
    alice.deviceKey,
  );
  assert.equal(await refuse([...alice.deviceChain, long].map(String)), 'lifetime_too_long');
});

test('revocation: by device key, credential, user, approver; a missing or expired list refuses all', async () => {
  const ukey = sessionFp();
  const carol = await org.approver('carol');
  const alice = await org.user('alice', { signer: carol });
  const chain = await alice.login(ukey);
  const with_ = async (revoked: Parameters<typeof org.crl>[1]) =>
    refusalOf(verifyUserChain(org.anchor, chain, { user: 'alice', ukey }, await crlOf(await org.crl(2, revoked)), NOW));
  assert.equal(await with_({ keys: [publicKeyFingerprint(alice.deviceKey)] }), 'revoked:key');
  assert.equal(await with_({ creds: [alice.credJti] }), 'revoked:cred');
  assert.equal(await with_({ users: ['alice'] }), 'revoked:user');
  assert.equal(await with_({ keys: [publicKeyFingerprint(carol.key)] }), 'revoked:key');
  assert.ok(
    (
      await verifyUserChain(
        org.anchor,
        chain,
        { user: 'alice', ukey },
        await crlOf(await org.crl(2, { users: ['bob'] })),
        NOW,
      )
    ).ok,
  );
  assert.equal(
    await refusalOf(verifyUserChain(org.anchor, chain, { user: 'alice', ukey }, undefined, NOW)),
    'crl_missing',
  );
  const stale = await crlOf(await org.crl(3, {}, { nowMs: NOW - 20 * DAY }));
  assert.equal(await refusalOf(verifyUserChain(org.anchor, chain, { user: 'alice', ukey }, stale, NOW)), 'crl_stale');
});

test('approvers sign only what the root let them, and only while their certificate is valid', async () => {
  const ukey = sessionFp();
  const vmOnly = await org.approver('dave', ['vm']);
  const alice = await org.user('alice', { signer: vmOnly });
  assert.equal(
    await refusalOf(verifyUserChain(org.anchor, await alice.login(ukey), { user: 'alice', ukey }, crl1, NOW)),
    'not_allowed',
  );
  assert.equal(await refusalOf(verifyCrl(org.anchor, await org.crl(5, {}, { signer: vmOnly }))), 'not_allowed');
  const lapsed = await org.approver('erin', ['user'], NOW - 40 * DAY, (10 * DAY) / 1000);
  const bob = await org.user('bob', { signer: lapsed });
  assert.equal(
    await refusalOf(verifyUserChain(org.anchor, await bob.login(ukey), { user: 'bob', ukey }, crl1, NOW)),
    'expired:approver',
  );
  // An approver certificate signed by a key outside the anchor.
  const rogue = await (await makeTestOrg('Intruder')).approver('mallory');
  const carl = await org.user('carl', { signer: rogue });
  assert.equal(
    await refusalOf(verifyUserChain(org.anchor, await carl.login(ukey), { user: 'carl', ukey }, crl1, NOW)),
    'not_chained_to_org_root',
  );
});

test('VM chains Connect must refuse: another VM, another host key, expired, revoked, forged', async () => {
  const hk = sessionFp();
  const lab = await org.vm('lab-1');
  const chain = await lab.hostkey(hk);
  const ok = await verifyVmChain(org.anchor, chain, { vm: 'lab-1', hostKeyFingerprint: hk }, crl1, NOW);
  assert.ok(ok.ok, JSON.stringify(ok));
  assert.equal(ok.value.identity, publicKeyFingerprint(lab.identityKey));
  const refuse = (c: unknown, expect = { vm: 'lab-1', hostKeyFingerprint: hk }, crl = crl1) =>
    refusalOf(verifyVmChain(org.anchor, c, expect, crl, NOW));
  assert.equal(await refuse(chain, { vm: 'lab-2', hostKeyFingerprint: hk }), 'wrong_vm');
  assert.equal(await refuse(chain, { vm: 'lab-1', hostKeyFingerprint: sessionFp() }), 'hostkey_mismatch');
  assert.equal(await refuse(undefined), 'no_chain');
  assert.equal(
    await refuse(await (await makeTestOrg('Intruder')).vm('lab-1').then((v) => v.hostkey(hk))),
    'not_chained_to_org_root',
  );
  const selfSignedHost = [
    ...lab.vmChain,
    await signOrgObject(
      'hostkey',
      { sub: 'lab-1', hostkey: hk, boot: crypto.randomUUID(), iat: T, exp: T + 60 },
      generateEd25519(),
    ),
  ];
  assert.equal(await refuse(selfSignedHost), 'not_chained_to_org_root');
  const expiredId = await org.vm('lab-1', { nowMs: NOW - 3 * DAY, ttl: DAY / 1000 });
  assert.equal(await refuse(await expiredId.hostkey(hk)), 'expired:vmid');
  assert.equal(await refuse(await lab.hostkey(hk, { nowMs: NOW - 8 * DAY })), 'expired:hostkey');
  assert.equal(await refuse(chain, undefined, await crlOf(await org.crl(2, { vms: ['lab-1'] }))), 'revoked:vm');
  assert.equal(
    await refuse(chain, undefined, await crlOf(await org.crl(2, { keys: [publicKeyFingerprint(lab.identityKey)] }))),
    'revoked:key',
  );
  // A user's chain where a VM's belongs.
  const alice = await org.user('alice');
  assert.equal(await refuse(await alice.login(hk)), 'not_allowed');
});

test('a VM chain judged without a host key (airlock vms): names the certified host key; the same refusals otherwise', async () => {
  const hk = sessionFp();
  const lab = await org.vm('lab-1');
  const chain = await lab.hostkey(hk);
  const seen = await verifyVmIdentity(org.anchor, chain, { vm: 'lab-1' }, crl1, NOW);
  assert.ok(seen.ok, JSON.stringify(seen));
  assert.equal(seen.value.hostKey, hk);
  assert.equal(seen.value.identity, publicKeyFingerprint(lab.identityKey));
  const refuse = (c: unknown, vm = 'lab-1', crl = crl1) => refusalOf(verifyVmIdentity(org.anchor, c, { vm }, crl, NOW));
  assert.equal(await refuse(chain, 'lab-2'), 'wrong_vm');
  assert.equal(await refuse(undefined), 'no_chain');
  assert.equal(await refusalOf(verifyVmIdentity(org.anchor, chain, { vm: 'lab-1' }, undefined, NOW)), 'crl_missing');
  assert.equal(await refuse(chain, 'lab-1', await crlOf(await org.crl(2, { vms: ['lab-1'] }))), 'revoked:vm');
  assert.equal(
    await refuse(await (await makeTestOrg('Intruder')).vm('lab-1').then((v) => v.hostkey(hk))),
    'not_chained_to_org_root',
  );
});

test("enrollment: the credential must be current, for this subject, and for the code's key", async () => {
  const credKey = ed25519FromSeed(randomBytes(32));
  const { chain } = await issueCredential(org.root, { kind: 'user', sub: 'alice', key: credKey });
  assert.ok((await verifyCredential(org.anchor, chain, { kind: 'user', sub: 'alice', key: credKey }, NOW)).ok);
  const refuse = (c: string[], expect: Parameters<typeof verifyCredential>[2], now = NOW) =>
    refusalOf(verifyCredential(org.anchor, c, expect, now));
  assert.equal(await refuse(chain, { kind: 'user', sub: 'bob', key: credKey }), 'sub_mismatch');
  assert.equal(await refuse(chain, { kind: 'user', sub: 'alice', key: generateEd25519() }), 'cred_key_mismatch');
  assert.equal(await refuse(chain, { kind: 'vm', key: credKey }), 'not_allowed');
  assert.equal(await refuse(chain, { kind: 'user', sub: 'alice', key: credKey }, NOW + 4 * DAY), 'expired:cred');
  const vm = await org.vm('lab-1');
  assert.ok(
    (await verifyEnrolled(org.anchor, vm.vmChain, { kind: 'vm', sub: 'lab-1', key: vm.identityKey }, undefined, NOW))
      .ok,
  );
  assert.equal(
    await refusalOf(verifyEnrolled(org.anchor, vm.vmChain, { kind: 'vm', sub: 'lab-2' }, undefined, NOW)),
    'wrong_vm',
  );
});

test('a revocation list may not claim more than 31 days', async () => {
  const long = await signOrgObject(
    'crl',
    { seq: 9, iat: T, exp: T + (60 * DAY) / 1000, revoked: { keys: [], creds: [], users: [], vms: [] } },
    org.roots[0]!,
  );
  assert.equal(await refusalOf(verifyCrl(org.anchor, [long])), 'lifetime_too_long');
});
