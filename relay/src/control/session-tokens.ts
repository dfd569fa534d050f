import type { SessionResponse, TokenIssuer } from '@airlock/shared';
import type { AgentLink } from '../data/agent-registry.js';
import type { CallerIdentity } from './require-access-token.js';

export interface SessionTokens {
  ticket: string;
  expiresAt: Date;
  resumeToken: string;
}

/**
 * What a new or resumed session hands Connect: the ticket for its data socket (bound to the
 * login's key) and the resume token for asking again after a drop (bound to the user and device).
 */
export async function issueSessionTokens(
  issuer: TokenIssuer,
  caller: CallerIdentity,
  s: { sid: string; vm: string; ports: number[] },
): Promise<SessionTokens> {
  const { token: ticket, expiresAt } = await issuer.issueTicket({
    sub: caller.user,
    sid: s.sid,
    vm: s.vm,
    ukey: caller.userKeyFingerprint,
    ports: s.ports,
  });
  const { token: resumeToken } = await issuer.issueResumeToken({
    sub: caller.user,
    sid: s.sid,
    vm: s.vm,
    did: caller.deviceId,
    ports: s.ports,
  });
  return { ticket, expiresAt, resumeToken };
}

/** The answer to `POST /sessions` and to a resume: the tokens, and the VM's host key as its agent registered it. */
export function sessionResponse(
  s: { sid: string; vm: string; ports: number[] },
  agent: AgentLink,
  tokens: SessionTokens,
  crl: string[] | undefined,
): SessionResponse {
  return {
    sessionId: s.sid,
    vm: s.vm,
    ticket: tokens.ticket,
    hostKey: agent.hostKey,
    hostKeyFingerprint: agent.hostKeyFingerprint,
    ports: s.ports,
    expiresAt: tokens.expiresAt.toISOString(),
    resumeToken: tokens.resumeToken,
    ...(agent.vmChain ? { vmChain: agent.vmChain } : {}),
    ...(crl ? { crl } : {}),
  };
}
