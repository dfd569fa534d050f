import type { ExplainCheck, ExplainCode, SelfExplainQuery, SelfExplainReport } from '@airlock/shared';
import { effectivePorts, grantActive, type RelayStore } from '../store/types.js';
import { agentCheck, grantChecks, verdict } from './explain.js';

const ASK = 'ask your admin or helpdesk';

/** What a user is told for each refusal: their own situation, no admin commands, nothing about other users. */
function userText(code: ExplainCode, vm: string, port: number | undefined, since?: string): [string, string] {
  switch (code) {
    case 'grant_expired':
      return [`your access to VM "${vm}" has expired`, `${ASK} to renew it`];
    case 'port_not_allowed_by_vm':
      return [`VM "${vm}" does not allow port ${port}`, `${ASK} if you need it`];
    case 'port_not_in_grant':
      return [`your access to VM "${vm}" does not include port ${port}`, `${ASK} to add it`];
    case 'agent_offline':
    case 'agent_not_enrolled':
      return [
        since ? `VM "${vm}" is offline since ${since}` : `VM "${vm}" has not come online yet`,
        `it may be stopped or starting; if it stays offline, ${ASK}`,
      ];
    default:
      // Unknown VM and no grant read the same, so the answer does not tell which VMs exist.
      return [`there is no VM "${vm}" that you may use`, `check the name with \`airlock vms\`, or ${ASK} for access`];
  }
}

/**
 * The user's own question, for `airlock doctor`: may I reach this VM (and port) now, and if
 * not, why — in the user's terms. The caller is already authenticated (user active, device not
 * revoked), so only the grant, the port and the agent are left to check.
 */
export async function explainForUser(
  deps: { store: RelayStore; now: () => Date },
  user: string,
  q: SelfExplainQuery,
): Promise<SelfExplainReport> {
  const { store } = deps;
  const now = deps.now();
  const [vm, grant, credentials, presence] = await Promise.all([
    store.vms.get(q.vm),
    store.grants.get(user, q.vm),
    store.agentCredentials.listActive(q.vm),
    store.agentPresence.get(q.vm),
  ]);
  const granted = !!vm && !!grant && grantActive(grant, now);
  const raw: ExplainCheck[] = vm
    ? grantChecks({ user, vm: q.vm, ...(q.port !== undefined ? { port: q.port } : {}) }, vm, grant, now)
    : [{ check: 'grant', ok: false, code: 'no_grant', message: '', hint: '' }];
  // The agent matters only for a VM the user may use; otherwise it would say which VMs exist.
  if (granted) raw.push(agentCheck(q.vm, credentials.length, presence, { running: true }));
  const checks = raw.map((c): ExplainCheck => {
    if (c.ok)
      return { check: c.check, ok: true, message: okText(c.check, q.vm, q.port, presence?.since, grant?.expiresAt) };
    const [message, hint] = userText(c.code!, q.vm, q.port, presence?.online === false ? presence.since : undefined);
    return {
      check: c.check,
      ok: false,
      code: c.code === 'agent_not_enrolled' ? 'agent_offline' : c.code!,
      message,
      hint,
    };
  });
  return {
    ...verdict({ user, ...q }, now, checks),
    ...(granted
      ? {
          grant: {
            ...(grant.expiresAt ? { expiresAt: grant.expiresAt } : {}),
            effectivePorts: effectivePorts(vm, grant),
          },
          agent: { online: !!presence?.online, ...(presence ? { since: presence.since } : {}) },
        }
      : {}),
  };
}

function okText(
  check: ExplainCheck['check'],
  vm: string,
  port: number | undefined,
  since?: string,
  expiresAt?: string,
): string {
  if (check === 'grant') return `you may use VM "${vm}"${expiresAt ? ` until ${expiresAt}` : ''}`;
  if (check === 'port') return `port ${port} is allowed for you on VM "${vm}"`;
  return `VM "${vm}" is online${since ? ` since ${since}` : ''}`;
}
