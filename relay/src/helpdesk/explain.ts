import type { ExplainCheck, ExplainCode, ExplainQuery, ExplainReport, ExplainVerdict } from '@airlock/shared';
import {
  effectivePorts,
  grantActive,
  type AgentPresenceRecord,
  type GrantRecord,
  type RelayStore,
  type VmRecord,
} from '../store/types.js';
import { recentRefusals } from './recent-refusals.js';

/** Whether a relay serves the store being asked: the relay itself knows; the CLI probes the data dir's lock. */
export interface RelayServing {
  running: boolean;
  /** Where it listens (or last listened), for the message. */
  url?: string;
}

export interface ExplainDeps {
  store: RelayStore;
  now: () => Date;
  relay: () => RelayServing;
}

const fail = (check: ExplainCheck['check'], code: ExplainCode, message: string, hint: string): ExplainCheck => ({
  check,
  ok: false,
  code,
  message,
  hint,
});
const pass = (check: ExplainCheck['check'], message: string): ExplainCheck => ({ check, ok: true, message });

const list = (ports: number[]) => (ports.length ? ports.join(', ') : 'none');

/**
 * "May this user reach this VM (and port) right now, and if not, exactly why": every check in
 * the order a person should fix them, each with what was found and the next step. Read-only.
 * One engine for `airlock-relay explain` and `GET /api/v1/admin/explain`.
 */
export async function explainAccess(deps: ExplainDeps, q: ExplainQuery): Promise<ExplainReport> {
  const { store } = deps;
  const now = deps.now();
  const [user, devices, lockedUntil, codes, vm, grant, credentials, presence, refusals] = await Promise.all([
    store.users.get(q.user),
    store.devices.list({ user: q.user }),
    store.loginLockouts.lockedUntil(q.user, now),
    store.codes.list({ kind: 'user-enrollment', subject: q.user }),
    store.vms.get(q.vm),
    store.grants.get(q.user, q.vm),
    store.agentCredentials.listActive(q.vm),
    store.agentPresence.get(q.vm),
    recentRefusals(store, q.user, q.vm),
  ]);
  const relay = deps.relay();
  const checks: ExplainCheck[] = [];

  checks.push(
    relay.running
      ? pass('relay', `a relay is serving${relay.url ? ` at ${relay.url}` : ''}`)
      : fail(
          'relay',
          'relay_not_running',
          `no relay is running on this data dir${relay.url ? ` (it last served ${relay.url})` : ''}, so nobody can connect`,
          'start it: airlock-relay serve (or systemctl start airlock-relay)',
        ),
  );

  const activeDevices = devices.filter((d) => !d.revokedAt);
  const lastLogin = activeDevices
    .map((d) => d.lastLoginAt)
    .filter((t): t is string => !!t)
    .sort()
    .at(-1);
  const waitingCode = codes.find((c) => !c.usedAt && Date.parse(c.expiresAt) > now.getTime());
  if (!user) {
    checks.push(
      fail('user', 'user_unknown', `there is no user "${q.user}"`, 'check the spelling: airlock-relay user list'),
    );
  } else {
    checks.push(
      user.status === 'active'
        ? pass('user', `user "${q.user}" is active`)
        : fail(
            'user',
            'user_disabled',
            `user "${q.user}" is disabled (since ${user.updatedAt})`,
            `airlock-relay user enable ${q.user}; after a revoke the user also needs a new code: airlock-relay user enroll-code ${q.user}`,
          ),
    );
    checks.push(
      lockedUntil
        ? fail(
            'lockout',
            'user_locked_out',
            `"${q.user}" is locked out after too many wrong authenticator codes until ${lockedUntil.toISOString()}`,
            `wait until then, or lift it now: airlock-relay user unlock ${q.user} (ask the user to check their phone's clock)`,
          )
        : pass('lockout', 'not locked out'),
    );
    const revoked = devices.length - activeDevices.length;
    checks.push(
      activeDevices.length > 0
        ? pass(
            'device',
            `${activeDevices.length} enrolled device(s)${lastLogin ? `; last login ${lastLogin}` : '; no login yet'}`,
          )
        : fail(
            'device',
            'no_device',
            `"${q.user}" has no enrolled device` +
              (revoked ? ` (${revoked} revoked)` : '') +
              (waitingCode ? `; an enrollment code is waiting, unused, until ${waitingCode.expiresAt}` : ''),
            waitingCode
              ? 'the user should run `airlock enroll` with the code they were given'
              : `give the user a new code: airlock-relay user enroll-code ${q.user}`,
          ),
    );
  }

  if (!vm) checks.push(fail('vm', 'vm_unknown', `there is no VM "${q.vm}"`, 'check the name: airlock-relay vm list'));
  else checks.push(pass('vm', `VM "${q.vm}" allows ports ${list(vm.ports)}`));

  if (vm && user) checks.push(...grantChecks(q, vm, grant, now));
  if (vm) checks.push(agentCheck(q.vm, credentials.length, presence, relay));

  return {
    ...verdict(q, now, checks),
    ...(user
      ? {
          userInfo: {
            status: user.status,
            statusSince: user.updatedAt,
            ...(lockedUntil ? { lockedUntil: lockedUntil.toISOString() } : {}),
            devices: activeDevices.length,
            ...(lastLogin ? { lastLoginAt: lastLogin } : {}),
            ...(waitingCode ? { enrollmentCodeExpiresAt: waitingCode.expiresAt } : {}),
          },
        }
      : {}),
    ...(grant && vm
      ? {
          grant: {
            ...(grant.ports ? { ports: grant.ports } : {}),
            ...(grant.expiresAt ? { expiresAt: grant.expiresAt } : {}),
            createdAt: grant.createdAt,
            effectivePorts: effectivePorts(vm, grant),
          },
        }
      : {}),
    ...(vm ? { vmPorts: vm.ports } : {}),
    ...(vm ? { agent: { ...agentPresence(presence, relay), activeCredentials: credentials.length } } : {}),
    recentRefusals: refusals,
  };
}

/** The question, the verdict (allowed when no check failed) and the checks, as every answer starts. */
export function verdict(
  q: { user: string; vm: string; port?: number },
  now: Date,
  checks: ExplainCheck[],
): ExplainVerdict {
  const blockers = checks.filter((c) => !c.ok).map((c) => c.code!);
  return {
    user: q.user,
    vm: q.vm,
    ...(q.port !== undefined ? { port: q.port } : {}),
    at: now.toISOString(),
    allowed: blockers.length === 0,
    blockers,
    checks,
  };
}

/** The grant, and the port when one was asked about: the VM's own policy first, then the grant. */
export function grantChecks(
  q: { user: string; vm: string; port?: number },
  vm: VmRecord,
  grant: GrantRecord | undefined,
  now: Date,
): ExplainCheck[] {
  const grantCmd = `airlock-relay grant add ${q.user} ${q.vm}`;
  if (!grant)
    return [fail('grant', 'no_grant', `"${q.user}" has no grant on "${q.vm}"`, `${grantCmd} [--expires 30d]`)];
  if (!grantActive(grant, now))
    return [
      fail(
        'grant',
        'grant_expired',
        `the grant of "${q.user}" on "${q.vm}" expired at ${grant.expiresAt}`,
        `renew it: ${grantCmd} --expires 30d${grant.ports ? ` --ports ${grant.ports.join(',')}` : ''}`,
      ),
    ];
  const open = effectivePorts(vm, grant);
  const checks = [
    pass(
      'grant',
      `granted ${grant.expiresAt ? `until ${grant.expiresAt}` : 'without expiry'}; ports a session opens: ${list(open)}`,
    ),
  ];
  if (q.port === undefined) return checks;
  const p = q.port;
  if (!vm.ports.includes(p))
    checks.push(
      fail(
        'port',
        'port_not_allowed_by_vm',
        `VM "${q.vm}" does not allow port ${p} (it allows ${list(vm.ports)})`,
        `if it should: airlock-relay vm set-ports ${q.vm} ${[...vm.ports, p].sort((a, b) => a - b).join(',')}, and allow it in the agent's policy on the VM`,
      ),
    );
  if (grant.ports && !grant.ports.includes(p))
    checks.push(
      fail(
        'port',
        'port_not_in_grant',
        `the grant of "${q.user}" on "${q.vm}" does not include port ${p} (it names ${list(grant.ports)})`,
        `${grantCmd} --ports ${[...grant.ports, p].sort((a, b) => a - b).join(',')}`,
      ),
    );
  if (checks.length === 1)
    checks.push(
      pass(
        'port',
        `port ${p} is allowed by the VM and the grant (the agent's own policy on the VM must allow it too: airlock-agent status)`,
      ),
    );
  return checks;
}

function agentPresence(presence: AgentPresenceRecord | undefined, relay: RelayServing) {
  // A relay that is not running has no links, whatever a crashed one left in the store.
  const online = relay.running && !!presence?.online;
  return {
    online,
    ...(presence ? { since: presence.since } : {}),
    ...(presence?.lastOfflineReason ? { lastOfflineReason: presence.lastOfflineReason } : {}),
    ...(presence?.hostKeyFingerprint ? { hostKeyFingerprint: presence.hostKeyFingerprint } : {}),
    ...(presence?.version ? { version: presence.version } : {}),
  };
}

export function agentCheck(
  vm: string,
  activeCredentials: number,
  presence: AgentPresenceRecord | undefined,
  relay: RelayServing,
): ExplainCheck {
  const onTheVm = 'on the VM: airlock-agent status (and journalctl -u airlock-agent)';
  if (activeCredentials === 0)
    return fail(
      'agent',
      'agent_not_enrolled',
      `VM "${vm}" has no agent credential: its agent was never enrolled, or the credential was revoked`,
      `airlock-relay vm new-token ${vm}, then on the VM: airlock-agent enroll <relay-url> --token-file <file>`,
    );
  const p = agentPresence(presence, relay);
  if (p.online)
    return pass(
      'agent',
      `the agent is online since ${p.since}${p.version ? ` (version ${p.version})` : ''}, host key ${p.hostKeyFingerprint ?? 'unknown'}`,
    );
  if (!relay.running)
    return fail('agent', 'agent_offline', 'no agent is connected: no relay is running', 'start the relay first');
  if (!presence)
    return fail(
      'agent',
      'agent_offline',
      `the agent of "${vm}" has never connected to this relay`,
      'start the agent on the VM (systemctl start airlock-agent) and see that it reaches the relay: airlock-agent status',
    );
  return fail(
    'agent',
    'agent_offline',
    `the agent of "${vm}" is offline since ${presence.since}${presence.lastOfflineReason ? ` (${presence.lastOfflineReason})` : ''}`,
    onTheVm,
  );
}
