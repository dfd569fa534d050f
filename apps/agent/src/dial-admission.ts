import { TicketVerifier, type TicketClaims } from '@airlock/shared';
import type { Logger } from 'pino';
import type { AgentConfig } from './config.js';
import type { AgentOrgTrust, SessionTrust } from './org-trust.js';

export interface DialAdmissionOptions {
  config: AgentConfig;
  /** The organisation this agent pinned; without one every dial runs on the relay's word alone. */
  org?: AgentOrgTrust;
  /** Tells the relay a dial was refused (over the control link). */
  refuse: (sessionId: string, reason: string) => void;
  now?: () => number;
}

/**
 * Whether a dial (or a resume) may go ahead: the ticket is the relay's, for this VM and this
 * session; the organisation vouches for the user (when one is pinned); the agent has room. Every
 * refusal is logged for the audit trail and reported to the relay, which tells Connect.
 */
export class DialAdmission {
  private readonly verifier: TicketVerifier;

  constructor(private readonly opts: DialAdmissionOptions) {
    this.verifier = new TicketVerifier(opts.config.relayPublicKey, opts.now);
  }

  /** The ticket's claims, or undefined (refused). */
  async ticket(ticket: string, sid: string, log: Logger): Promise<TicketClaims | undefined> {
    const verified = await this.verifier.verify(ticket, { vm: this.opts.config.vmId, sessionId: sid });
    if (verified.ok) return verified.value;
    const reason = `ticket rejected (${verified.error.code}): ${verified.error.message}`.slice(0, 200);
    log.warn({ audit: 'dial-refused', code: verified.error.code }, reason);
    this.opts.refuse(sid, reason);
    return undefined;
  }

  /** The trust the session runs under, or undefined (refused): the ticket says who, the organisation whether. */
  async user(
    sid: string,
    claims: TicketClaims,
    userChain: string[] | undefined,
    crl: string[] | undefined,
    log: Logger,
  ): Promise<SessionTrust | undefined> {
    const org = this.opts.org;
    if (!org) return 'relay-only';
    if (!userChain && this.opts.config.acceptRelayOnlyUsers) {
      if (crl) await org.crl.offer(crl);
      log.warn({ user: claims.sub }, 'admitting a user without a certificate chain (acceptRelayOnlyUsers)');
      return 'relay-only';
    }
    const checked = await org.checkUser(claims, userChain, crl);
    if (checked.ok) return 'org-root';
    const { code, message } = checked.error;
    const reason = `user certificate chain refused (${code}): ${message}`;
    log.warn({ audit: 'dial-refused', code, user: claims.sub }, reason);
    this.opts.refuse(sid, reason.slice(0, 200));
    return undefined;
  }

  /** True (and refused) when the agent already holds `held` sessions, its limit. */
  full(sid: string, held: number, log: Logger): boolean {
    const limit = this.opts.config.maxSessions;
    if (held < limit) return false;
    const reason = 'agent is at its session limit';
    log.warn({ audit: 'dial-refused', limit }, reason);
    this.opts.refuse(sid, reason);
    return true;
  }
}
