import express, { type RequestHandler, type Router } from 'express';
import {
  ResumeRequest,
  SessionId,
  type ResumeClaims,
  type Result,
  type TokenIssuer,
  type TokenRejection,
} from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import type { AgentRegistry } from '../data/agent-registry.js';
import type { SessionPairer } from '../data/session-pairer.js';
import type { OrgView } from '../org/org-view.js';
import { RESUMABLE_AFTER_RESTART } from '../store/sessions.js';
import { grantActive, type RelayStore } from '../store/types.js';
import { HttpError } from './http-error.js';
import { parseBody } from './parse-body.js';
import { issueSessionTokens, sessionResponse } from './session-tokens.js';
import { sourceAddress } from './request-source.js';
import type { CallerIdentity } from './require-access-token.js';

export interface ResumeRouteDeps {
  store: RelayStore;
  audit: AuditRecorder;
  registry: AgentRegistry;
  pairer: SessionPairer;
  issuer: TokenIssuer;
  verifyResumeToken: (token: string, sid: string) => Promise<Result<ResumeClaims, TokenRejection>>;
  auth: RequestHandler;
  now: () => number;
  org?: OrgView;
}

/**
 * `POST /sessions/:sid/resume`: a session whose connection dropped is asked for again. The relay
 * keeps nothing about it in memory that this needs: the resume token names the session, its VM
 * and ports and who may ask (the same user on the same device); the store says whether it was
 * ended for good (closed, killed, not resumed in time). The agent then decides whether it still
 * holds the session, and the SSH reconnect proves Connect is the one that opened it.
 */
export function createResumeRouter(deps: ResumeRouteDeps): Router {
  const r = express.Router();
  const { store, audit } = deps;

  r.post('/sessions/:sid/resume', deps.auth, async (req, res) => {
    const caller = res.locals.caller as CallerIdentity;
    const source = sourceAddress(req);
    const sid = SessionId.safeParse(req.params.sid);
    if (!sid.success) throw new HttpError(400, 'invalid_request', 'the session id in the path must be a UUID');
    const sessionId = sid.data;
    const body = parseBody(ResumeRequest, req);
    const refuse = async (status: number, code: string, reason: string, message: string) => {
      await audit.record({
        type: 'session.resume_refused',
        actor: `user:${caller.user}`,
        outcome: 'failure',
        sid: sessionId,
        source,
        data: { device: caller.deviceId, reason },
      });
      return new HttpError(status, code, message);
    };

    const verified = await deps.verifyResumeToken(body.resumeToken, sessionId);
    if (!verified.ok)
      throw await refuse(
        403,
        'resume_refused',
        `resume token: ${verified.error.message}`,
        `this session cannot be resumed: the resume token was refused (${verified.error.message})`,
      );
    const claims = verified.value;
    if (claims.sub !== caller.user || claims.did !== caller.deviceId)
      throw await refuse(
        403,
        'resume_refused',
        claims.sub !== caller.user ? `session belongs to ${claims.sub}` : 'session was opened from another device',
        'this session cannot be resumed: only the user and device that opened it may resume it',
      );

    const record = await store.sessions.get(sessionId);
    if (!record) throw await refuse(404, 'session_not_found', 'unknown session', `no session ${sessionId}`);
    if (record.killRequestedAt)
      throw await refuse(410, 'session_ended', 'killed by an administrator', 'an administrator ended this session');
    if (record.endedAt && record.endReason !== RESUMABLE_AFTER_RESTART)
      throw await refuse(
        410,
        'session_ended',
        `already ended: ${record.endReason ?? 'closed'}`,
        `the session has ended: ${record.endReason ?? 'closed'}`,
      );
    const [vm, grant] = await Promise.all([store.vms.get(claims.vm), store.grants.get(caller.user, claims.vm)]);
    if (!vm || !grant || !grantActive(grant, new Date(deps.now())))
      throw await refuse(
        403,
        'resume_refused',
        'no active grant',
        `this session cannot be resumed: you no longer have access to VM "${claims.vm}"`,
      );
    const agent = deps.registry.get(vm.id);
    // Not audited: the agent is on its way back (a relay restart), and Connect asks again shortly.
    if (!agent || !deps.registry.isOnline(vm.id))
      throw new HttpError(409, 'vm_offline', `VM "${vm.id}" is offline; its agent has not reconnected yet`);

    const created = deps.pairer.create({
      sid: sessionId,
      vm: vm.id,
      user: caller.user,
      certThumbprint: caller.certThumbprint,
      resume: true,
    });
    if (!created.ok) throw await refuse(429, 'too_many_sessions', 'too many pending sessions', created.message);
    const ports = claims.ports;
    const granted = { sid: sessionId, vm: vm.id, ports };
    const tokens = await issueSessionTokens(deps.issuer, caller, granted);
    const crl = (await deps.org?.crl())?.chain;
    const dialCrl = deps.org ? await deps.org.crlForDial(body.crl, crl) : body.crl;
    const dial = {
      type: 'dial',
      sessionId,
      ticket: tokens.ticket,
      resume: true,
      ...(body.userChain ? { userChain: body.userChain } : {}),
      ...(dialCrl ? { crl: dialCrl } : {}),
    } as const;
    if (!deps.registry.send(vm.id, dial)) {
      deps.pairer.cancel(sessionId, 'agent went offline');
      throw await refuse(409, 'vm_offline', 'agent went offline', `VM "${vm.id}" is offline`);
    }
    await audit.record({
      type: 'session.resume_authorize',
      actor: `user:${caller.user}`,
      outcome: 'success',
      sid: sessionId,
      source,
      data: { vm: vm.id, device: caller.deviceId, ports },
    });
    res.json(sessionResponse(granted, agent, tokens, crl));
  });

  return r;
}
