import { randomUUID } from 'node:crypto';
import express, { type RequestHandler, type Router } from 'express';
import { SessionRequest, type ExplainCode, type TokenIssuer, type VmListResponse } from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import type { AgentRegistry } from '../data/agent-registry.js';
import type { OrgView } from '../org/org-view.js';
import type { SessionPairer } from '../data/session-pairer.js';
import { effectivePorts, grantActive, type RelayStore } from '../store/types.js';
import { HttpError } from './http-error.js';
import { issueSessionTokens, sessionResponse, type SessionTokens } from './session-tokens.js';
import { parseBody } from './parse-body.js';
import { sourceAddress } from './request-source.js';
import type { CallerIdentity } from './require-access-token.js';

export interface SessionRouteDeps {
  store: RelayStore;
  audit: AuditRecorder;
  registry: AgentRegistry;
  pairer: SessionPairer;
  issuer: TokenIssuer;
  /** `requireAccessToken`: applied per route so an unknown path stays a 404, not a 401. */
  auth: RequestHandler;
  now: () => number;
  /** The organisation root's anchor and revocation list, passed along (the relay vouches for nothing). */
  org?: OrgView;
}

type DenyCode =
  Extract<ExplainCode, 'vm_unknown' | 'no_grant' | 'grant_expired' | 'agent_offline'> | 'too_many_pending';

/** What an authenticated user may see and open. */
export function createSessionRouter(deps: SessionRouteDeps): Router {
  const r = express.Router();
  const { store, audit } = deps;

  r.get('/vms', deps.auth, async (_req, res) => {
    const caller = res.locals.caller as CallerIdentity;
    const now = new Date(deps.now());
    const vms: VmListResponse['vms'] = [];
    for (const grant of await store.grants.list({ user: caller.user })) {
      if (!grantActive(grant, now)) continue;
      const vm = await store.vms.get(grant.vm);
      if (vm)
        vms.push({
          id: vm.id,
          online: deps.registry.isOnline(vm.id),
          ports: effectivePorts(vm, grant),
          ...(grant.expiresAt ? { grantExpiresAt: grant.expiresAt } : {}),
          ...optionalChain('vmChain', deps.registry.get(vm.id)?.vmChain),
        });
    }
    vms.sort((a, b) => a.id.localeCompare(b.id));
    const body: VmListResponse = { vms };
    res.json(body);
  });

  r.post('/sessions', deps.auth, async (req, res) => {
    const caller = res.locals.caller as CallerIdentity;
    const { vm: vmId, userChain, crl: connectCrl } = parseBody(SessionRequest, req);
    const source = sourceAddress(req);
    const [vm, grant] = await Promise.all([store.vms.get(vmId), store.grants.get(caller.user, vmId)]);
    /** `code` is a bounded name for the reason (the metrics count by it); `reason` is for people. */
    const deny = async (code: DenyCode, reason: string, error: HttpError) => {
      await audit.record({
        type: 'session.deny',
        actor: `user:${caller.user}`,
        outcome: 'failure',
        source,
        data: { vm: vmId, device: caller.deviceId, reason, code },
      });
      return error;
    };
    // A VM the user may not use is reported exactly like one that does not exist.
    if (!vm || !grant || !grantActive(grant, new Date(deps.now()))) {
      const [code, reason]: [DenyCode, string] = !vm
        ? ['vm_unknown', 'no such VM']
        : !grant
          ? ['no_grant', 'no grant']
          : ['grant_expired', 'grant expired'];
      throw await deny(code, reason, new HttpError(404, 'vm_not_found', `no VM "${vmId}" that you may use`));
    }
    const agent = deps.registry.get(vm.id);
    if (!agent || !deps.registry.isOnline(vm.id))
      throw await deny('agent_offline', 'agent offline', new HttpError(409, 'vm_offline', `VM "${vm.id}" is offline`));

    const sessionId = randomUUID();
    const ports = effectivePorts(vm, grant);
    // Counted against the pending-session limits before any further work is done for it.
    const created = deps.pairer.create({
      sid: sessionId,
      vm: vm.id,
      user: caller.user,
      certThumbprint: caller.certThumbprint,
    });
    if (!created.ok)
      throw await deny(
        'too_many_pending',
        'too many pending sessions',
        new HttpError(429, 'too_many_sessions', created.message),
      );
    const granted = { sid: sessionId, vm: vm.id, ports };
    let tokens: SessionTokens;
    try {
      await store.sessions.create({ id: sessionId, user: caller.user, device: caller.deviceId, vm: vm.id, ports });
      tokens = await issueSessionTokens(deps.issuer, caller, granted);
    } catch (error) {
      deps.pairer.cancel(sessionId, 'no ticket could be issued');
      throw error;
    }
    // The agent judges the user chain itself, with the newer of Connect's and the relay's lists.
    const crl = (await deps.org?.crl())?.chain;
    const dial = {
      type: 'dial',
      sessionId,
      ticket: tokens.ticket,
      ...optionalChain('userChain', userChain),
      ...optionalChain('crl', deps.org ? await deps.org.crlForDial(connectCrl, crl) : connectCrl),
    } as const;
    if (!deps.registry.send(vm.id, dial)) {
      deps.pairer.refuse(sessionId, vm.id, 'agent went offline');
      throw await deny(
        'agent_offline',
        'agent went offline',
        new HttpError(409, 'vm_offline', `VM "${vm.id}" is offline`),
      );
    }
    await audit.record({
      type: 'session.authorize',
      actor: `user:${caller.user}`,
      outcome: 'success',
      sid: sessionId,
      source,
      data: { vm: vm.id, device: caller.deviceId, ports, ticketExpiresAt: tokens.expiresAt.toISOString() },
    });
    res.json(sessionResponse(granted, agent, tokens, crl));
  });

  return r;
}

function optionalChain<K extends string>(key: K, chain: string[] | undefined): { [P in K]?: string[] } {
  return (chain ? { [key]: chain } : {}) as { [P in K]?: string[] };
}
