import { err, ok, sshFingerprintB64, type Result, type SessionRequest, type SessionResponse } from '@airlock/shared';
import { CrlKeeper, parseAnchor, verifyVmChain, type ChainRefusalCode } from '@airlock/shared/org';
import type { RelayCredentials } from '../login/login.js';

/**
 * Which trust a session ran under: `org-root` — the VM's host key was certified by the identity
 * key the organisation certified for the VM asked for; `relay-only` — this device pinned no
 * organisation, so the relay's word for the host key was taken (migration mode).
 */
export type SessionTrust = 'org-root' | 'relay-only';

export interface VmNotCertified {
  code: 'vm_not_certified';
  sessionId: string;
  reason: ChainRefusalCode;
  message: string;
}

export type PinnedOrg = NonNullable<RelayCredentials['org']>;

/** The pinned anchor with the newest revocation list this device kept. */
export async function keeperOf(org: PinnedOrg): Promise<CrlKeeper> {
  const anchor = parseAnchor(org.enrolled.anchor);
  // The anchor was checked against the code's fingerprint at enrollment and lives in config.json.
  if (!anchor.ok) throw new Error(`the pinned organisation anchor is damaged: ${anchor.error.message}`);
  return CrlKeeper.open(anchor.value, org.enrolled.crlFile);
}

/** What goes with a session request for the agent: this login's user chain and the newest list seen. */
export async function orgSessionRequest(org: PinnedOrg | undefined): Promise<Omit<SessionRequest, 'vm'> | undefined> {
  if (!org) return undefined;
  const crl = (await keeperOf(org)).chain;
  return { ...(org.userChain ? { userChain: org.userChain } : {}), ...(crl ? { crl } : {}) };
}

/**
 * Connect's check of the relay's answer, before any data socket exists: with a pinned
 * organisation the host key must come with a VM chain to it for the VM asked for — whatever the
 * relay says. Without one the relay is believed, and the session says so.
 */
export async function judgeVmHostKey(
  org: PinnedOrg | undefined,
  vm: string,
  session: SessionResponse,
  nowMs = Date.now(),
): Promise<Result<SessionTrust, VmNotCertified>> {
  if (!org) return ok('relay-only');
  const keeper = await keeperOf(org);
  if (session.crl) await keeper.offer(session.crl);
  const refuse = (reason: ChainRefusalCode, why: string) =>
    err({
      code: 'vm_not_certified' as const,
      sessionId: session.sessionId,
      reason,
      message: `refused VM ${vm} before sending anything: ${why} (${reason})`,
    });
  if (!session.vmChain)
    return refuse('no_chain', `the relay named a host key for ${vm} without the organisation's certificates for it`);
  if (session.vm !== vm) return refuse('wrong_vm', `the relay answered for VM ${session.vm}, not ${vm}`);
  const verified = await verifyVmChain(
    keeper.anchor,
    session.vmChain,
    { vm, hostKeyFingerprint: sshFingerprintB64(session.hostKey) },
    keeper.claims,
    nowMs,
  );
  return verified.ok ? ok('org-root') : refuse(verified.error.code, verified.error.message);
}
