import { randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { spkiB64url } from '../spki.js';
import { ORG_DEFAULTS, ORG_LIMITS } from './limits.js';
import { signOrgObject, type ApproverPower, type OrgClaims, type RevokedLists } from './objects.js';

/**
 * Making the organisation's certificates: the admin tool (approvers, credentials, revocation
 * lists), Connect (device and login certificates) and the agent (VM identity and host key
 * certificates) all sign through these, with the lifetimes the verifier allows.
 */

/** Who signs for the organisation: a root (no chain) or an approver (its root-signed certificate). */
export interface OrgSigner {
  key: KeyObject;
  /** `[]` for a root; `[approver certificate]` for an approver. */
  chain: string[];
}

export const newJti = (): string => randomBytes(16).toString('base64url');
const seconds = (ms: number) => Math.floor(ms / 1000);

export function issueApprover(
  root: KeyObject,
  o: { sub: string; key: KeyObject; can: ApproverPower[]; seconds?: number },
  nowMs = Date.now(),
): Promise<string> {
  const iat = seconds(nowMs);
  const life = Math.min(o.seconds ?? ORG_DEFAULTS.approverSeconds, ORG_LIMITS.approverSeconds);
  return signOrgObject(
    'approver',
    { sub: o.sub, key: spkiB64url(o.key), can: o.can, iat, exp: iat + life, jti: newJti() },
    root,
  );
}

/** A one-time enrollment credential for `key` (the code's credential key): `[approver?, cred]`. */
export async function issueCredential(
  signer: OrgSigner,
  o: { kind: 'user' | 'vm'; sub: string; key: KeyObject; seconds?: number; ttl?: number },
  nowMs = Date.now(),
): Promise<{ chain: string[]; claims: OrgClaims<'cred'> }> {
  const iat = seconds(nowMs);
  const claims: OrgClaims<'cred'> = {
    kind: o.kind,
    sub: o.sub,
    key: spkiB64url(o.key),
    ttl: Math.min(
      o.ttl ?? (o.kind === 'user' ? ORG_DEFAULTS.deviceSeconds : ORG_DEFAULTS.vmidSeconds),
      ORG_LIMITS.enrolledSeconds,
    ),
    iat,
    exp: iat + Math.min(o.seconds ?? ORG_DEFAULTS.credSeconds, ORG_LIMITS.credSeconds),
    jti: newJti(),
  };
  return { chain: [...signer.chain, await signOrgObject('cred', claims, signer.key)], claims };
}

/** The device (user) or VM identity certificate the credential key signs, living the credential's `ttl`. */
export function issueEnrolled(
  credKey: KeyObject,
  cred: OrgClaims<'cred'>,
  key: KeyObject,
  nowMs = Date.now(),
): Promise<string> {
  const iat = seconds(nowMs);
  const claims = { sub: cred.sub, key: spkiB64url(key), cred: cred.jti, iat, exp: iat + cred.ttl, jti: newJti() };
  return cred.kind === 'user' ? signOrgObject('device', claims, credKey) : signOrgObject('vmid', claims, credKey);
}

/** The device key vouches for one login's session key (its SSH fingerprint). */
export function issueLogin(
  deviceKey: KeyObject,
  o: { sub: string; ukey: string; seconds: number },
  nowMs = Date.now(),
): Promise<string> {
  const iat = seconds(nowMs);
  const life = Math.min(o.seconds, ORG_LIMITS.loginSeconds);
  return signOrgObject(
    'login',
    { sub: o.sub, ukey: o.ukey, aud: 'airlock-agent', iat, exp: iat + life, jti: newJti() },
    deviceKey,
  );
}

/** The VM identity key vouches for this boot's host key. */
export function issueHostKey(
  identityKey: KeyObject,
  o: { sub: string; hostkey: string; boot?: string; seconds?: number },
  nowMs = Date.now(),
): Promise<string> {
  const iat = seconds(nowMs);
  const life = Math.min(o.seconds ?? ORG_DEFAULTS.hostkeySeconds, ORG_LIMITS.hostkeySeconds);
  return signOrgObject(
    'hostkey',
    { sub: o.sub, hostkey: o.hostkey, boot: o.boot ?? randomUUID(), iat, exp: iat + life },
    identityKey,
  );
}

export async function issueCrl(
  signer: OrgSigner,
  o: { seq: number; revoked: RevokedLists; seconds?: number },
  nowMs = Date.now(),
): Promise<{ chain: string[]; claims: OrgClaims<'crl'> }> {
  const iat = seconds(nowMs);
  const claims: OrgClaims<'crl'> = {
    seq: o.seq,
    iat,
    exp: iat + Math.min(o.seconds ?? ORG_DEFAULTS.crlSeconds, ORG_LIMITS.crlSeconds),
    revoked: o.revoked,
  };
  return { chain: [...signer.chain, await signOrgObject('crl', claims, signer.key)], claims };
}

export const EMPTY_REVOKED: RevokedLists = { keys: [], creds: [], users: [], vms: [] };
