import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  airlockPaths,
  ConfigStore,
  credentialsOf,
  enrollmentOf,
  openVmSession,
  relayHttpsFetch,
  type RelayFetch,
} from '@airlock/connect';
import {
  hashSecret,
  mintClientCertificate,
  parseOneTimeCode,
  sshFingerprintB64,
  sshFingerprintFromPem,
} from '@airlock/shared';
import { generateEd25519, issueHostKey } from '@airlock/shared/org';
import { generateHostKey, publicKeyBlob } from '@airlock/shared/ssh';
import { makeTestOrg } from '@airlock/shared/testing';
import { enrollAgent } from '@airlock/agent';
import { runCli, startSystem, waitFor, type System } from './harness.js';

// An organisation root in force, and a relay whose keys and database an attacker holds (this
// process holds them: the relay runs in it). Each attack is refused with its reason, and nothing
// of the user's reaches the VM.
let sys: System;

before(async () => {
  sys = await startSystem({
    org: true,
    // Every attack leaves a session the relay holds open until it times out.
    relayConfig: { maxPendingSessionsPerUser: 64 },
  });
});
after(async () => {
  await sys?.close();
});

test('with the organisation root, a session runs certified both ways and the relay stays blind', async () => {
  const marker = `ORG-MARKER-${randomBytes(12).toString('hex')}`;
  const seen = new Set(sys.frames.keys());
  const r = await sys.cli(['exec', sys.vm, '--', `echo ${marker}`]);
  assert.equal(r.code, 0, `${r.stderr}\n${sys.agent.output().slice(-3000)}`);
  assert.match(r.stdout, new RegExp(marker));
  const sids = [...sys.frames.keys()].filter((k) => !seen.has(k));
  assert.equal(sids.length, 1);
  const f = sys.frames.get(sids[0]!)!;
  for (const bytes of [Buffer.concat(f.up), Buffer.concat(f.down)]) assert.equal(bytes.indexOf(marker), -1);
  assert.match(sys.agent.output(), /organisation root pinned/);
  assert.match(sys.agent.output(), new RegExp(`"sid":"${sids[0]}".*"trust":"org-root"`));
});

test('airlock doctor under the organisation root: the whole chain passes and says which trust the session ran under', async () => {
  const r = await sys.cli(['doctor', sys.vm, '--json'], { timeoutMs: 60_000 });
  const report = JSON.parse(r.stdout) as { checks: Array<{ check: string; status: string; message: string }> };
  const hostKey = report.checks.find((c) => c.check === 'host_key');
  assert.equal(hostKey?.status, 'pass', r.stdout);
  assert.match(hostKey!.message, /certified for it .*trust: organisation root/);
  for (const c of ['data_socket', 'ssh', 'ssh_auth'])
    assert.equal(report.checks.find((x) => x.check === c)?.status, 'pass', `${c}: ${r.stdout}`);
});

// --- Toward the agent: the intruder signs access tokens and tickets with the relay's own key. ---

/**
 * An access token and ticket for alice, bound to a key the intruder made, sent through the
 * relay's own session route with `chainFor(that key)` as the user chain (none if not given).
 */
async function forgedSession(
  chainFor?: (ukey: string) => Promise<string[]>,
  crl?: string[],
): Promise<{ sid: string; ukey: string }> {
  const cert = await mintClientCertificate({ commonName: sys.user, ttlSeconds: 600 });
  const ukey = sshFingerprintFromPem(
    createPublicKey(createPrivateKey(cert.keyPem)).export({ type: 'spki', format: 'pem' }).toString(),
  );
  const device = (await sys.relay.store.devices.list({ user: sys.user }))[0]!;
  const { token } = await sys.relay.issuer.issueAccessToken(sys.user, {
    deviceId: device.id,
    certThumbprint: cert.thumbprint,
    userKeyFingerprint: ukey,
  });
  const body = { vm: sys.vm, ...(chainFor ? { userChain: await chainFor(ukey) } : {}), ...(crl ? { crl } : {}) };
  const res = await sys.api('POST', '/sessions', body, { token, cert: { certPem: cert.certPem, keyPem: cert.keyPem } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { sid: res.body.sessionId as string, ukey };
}

const linesOf = (sid: string) =>
  sys.agent
    .output()
    .split('\n')
    .filter((l) => l.includes(sid));

/** The agent refused the dial with `code`, opened no data socket for it, and the relay copied no byte. */
async function refusedAtAgent(sid: string, code: string): Promise<void> {
  await waitFor(
    () => linesOf(sid).some((l) => l.includes('dial-refused') || l.includes('dial-accepted')),
    20_000,
    () => `no verdict for ${sid}:\n${sys.agent.output().slice(-3000)}`,
  );
  const refusal = linesOf(sid).find((l) => l.includes('dial-refused'));
  assert.ok(refusal, `the dial was accepted:\n${linesOf(sid).join('\n')}`);
  assert.ok(refusal.includes(`user certificate chain refused (${code})`), refusal);
  assert.ok(!linesOf(sid).some((l) => l.includes('data socket')), 'a data socket was opened');
  assert.equal(sys.frames.get(sid), undefined, 'the relay copied bytes for the session');
}

/** The certified chain of the real, enrolled alice: her device chain and this login's certificate. */
function aliceRealChain(): string[] {
  const config = JSON.parse(readFileSync(join(sys.home, 'config.json'), 'utf8')) as { org: { deviceChain: string[] } };
  const session = JSON.parse(readFileSync(join(sys.home, 'session.json'), 'utf8')) as { loginCert: string };
  return [...config.org.deviceChain, session.loginCert];
}

test('a token and ticket for a user key the relay minted, with no user chain: no_chain', async () => {
  await refusedAtAgent((await forgedSession()).sid, 'no_chain');
});

test('a device key the relay registered, certified by a root it made up: not_chained_to_org_root', async () => {
  const fake = await (await makeTestOrg('Integration Org')).user(sys.user);
  await refusedAtAgent((await forgedSession((ukey) => fake.login(ukey))).sid, 'not_chained_to_org_root');
});

test("alice's real chain replayed with the intruder's key in the ticket: ukey_mismatch", async () => {
  await refusedAtAgent((await forgedSession(async () => aliceRealChain())).sid, 'ukey_mismatch');
});

test("bob's certified chain with a ticket naming alice: sub_mismatch", async () => {
  const bob = await sys.org!.org.user('bob');
  await refusedAtAgent((await forgedSession((ukey) => bob.login(ukey))).sid, 'sub_mismatch');
});

test('an expired device certificate: expired:device', async () => {
  // Certified three days ago for one hour; the login certificate it signs now is current.
  const old = await sys.org!.org.user(sys.user, { nowMs: Date.now() - 3 * 24 * 3600 * 1000, ttl: 3600 });
  await refusedAtAgent((await forgedSession((ukey) => old.login(ukey))).sid, 'expired:device');
});

test('a revoked device: refused once the list names it, and an older list served later changes nothing', async () => {
  const stolen = await sys.org!.org.user(sys.user);
  // Before the revocation the stolen device's chain is good (the control for what follows).
  const before = await forgedSession((ukey) => stolen.login(ukey));
  await waitFor(
    () => linesOf(before.sid).some((l) => l.includes('dial-accepted')),
    20_000,
    () => `stolen device not accepted before revocation:\n${linesOf(before.sid).join('\n')}`,
  );
  const list1 = await sys.org!.org.crl(1);
  const list2 = await sys.org!.setCrl(2, { creds: [stolen.credJti] });
  await refusedAtAgent((await forgedSession((ukey) => stolen.login(ukey), list2)).sid, 'revoked:cred');
  // The relay now serves the older list (rollback): the agent keeps list 2.
  await refusedAtAgent((await forgedSession((ukey) => stolen.login(ukey), list1)).sid, 'revoked:cred');
});

// --- Toward Connect: the relay answers a session request with a host key of its choosing. ---

/** Alice's Connect (core, in this process) with the relay's session answer rewritten by `swap`. */
async function sessionThroughSwappingRelay(swap: (answer: Record<string, unknown>) => Promise<void>) {
  const store = new ConfigStore(airlockPaths(sys.home));
  const enrollment = enrollmentOf(await store.readConfig(), sys.home);
  assert.ok(enrollment.ok);
  const saved = await store.readSession();
  assert.ok(saved);
  const fetch: RelayFetch = async (url, init) => {
    const res = await relayHttpsFetch(url, init);
    if (!url.endsWith('/sessions') || res.status !== 200) return res;
    const answer = JSON.parse(res.body) as Record<string, unknown>;
    await swap(answer);
    return { ...res, body: JSON.stringify(answer) };
  };
  let sid: string | undefined;
  const result = await openVmSession({ credentials: credentialsOf(enrollment.value, saved), vm: sys.vm, fetch });
  if (result.ok) {
    sid = result.value.sessionId;
    await result.value.close();
  } else if ('sessionId' in result.error) sid = result.error.sessionId;
  return { result, sid };
}

/** The intruder's own host key, certified by whatever `certify` makes of it. */
async function intruderHostKey(): Promise<{ blob: string; fingerprint: string }> {
  const key = await generateHostKey();
  const blob = (await publicKeyBlob(key)).toString('base64');
  return { blob, fingerprint: sshFingerprintB64(blob) };
}

async function refusedByConnect(swap: (answer: Record<string, unknown>) => Promise<void>, reason: string) {
  const { result, sid } = await sessionThroughSwappingRelay(swap);
  assert.equal(result.ok, false, 'Connect accepted a host key the organisation did not certify');
  if (result.ok) return;
  assert.equal(result.error.code, 'vm_not_certified', result.error.message);
  assert.equal((result.error as { reason?: string }).reason, reason, result.error.message);
  assert.ok(sid);
  // Refused before any data socket: nothing of the user's crossed the relay.
  assert.equal(sys.frames.get(sid), undefined, 'bytes crossed the relay for the refused session');
}

test('host key swap toward Connect, chain dropped: refused before any byte (no_chain)', async () => {
  const intruder = await intruderHostKey();
  await refusedByConnect(async (a) => {
    a.hostKey = intruder.blob;
    a.hostKeyFingerprint = intruder.fingerprint;
    delete a.vmChain;
  }, 'no_chain');
});

/** The relay names the intruder's host key, with `chainFor(its fingerprint)` as the VM chain. */
async function swapWithChain(chainFor: (fingerprint: string) => Promise<string[]>, reason: string) {
  const intruder = await intruderHostKey();
  const chain = await chainFor(intruder.fingerprint);
  await refusedByConnect(async (a) => {
    a.hostKey = intruder.blob;
    a.hostKeyFingerprint = intruder.fingerprint;
    a.vmChain = chain;
  }, reason);
}

test("host key swap with another VM's valid chain: wrong_vm", async () => {
  const other = await sys.org!.org.vm('other-vm');
  await swapWithChain((fp) => other.hostkey(fp), 'wrong_vm');
});

test('host key swap keeping the real VM chain: hostkey_mismatch; with a host key certificate the intruder signed: refused', async () => {
  const intruder = await intruderHostKey();
  await refusedByConnect(async (a) => {
    a.hostKey = intruder.blob;
    a.hostKeyFingerprint = intruder.fingerprint;
  }, 'hostkey_mismatch');
  const forger = generateEd25519();
  await refusedByConnect(async (a) => {
    const chain = a.vmChain as string[];
    a.hostKey = intruder.blob;
    a.hostKeyFingerprint = intruder.fingerprint;
    a.vmChain = [...chain.slice(0, -1), await issueHostKey(forger, { sub: sys.vm, hostkey: intruder.fingerprint })];
  }, 'not_chained_to_org_root');
});

test('an expired VM identity certificate: expired:vmid', async () => {
  const old = await sys.org!.org.vm(sys.vm, { nowMs: Date.now() - 3 * 24 * 3600 * 1000, ttl: 3600 });
  await swapWithChain((fp) => old.hostkey(fp), 'expired:vmid');
});

test('the untouched answer still opens a certified session (the refusals above are not refusing everything)', async () => {
  const { result } = await sessionThroughSwappingRelay(async () => {});
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  assert.equal(result.value.trust, 'org-root');
});

test('a revoked VM: Connect refuses it under the list the relay serves (revoked:vm), and an older list later changes nothing', async () => {
  const list1 = await sys.org!.org.crl(1);
  await sys.org!.setCrl(3, { vms: [sys.vm] });
  const { result } = await sessionThroughSwappingRelay(async () => {});
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal((result.error as { reason?: string }).reason, 'revoked:vm', result.error.message);
  // The relay now answers with list 1 (a rollback): Connect kept list 3.
  await refusedByConnect(async (a) => {
    a.crl = list1;
  }, 'revoked:vm');
});

// --- At enrollment: the relay serves another organisation's anchor (a downgrade or a swap). ---

test('enrollment against a relay serving another anchor is refused before the code is spent (Connect and agent)', async () => {
  const other = await makeTestOrg('Intruder Org');
  assert.ok((await sys.relay.admin.createUserWithoutCode('test', 'eve')).ok);
  const code = await sys.org!.code('user', 'eve');
  // A VM of its own: the test above revoked sys.vm, and the relay accepts no code for a VM its
  // list revokes.
  const vm = 'vm-for-eve';
  assert.ok((await sys.relay.admin.createVmWithoutToken('test', vm, [])).ok);
  const vmToken = await sys.org!.code('vm', vm);
  const eveHome = join(sys.dir, 'connect-eve');
  mkdirSync(eveHome, { mode: 0o700 });
  const enrollEve = () =>
    runCli(['enroll', sys.relay.url, code, '--device-name', 'eve laptop'], eveHome, {
      env: { ...sys.cliEnv, AIRLOCK_HOME: eveHome, AIRLOCK_TEST_USER: 'eve' },
    });
  // The intruder writes its own anchor into the relay's database (what `org set-anchor --replace` does).
  await sys.relay.store.org.setAnchor(other.anchor.text);
  try {
    const r = await enrollEve();
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /but \S+ was pinned; nothing was sent/);
    const agent = await enrollAgent({ relayUrl: sys.relay.url, token: vmToken, stateDir: join(sys.dir, 'agent-2') });
    assert.ok(!agent.ok, 'the agent enrolled under another organisation');
    assert.equal(agent.error.code, 'org-refused');
    assert.match(agent.error.message, /anchor_mismatch.*nothing was spent/);
  } finally {
    await sys.relay.store.org.setAnchor(sys.org!.org.anchor.text);
  }
  // Neither code was spent: the relay still holds both unused.
  const unused = async (kind: 'user-enrollment' | 'agent-enrollment', subject: string, c: string) => {
    const parsed = parseOneTimeCode(c, kind === 'user-enrollment' ? 'user' : 'agent');
    assert.ok(parsed.ok);
    const record = (await sys.relay.store.codes.list({ kind, subject })).find(
      (r) => r.secretSha256 === hashSecret(parsed.value.secret),
    );
    assert.ok(record && !record.usedAt, `the ${kind} code was spent`);
  };
  await unused('user-enrollment', 'eve', code);
  await unused('agent-enrollment', vm, vmToken);
});
