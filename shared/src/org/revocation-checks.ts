import { ok } from '../result.js';
import type { PinnedAnchor } from './anchor.js';
import {
  issuedByOrg,
  iso,
  lifetime,
  refuse,
  steps,
  type ChainRefusal,
  type Checked,
  type EnrolledParty,
} from './chain-checks.js';
import { ORG_CLOCK_SKEW_SECONDS as SKEW, ORG_LIMITS } from './limits.js';
import type { CrlClaims, OrgClaims } from './objects.js';

// What the organisation's revocation lists say: whether the list a party holds is there and
// current, whether it names an enrolled party or a credential, and the check of a list itself.

/** Refuses a party any revocation list names (its key, credential, approver, or its name). */
export function revocation(crl: CrlClaims, party: EnrolledParty): Checked<void> {
  const r = crl.revoked;
  const keys = [party.fingerprint, party.credFingerprint, ...(party.approver ? [party.approver.fingerprint] : [])];
  const what = party.kind === 'user' ? `user ${party.sub}` : `VM ${party.sub}`;
  const key = keys.find((k) => r.keys.includes(k));
  if (key)
    return refuse('revoked:key', `key ${key} in the certificates of ${what} was revoked (revocation list ${crl.seq})`);
  if (r.creds.includes(party.cred.jti))
    return refuse(
      'revoked:cred',
      `the enrollment credential ${party.cred.jti} of ${what} was revoked (revocation list ${crl.seq})`,
    );
  if (party.kind === 'user' && r.users.includes(party.sub))
    return refuse('revoked:user', `user ${party.sub} was revoked (revocation list ${crl.seq})`);
  if (party.kind === 'vm' && r.vms.includes(party.sub))
    return refuse('revoked:vm', `VM ${party.sub} was revoked (revocation list ${crl.seq})`);
  return ok(undefined);
}

/** Fail closed: no revocation list, or only an expired one, means no new sessions. */
export function crlFreshness(crl: CrlClaims | undefined, now: number): ChainRefusal | undefined {
  if (!crl)
    return {
      code: 'crl_missing',
      message:
        'no revocation list from the organisation has reached this party yet; the relay must serve one (airlock-relay org set-crl)',
    };
  if (now > crl.exp + SKEW)
    return {
      code: 'crl_stale',
      message: `the newest revocation list (${crl.seq}) expired at ${iso(crl.exp)}; an admin must renew it (airlock-org crl renew, then airlock-relay org set-crl)`,
    };
  return undefined;
}

/** A credential not yet used to enroll: what a revocation list can already say about it. */
export function credentialRevocation(
  crl: CrlClaims,
  cred: OrgClaims<'cred'>,
  keyFingerprint: string,
  approverFingerprint: string | undefined,
): Checked<void> {
  const r = crl.revoked;
  const what = `${cred.kind === 'vm' ? 'VM' : 'user'} ${cred.sub}`;
  if (approverFingerprint && r.keys.includes(approverFingerprint))
    return refuse(
      'revoked:key',
      `the approver key ${approverFingerprint} that signed it was revoked (revocation list ${crl.seq})`,
    );
  if (r.keys.includes(keyFingerprint))
    return refuse('revoked:key', `its key ${keyFingerprint} was revoked (revocation list ${crl.seq})`);
  if (r.creds.includes(cred.jti))
    return refuse('revoked:cred', `the enrollment credential ${cred.jti} was revoked (revocation list ${crl.seq})`);
  if ((cred.kind === 'user' ? r.users : r.vms).includes(cred.sub))
    return refuse(
      cred.kind === 'user' ? 'revoked:user' : 'revoked:vm',
      `${what} was revoked (revocation list ${crl.seq})`,
    );
  return ok(undefined);
}

/** `[approver?, crl]`: a revocation list a root (or an approver with `crl`) signed. Freshness is the keeper's business. */
export async function verifyCrl(anchor: PinnedAnchor, chain: unknown): Promise<Checked<CrlClaims>> {
  const s = steps(chain, 'revocation list');
  if (!s.ok) return s;
  const issued = await issuedByOrg(anchor, s.value, 'crl', 'crl');
  if (!issued.ok) return issued;
  if (issued.value.rest.length > 0) return refuse('malformed', 'the revocation list chain has extra objects');
  const lived = lifetime('crl', issued.value.top, ORG_LIMITS.crlSeconds);
  if (!lived.ok) return lived;
  return ok(issued.value.top);
}
