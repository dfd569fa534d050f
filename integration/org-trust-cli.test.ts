import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { publicKeyFingerprint, verifyCrl } from '@airlock/shared/org';
import { createDispatch } from '@airlock/connect/api/dispatch';
import { ConnectService } from '@airlock/connect/api/service/connect-service';
import { startSystem, waitFor, type System } from './harness.js';
import { memorySecretCache } from './support/connect-app.js';

// What Connect says of trust under an organisation root, before any session: `airlock vms` judges
// each VM's registered chain against the pinned root (certified / not certified / offline), the
// app's VM list carries the same, and no command warns about running without a root.
let sys: System;
const LEGACY = 'legacy-vm';
const DARK = 'dark-vm';

before(async () => {
  sys = await startSystem({ org: true });
  const check = (r: { ok: boolean; error?: { message: string } }) => assert.ok(r.ok, r.error?.message);
  // A VM whose agent enrolled with an old a1 token (no identity, no chain), and one never started.
  const legacy = await sys.relay.admin.createVm('test', LEGACY, [22]);
  check(legacy);
  check(await sys.relay.admin.createVmWithoutToken('test', DARK, [22]));
  for (const vm of [LEGACY, DARK]) check(await sys.relay.admin.putGrant('test', { user: sys.user, vm, ports: [22] }));
  assert.ok(legacy.ok);
  const agent = await sys.startAgent({
    stateDir: join(sys.dir, 'agent-legacy'),
    enrollmentToken: legacy.value.agentEnrollment.token,
    policy: { allowedPorts: [22] },
  });
  await waitFor(
    () => sys.relay.isAgentOnline(LEGACY),
    20_000,
    () => `the legacy agent never came online:\n${agent.output()}`,
  );
});
after(async () => {
  await sys?.close();
});

interface ListedVm {
  id: string;
  online: boolean;
  certificate: { state: string; identity?: string; hostKey?: string; reason?: string };
}

function certified(): { identity: string; hostKey: string } {
  const key = createPrivateKey(readFileSync(join(sys.dir, 'agent-state', 'identity-key.pem')));
  return { identity: publicKeyFingerprint(key), hostKey: sys.relay.agent(sys.vm)!.hostKeyFingerprint };
}

test('airlock vms under a root: one word per VM, the reason on stderr, and no warning about a missing root', async () => {
  const r = await sys.cli(['vms']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    r.stdout.split('\n').map((l) => l.split(/\s+/).filter(Boolean)),
    [
      ['VM', 'STATUS', 'PORTS', 'CERTIFICATE'],
      [DARK, 'offline', '22', '-'],
      [LEGACY, 'online', '22', 'UNCERTIFIED'],
      [sys.vm, 'online', '-', 'certified'],
      [],
    ],
    r.stdout,
  );
  assert.equal(
    r.stderr.trim().split('\n').length,
    1,
    `one line, for the uncertified VM, and no trust notice: ${r.stderr}`,
  );
  assert.match(r.stderr, new RegExp(`^airlock: ${LEGACY} is not certified by your organisation \\(no_chain\\)`));
  assert.doesNotMatch(r.stderr, /no organisation root pinned/);
});

test('airlock vms --json: the trust, and each certificate with the identity and host key it names', async () => {
  const r = await sys.cli(['vms', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { trust: string; vms: ListedVm[] };
  assert.equal(list.trust, 'org-root');
  const byId = new Map(list.vms.map((v) => [v.id, v.certificate]));
  assert.deepEqual(byId.get(sys.vm), { state: 'certified', ...certified() });
  assert.equal(byId.get(LEGACY)?.state, 'not-certified');
  assert.equal(byId.get(LEGACY)?.reason, 'no_chain');
  assert.equal(byId.get(DARK)?.state, 'unknown');
});

test('the app sees the same: trust org-root, no notice to show for certified VMs, the legacy VM named', async () => {
  const service = new ConnectService({ home: sys.home, secretCacheFor: () => memorySecretCache(), vmPollMs: 60_000 });
  try {
    const listed = await createDispatch(service)('vms.list', {});
    assert.ok(listed.ok, JSON.stringify(listed));
    const { trust, vms } = listed.value as { trust: string; vms: ListedVm[] };
    assert.equal(trust, 'org-root');
    assert.deepEqual(
      vms.map((v) => [v.id, v.certificate.state]),
      [
        [DARK, 'unknown'],
        [LEGACY, 'not-certified'],
        [sys.vm, 'certified'],
      ],
    );
  } finally {
    await service.close();
  }
});

test('a session under the root prints no trust notice; the legacy VM is refused before any byte', async () => {
  const good = await sys.cli(['exec', sys.vm, '--', 'echo certified']);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.stdout, 'certified\n');
  assert.equal(good.stderr, '');
  const legacy = await sys.cli(['exec', LEGACY, '--', 'echo should not run']);
  assert.notEqual(legacy.code, 0);
  assert.equal(legacy.stdout, '');
  assert.match(legacy.stderr, /refused VM legacy-vm before sending anything: .*\(no_chain\)/);
});

test('a revocation list naming the VM reaches airlock vms from the relay: UNCERTIFIED (revoked:vm)', async () => {
  await sys.org!.setCrl(2, { vms: [sys.vm] });
  const r = await sys.cli(['vms', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const mine = (JSON.parse(r.stdout) as { vms: ListedVm[] }).vms.find((v) => v.id === sys.vm);
  assert.equal(mine?.certificate.state, 'not-certified');
  assert.equal(mine?.certificate.reason, 'revoked:vm');
  // Connect keeps the newer list on disk: a relay cannot roll it back later.
  const kept = JSON.parse(readFileSync(join(sys.home, 'org-crl.json'), 'utf8')) as { chain: string[] };
  const keptList = await verifyCrl(sys.org!.org.anchor, kept.chain);
  assert.ok(keptList.ok && keptList.value.seq === 2, JSON.stringify(keptList));
  const table = await sys.cli(['vms']);
  assert.match(table.stdout, new RegExp(`^${sys.vm}\\s+online\\s+-\\s+UNCERTIFIED$`, 'm'));
  assert.match(table.stderr, new RegExp(`${sys.vm} is not certified by your organisation \\(revoked:vm\\)`));
});
