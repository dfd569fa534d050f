import type { KeyObject } from 'node:crypto';
import { err, ok } from '../result.js';
import type { PinnedAnchor } from './anchor.js';
import {
  NAMES,
  enrolledParty,
  issuedByOrg,
  lifetime,
  publicKey,
  refuse,
  signedBy,
  steps,
  window,
  type Checked,
  type EnrolledParty,
} from './chain-checks.js';
import { publicKeyFingerprint } from './keys.js';
import { ORG_LIMITS } from './limits.js';
import type { CrlClaims, OrgClaims } from './objects.js';
import { credentialRevocation, crlFreshness, revocation } from './revocation-checks.js';

/**
 * Checks chains of the organisation's signed objects against a pinned anchor. Every party runs
 * these same functions: Connect (VM chains), the agent (user chains), the relay (what admins
 * upload; it is only a courtesy there, nothing relies on it).
 *
 *   user chain  [approver?, cred(user), device, login]
 *   VM chain    [approver?, cred(vm),   vmid,   hostkey]
 *   CRL chain   [approver?, crl]
 *
 * Certificates that certify a signer (approver, credential) must have been valid when they
 * signed; those that speak for a party now (device, VM identity, login, host key) must be valid
 * now. A refusal is a value with a stable `code` and a sentence for people.
 */

// Each link's checks live in chain-checks.ts, the revocation lists' in revocation-checks.ts; the
// names importers use stay reachable from here.
export type { ChainRefusal, ChainRefusalCode, EnrolledParty } from './chain-checks.js';
export { crlFreshness, verifyCrl } from './revocation-checks.js';

const seconds = (ms: number) => Math.floor(ms / 1000);

export interface VerifiedUser {
  user: string;
  /** The device key's fingerprint. */
  device: string;
  cred: string;
  approver?: string;
}

/**
 * A chain ending in a certificate the enrolled key signs for now (`login` or `hostkey`): checked
 * up to that leaf, which must be for the same subject, within its allowed life and current.
 */
async function sessionChain<K extends 'login' | 'hostkey'>(
  anchor: PinnedAnchor,
  chain: unknown,
  kind: 'user' | 'vm',
  leafKind: K,
  crl: CrlClaims | undefined,
  nowMs: number,
): Promise<Checked<{ party: EnrolledParty; leaf: OrgClaims<K>; crl: CrlClaims }>> {
  const what = kind === 'user' ? 'user certificate chain' : 'VM identity certificate chain';
  const s = steps(chain, what);
  if (!s.ok) return s;
  const fresh = crlFreshness(crl, seconds(nowMs));
  if (fresh || !crl) return err(fresh!);
  const enrolled = await enrolledParty(anchor, s.value, kind, seconds(nowMs));
  if (!enrolled.ok) return enrolled;
  const { party, rest } = enrolled.value;
  const signer = kind === 'user' ? `the device key of ${party.sub}` : `the identity key of VM ${party.sub}`;
  const leaf = await signedBy(rest[0], leafKind, [party.key], signer);
  if (!leaf.ok) return leaf;
  if (rest.length > 1) return refuse('malformed', `the ${what} has extra objects after the ${NAMES[leafKind]}`);
  if (leaf.value.sub !== party.sub) return refuse('malformed', `the ${NAMES[leafKind]} names another subject`);
  const max = leafKind === 'login' ? ORG_LIMITS.loginSeconds : ORG_LIMITS.hostkeySeconds;
  const lived = lifetime(leafKind, leaf.value, max);
  if (!lived.ok) return lived;
  const valid = window(leafKind, leaf.value, seconds(nowMs));
  if (!valid.ok) return valid;
  return ok({ party, leaf: leaf.value, crl });
}

/**
 * The agent's check of a dial: the user chain must reach the pinned anchor, name the ticket's
 * user, end in a login certificate for the ticket's key, be current, and not be revoked.
 */
export async function verifyUserChain(
  anchor: PinnedAnchor,
  chain: unknown,
  expect: { user: string; ukey: string },
  crl: CrlClaims | undefined,
  nowMs: number,
): Promise<Checked<VerifiedUser>> {
  const checked = await sessionChain(anchor, chain, 'user', 'login', crl, nowMs);
  if (!checked.ok) return checked;
  const { party, leaf } = checked.value;
  if (party.sub !== expect.user)
    return refuse('sub_mismatch', `the certificates are for user ${party.sub}, the ticket is for ${expect.user}`);
  if (leaf.ukey !== expect.ukey)
    return refuse('ukey_mismatch', `the login certificate is for key ${leaf.ukey}, the ticket names ${expect.ukey}`);
  const revoked = revocation(checked.value.crl, party);
  if (!revoked.ok) return revoked;
  return ok({
    user: party.sub,
    device: party.fingerprint,
    cred: party.cred.jti,
    ...(party.approver ? { approver: party.approver.sub } : {}),
  });
}

export interface VerifiedVm {
  vm: string;
  /** The VM identity key's fingerprint. */
  identity: string;
  /** The host key (SSH fingerprint) the identity key certified for this boot. */
  hostKey: string;
  approver?: string;
}

/**
 * A VM chain checked for the VM it names and the host key it certifies, whichever that is: what
 * `airlock vms` says of each VM before any session. Never enough to pin a host key by itself — a
 * session checks the host key the relay named too (`verifyVmChain`).
 */
export async function verifyVmIdentity(
  anchor: PinnedAnchor,
  chain: unknown,
  expect: { vm: string },
  crl: CrlClaims | undefined,
  nowMs: number,
): Promise<Checked<VerifiedVm>> {
  const checked = await sessionChain(anchor, chain, 'vm', 'hostkey', crl, nowMs);
  if (!checked.ok) return checked;
  const { party, leaf } = checked.value;
  if (party.sub !== expect.vm)
    return refuse('wrong_vm', `the certificates are for VM ${party.sub}, not ${expect.vm}, the VM asked for`);
  const revoked = revocation(checked.value.crl, party);
  if (!revoked.ok) return revoked;
  return ok({
    vm: party.sub,
    identity: party.fingerprint,
    hostKey: leaf.hostkey,
    ...(party.approver ? { approver: party.approver.sub } : {}),
  });
}

/**
 * Connect's check of a session answer: the VM chain must reach the pinned anchor, name the VM
 * Connect asked for, end in a host key certificate for the host key the relay named, be current,
 * and not be revoked.
 */
export async function verifyVmChain(
  anchor: PinnedAnchor,
  chain: unknown,
  expect: { vm: string; hostKeyFingerprint: string },
  crl: CrlClaims | undefined,
  nowMs: number,
): Promise<Checked<VerifiedVm>> {
  const verified = await verifyVmIdentity(anchor, chain, expect, crl, nowMs);
  if (!verified.ok) return verified;
  if (verified.value.hostKey !== expect.hostKeyFingerprint)
    return refuse(
      'hostkey_mismatch',
      `VM ${verified.value.vm} certified host key ${verified.value.hostKey}, but the relay named ${expect.hostKeyFingerprint}`,
    );
  return verified;
}

/**
 * `[approver?, cred, device|vmid]`: an enrolled party's own certificates (what the relay checks
 * when a device registers, what an agent checks of itself at start), optionally against a CRL.
 */
export async function verifyEnrolled(
  anchor: PinnedAnchor,
  chain: unknown,
  expect: { kind: 'user' | 'vm'; sub: string; key?: KeyObject },
  crl: CrlClaims | undefined,
  nowMs: number,
): Promise<Checked<EnrolledParty>> {
  const s = steps(chain, expect.kind === 'user' ? 'device certificate chain' : 'VM identity certificate chain');
  if (!s.ok) return s;
  const enrolled = await enrolledParty(anchor, s.value, expect.kind, seconds(nowMs));
  if (!enrolled.ok) return enrolled;
  const { party, rest } = enrolled.value;
  if (rest.length > 0) return refuse('malformed', 'the certificate chain has extra objects');
  if (party.sub !== expect.sub)
    return refuse(
      expect.kind === 'vm' ? 'wrong_vm' : 'sub_mismatch',
      `the certificates are for ${party.sub}, not ${expect.sub}`,
    );
  if (expect.key && publicKeyFingerprint(expect.key) !== party.fingerprint)
    return refuse(
      'cred_key_mismatch',
      `the certificate is for key ${party.fingerprint}, not ${publicKeyFingerprint(expect.key)}`,
    );
  if (crl) {
    const revoked = revocation(crl, party);
    if (!revoked.ok) return revoked;
  }
  return ok(party);
}

/**
 * `[approver?, cred]` as an enrolling party receives it: a credential the organisation signed,
 * current, for this kind and subject, whose key is the one the code's seed gives (the relay,
 * which never knows that seed, checks the rest when an admin uploads it).
 */
export async function verifyCredential(
  anchor: PinnedAnchor,
  chain: unknown,
  expect: { kind: 'user' | 'vm'; sub?: string; key?: KeyObject },
  nowMs: number,
  /** When given, a credential it revokes (its id, its key, its approver, or its subject) is refused. */
  crl?: CrlClaims,
): Promise<Checked<OrgClaims<'cred'>>> {
  const s = steps(chain, 'enrollment credential');
  if (!s.ok) return s;
  const issued = await issuedByOrg(anchor, s.value, 'cred', expect.kind);
  if (!issued.ok) return issued;
  if (issued.value.rest.length > 0) return refuse('malformed', 'the credential chain has extra objects');
  const cred = issued.value.top;
  if (cred.kind !== expect.kind)
    return refuse('not_allowed', `the enrollment credential is for a ${cred.kind === 'vm' ? 'VM' : 'user'}`);
  const lived = lifetime('cred', cred, ORG_LIMITS.credSeconds);
  if (!lived.ok) return lived;
  const valid = window('cred', cred, seconds(nowMs));
  if (!valid.ok) return valid;
  if (expect.sub !== undefined && cred.sub !== expect.sub)
    return refuse(
      expect.kind === 'vm' ? 'wrong_vm' : 'sub_mismatch',
      `the enrollment credential is for ${cred.sub}, not ${expect.sub}`,
    );
  const key = publicKey(cred.key);
  if (!key) return refuse('malformed', 'the enrollment credential names no usable key');
  if (expect.key && publicKeyFingerprint(key) !== publicKeyFingerprint(expect.key))
    return refuse('cred_key_mismatch', "the enrollment credential is for another key than this code's");
  if (crl) {
    const revoked = credentialRevocation(crl, cred, publicKeyFingerprint(key), issued.value.approver?.fingerprint);
    if (!revoked.ok) return revoked;
  }
  return ok(cred);
}
