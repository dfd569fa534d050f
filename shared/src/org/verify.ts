import type { KeyObject } from 'node:crypto';
import { err, ok, type Result } from '../result.js';
import { OrgChain } from '../schemas.js';
import { publicKeyFromSpkiB64url } from '../spki.js';
import type { PinnedAnchor } from './anchor.js';
import { publicKeyFingerprint } from './keys.js';
import { ORG_CLOCK_SKEW_SECONDS as SKEW, ORG_LIMITS } from './limits.js';
import {
  orgHeader,
  verifyOrgObject,
  type ApproverPower,
  type CrlClaims,
  type OrgClaims,
  type OrgHeader,
  type OrgKind,
} from './objects.js';

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
export type ChainRefusalCode =
  | 'no_chain'
  | 'malformed'
  | 'not_chained_to_org_root'
  | 'not_allowed'
  | 'lifetime_too_long'
  | 'sub_mismatch'
  | 'wrong_vm'
  | 'ukey_mismatch'
  | 'hostkey_mismatch'
  | 'cred_key_mismatch'
  | `expired:${OrgKind}`
  | `not_yet_valid:${OrgKind}`
  | `revoked:${'key' | 'cred' | 'user' | 'vm'}`
  | 'crl_missing'
  | 'crl_stale';

export interface ChainRefusal {
  code: ChainRefusalCode;
  message: string;
}

type Checked<T> = Result<T, ChainRefusal>;
const refuse = (code: ChainRefusalCode, message: string): Checked<never> => err({ code, message });

const NAMES: Record<OrgKind, string> = {
  approver: 'approver certificate',
  cred: 'enrollment credential',
  device: 'device certificate',
  login: 'login certificate',
  vmid: 'VM identity certificate',
  hostkey: 'host key certificate',
  crl: 'revocation list',
};

interface Step {
  jws: string;
  header: OrgHeader;
}

function steps(chain: unknown, what: string): Checked<Step[]> {
  if (chain === undefined || chain === null || (Array.isArray(chain) && chain.length === 0))
    return refuse('no_chain', `no ${what} came with it`);
  const parsed = OrgChain.safeParse(chain);
  if (!parsed.success) return refuse('malformed', `the ${what} is malformed`);
  const out: Step[] = [];
  for (const jws of parsed.data) {
    const header = orgHeader(jws);
    if (!header) return refuse('malformed', `the ${what} holds an object that is not an organisation certificate`);
    out.push({ jws, header });
  }
  return ok(out);
}

function publicKey(spki: string): KeyObject | undefined {
  try {
    return publicKeyFromSpkiB64url(spki);
  } catch {
    return undefined;
  }
}

/** Verifies `step` as `kind` with any of `signers` (the one its `kid` names first). */
async function signedBy<K extends OrgKind>(
  step: Step | undefined,
  kind: K,
  signers: KeyObject[],
  signerName: string,
): Promise<Checked<OrgClaims<K>>> {
  if (!step || step.header.kind !== kind)
    return refuse('malformed', `expected a ${NAMES[kind]}${step ? `, found a ${NAMES[step.header.kind]}` : ''}`);
  const ordered = [...signers].sort(
    (a, b) => Number(publicKeyFingerprint(b) === step.header.kid) - Number(publicKeyFingerprint(a) === step.header.kid),
  );
  for (const key of ordered) {
    const r = await verifyOrgObject(step.jws, kind, key);
    if (r.ok) return r;
    if (r.error === 'malformed') return refuse('malformed', `the ${NAMES[kind]} is malformed`);
  }
  return refuse('not_chained_to_org_root', `the ${NAMES[kind]} was not signed by ${signerName}`);
}

function window(kind: OrgKind, c: { iat: number; exp: number }, at: number, when = 'now'): Checked<void> {
  if (at > c.exp + SKEW)
    return refuse(`expired:${kind}`, `the ${NAMES[kind]} expired at ${iso(c.exp)} (${when} is ${iso(at)})`);
  if (at < c.iat - SKEW) return refuse(`not_yet_valid:${kind}`, `the ${NAMES[kind]} is valid only from ${iso(c.iat)}`);
  return ok(undefined);
}

function lifetime(kind: OrgKind, c: { iat: number; exp: number }, max: number): Checked<void> {
  return c.exp - c.iat > max + SKEW || c.exp < c.iat
    ? refuse('lifetime_too_long', `the ${NAMES[kind]} claims a life longer than allowed (${max} s)`)
    : ok(undefined);
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

interface Issued<K extends 'cred' | 'crl'> {
  top: OrgClaims<K>;
  approver?: { claims: OrgClaims<'approver'>; fingerprint: string };
  rest: Step[];
}

/** The first link(s): a credential or CRL signed by a root, or by an approver a root certified for `power`. */
async function issuedByOrg<K extends 'cred' | 'crl'>(
  anchor: PinnedAnchor,
  chain: Step[],
  kind: K,
  power: ApproverPower,
): Promise<Checked<Issued<K>>> {
  const roots = anchor.roots.map((r) => r.key);
  const orgName = `a root of the organisation "${anchor.org}" (${anchor.afp})`;
  if (chain[0]?.header.kind !== 'approver') {
    const top = await signedBy(chain[0], kind, roots, orgName);
    return top.ok ? ok({ top: top.value, rest: chain.slice(1) }) : top;
  }
  const a = await signedBy(chain[0], 'approver', roots, orgName);
  if (!a.ok) return a;
  const approverKey = publicKey(a.value.key);
  if (!approverKey) return refuse('malformed', 'the approver certificate names no usable key');
  if (!a.value.can.includes(power))
    return refuse(
      'not_allowed',
      `approver ${a.value.sub} may not sign for ${power === 'crl' ? 'revocations' : `${power}s`}`,
    );
  const lived = lifetime('approver', a.value, ORG_LIMITS.approverSeconds);
  if (!lived.ok) return lived;
  const top = await signedBy(chain[1], kind, [approverKey], `approver ${a.value.sub}`);
  if (!top.ok) return top;
  const signedWhileValid = window('approver', a.value, top.value.iat, `the ${NAMES[kind]} was signed at`);
  if (!signedWhileValid.ok) return signedWhileValid;
  return ok({
    top: top.value,
    approver: { claims: a.value, fingerprint: publicKeyFingerprint(approverKey) },
    rest: chain.slice(2),
  });
}

/** What an enrolled party's certificates establish: who, which key, from which credential. */
export interface EnrolledParty {
  kind: 'user' | 'vm';
  sub: string;
  /** The device key (user) or VM identity key. */
  key: KeyObject;
  fingerprint: string;
  cred: OrgClaims<'cred'>;
  credFingerprint: string;
  /** The approver who signed the credential, if a root did not sign it directly. */
  approver?: { sub: string; fingerprint: string };
  /** When the device or VM identity certificate expires (seconds). */
  exp: number;
}

/** `[approver?, cred, device|vmid]` and whatever follows, checked up to the enrolled key. */
async function enrolledParty(
  anchor: PinnedAnchor,
  chain: Step[],
  kind: 'user' | 'vm',
  now: number,
): Promise<Checked<{ party: EnrolledParty; rest: Step[] }>> {
  const issued = await issuedByOrg(anchor, chain, 'cred', kind);
  if (!issued.ok) return issued;
  const cred = issued.value.top;
  if (cred.kind !== kind)
    return refuse(
      'not_allowed',
      `the enrollment credential is for a ${cred.kind === 'vm' ? 'VM' : 'user'}, not a ${kind === 'vm' ? 'VM' : 'user'}`,
    );
  const lived = lifetime('cred', cred, ORG_LIMITS.credSeconds);
  if (!lived.ok) return lived;
  const credKey = publicKey(cred.key);
  if (!credKey) return refuse('malformed', 'the enrollment credential names no usable key');
  const leafKind = kind === 'user' ? 'device' : 'vmid';
  const leaf = await signedBy(issued.value.rest[0], leafKind, [credKey], 'its enrollment credential');
  if (!leaf.ok) return leaf;
  const l = leaf.value;
  if (l.cred !== cred.jti || l.sub !== cred.sub)
    return refuse('malformed', `the ${NAMES[leafKind]} does not match the credential that signed it`);
  const usedInTime = window('cred', cred, l.iat, `the ${NAMES[leafKind]} was signed at`);
  if (!usedInTime.ok) return usedInTime;
  const allowed = lifetime(leafKind, l, Math.min(cred.ttl, ORG_LIMITS.enrolledSeconds));
  if (!allowed.ok) return allowed;
  const valid = window(leafKind, l, now);
  if (!valid.ok) return valid;
  const key = publicKey(l.key);
  if (!key) return refuse('malformed', `the ${NAMES[leafKind]} names no usable key`);
  const a = issued.value.approver;
  return ok({
    party: {
      kind,
      sub: l.sub,
      key,
      fingerprint: publicKeyFingerprint(key),
      cred,
      credFingerprint: publicKeyFingerprint(credKey),
      ...(a ? { approver: { sub: a.claims.sub, fingerprint: a.fingerprint } } : {}),
      exp: l.exp,
    },
    rest: issued.value.rest.slice(1),
  });
}

/** Refuses a party any revocation list names (its key, credential, approver, or its name). */
function revocation(crl: CrlClaims, party: EnrolledParty): Checked<void> {
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

/** A credential not yet used to enroll: what a revocation list can already say about it. */
function credentialRevocation(
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
