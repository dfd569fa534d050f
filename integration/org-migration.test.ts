import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, startSystem, waitFor, type System } from './harness.js';

// Migration and the revocation list's bound, with real processes under an organisation root:
// a certified VM whose agent says `acceptRelayOnlyUsers` admits a legacy (u1) user on the relay's
// word while users move, and that user's Connect says at every command that it trusts the relay
// alone; and a list that has expired — what a relay withholding newer lists leads to — stops new
// sessions at Connect and at the agent (fail closed), until an admin renews it.
let sys: System;
const LEGACY_USER = 'lee';
let legacyHome: string;

const legacyCli = (args: string[]) =>
  runCli(args, legacyHome, { env: { ...sys.cliEnv, AIRLOCK_HOME: legacyHome, AIRLOCK_TEST_USER: LEGACY_USER } });

before(async () => {
  sys = await startSystem({ org: true, agentConfig: { acceptRelayOnlyUsers: true } });
  // The relay's admin makes lee an old u1 code (`user add --relay-only`): no organisation in it.
  const created = await sys.relay.admin.createUser('test', LEGACY_USER);
  assert.ok(created.ok, created.ok ? '' : created.error.message);
  assert.match(created.value.enrollment.code, /^u1\./);
  assert.ok((await sys.relay.admin.putGrant('test', { user: LEGACY_USER, vm: sys.vm, ports: [] })).ok);
  legacyHome = join(sys.dir, 'connect-lee');
  mkdirSync(legacyHome, { mode: 0o700 });
  const enrolled = await legacyCli(['enroll', sys.relay.url, created.value.enrollment.code, '--device-name', 'old']);
  assert.equal(enrolled.code, 0, enrolled.stderr);
  const login = await legacyCli(['login']);
  assert.equal(login.code, 0, login.stderr);
});
after(async () => {
  await sys?.close();
});

const agentLines = (sid: string) =>
  sys.agent
    .output()
    .split('\n')
    .filter((l) => l.includes(sid));

test("the certified VM's identity key is kept 0600, and its agent warns at start that it admits relay-only users", () => {
  assert.equal(statSync(join(sys.dir, 'agent-state', 'identity-key.pem')).mode & 0o777, 0o600);
  assert.match(sys.agent.output(), /acceptRelayOnlyUsers is set: users without a certificate chain are admitted/);
});

test('a legacy u1 user reaches the certified VM through the transition switch; their Connect says it trusts the relay alone', async () => {
  const r = await legacyCli(['exec', sys.vm, '--', 'echo legacy ok']);
  assert.equal(r.code, 0, `${r.stderr}\n${sys.agent.output().slice(-2000)}`);
  assert.equal(r.stdout, 'legacy ok\n');
  assert.equal(r.stderr.match(/no organisation root pinned \(u1 enrollment\)/g)?.length, 1, r.stderr);
  assert.match(
    sys.agent.output(),
    /"user":"lee".*admitting a user without a certificate chain \(acceptRelayOnlyUsers\)/,
  );
  // The certified user on the same VM: certified both ways, and no notice.
  const certified = await sys.cli(['exec', sys.vm, '--', 'echo certified ok']);
  assert.equal(certified.code, 0, certified.stderr);
  assert.equal(certified.stderr, '');
});

/** Alice's real chain: her device chain and this login's certificate (bound to her client certificate). */
function aliceChain(): string[] {
  const config = JSON.parse(readFileSync(join(sys.home, 'config.json'), 'utf8')) as { org: { deviceChain: string[] } };
  const session = JSON.parse(readFileSync(join(sys.home, 'session.json'), 'utf8')) as { loginCert: string };
  return [...config.org.deviceChain, session.loginCert];
}

test('an expired revocation list stops new sessions at Connect and at the agent, before any byte; a renewed one ends that', async () => {
  // List 2 signed 20 days ago for 14: what a party holds when the relay withheld every list since.
  const stale = await sys.org!.org.crl(2, {}, { nowMs: Date.now() - 20 * 24 * 3600_000 });
  const set = await sys.org!.admin.setCrl('test', stale);
  assert.ok(set.ok, set.ok ? '' : set.error.message);
  await waitFor(
    () => /"crlSeq":2.*new revocation list/.test(sys.agent.output()),
    20_000,
    () => `the agent never took list 2:\n${sys.agent.output().slice(-2000)}`,
  );

  const seen = new Set(sys.frames.keys());
  const atConnect = await sys.cli(['exec', sys.vm, '--', 'echo must not run']);
  assert.notEqual(atConnect.code, 0);
  assert.equal(atConnect.stdout, '');
  assert.match(atConnect.stderr, /refused VM test-vm before sending anything: .*\(crl_stale\)/);

  // Connect's own check bypassed (a session request by hand, with alice's real chain): the agent refuses too.
  const res = await sys.api('POST', '/sessions', { vm: sys.vm, userChain: aliceChain() });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const sid = res.body.sessionId as string;
  await waitFor(
    () => agentLines(sid).some((l) => l.includes('dial-refused') || l.includes('dial-accepted')),
    20_000,
    () => `no verdict for ${sid}:\n${sys.agent.output().slice(-2000)}`,
  );
  const refusal = agentLines(sid).find((l) => l.includes('dial-refused'));
  assert.ok(refusal?.includes('user certificate chain refused (crl_stale)'), agentLines(sid).join('\n'));
  assert.deepEqual(
    [...sys.frames.keys()].filter((k) => !seen.has(k)),
    [],
    'no bytes crossed the relay for the refused sessions',
  );

  // The admin renews: list 3, fresh. Sessions work again.
  await sys.org!.setCrl(3);
  const renewed = await sys.cli(['exec', sys.vm, '--', 'echo renewed']);
  assert.equal(renewed.code, 0, renewed.stderr);
  assert.equal(renewed.stdout, 'renewed\n');
});
