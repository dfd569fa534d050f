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
  type OrgClaims,
  type OrgHeader,
  type OrgKind,
} from './objects.js';

// The links every chain check walks through (see verify.ts): parsing a chain into steps, each
// step's signature, validity window and allowed life, and the first links the organisation
// issued, up to an enrolled party's key. A refusal is a value with a stable `code` and a
// sentence for people.

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

export type Checked<T> = Result<T, ChainRefusal>;
export const refuse = (code: ChainRefusalCode, message: string): Checked<never> => err({ code, message });

export const NAMES: Record<OrgKind, string> = {
  approver: 'approver certificate',
  cred: 'enrollment credential',
  device: 'device certificate',
  login: 'login certificate',
  vmid: 'VM identity certificate',
  hostkey: 'host key certificate',
  crl: 'revocation list',
};

export interface Step {
  jws: string;
  header: OrgHeader;
}

export function steps(chain: unknown, what: string): Checked<Step[]> {
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

export function publicKey(spki: string): KeyObject | undefined {
  try {
    return publicKeyFromSpkiB64url(spki);
  } catch {
    return undefined;
  }
}

/** Verifies `step` as `kind` with any of `signers` (the one its `kid` names first). */
export async function signedBy<K extends OrgKind>(
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

export function window(kind: OrgKind, c: { iat: number; exp: number }, at: number, when = 'now'): Checked<void> {
  if (at > c.exp + SKEW)
    return refuse(`expired:${kind}`, `the ${NAMES[kind]} expired at ${iso(c.exp)} (${when} is ${iso(at)})`);
  if (at < c.iat - SKEW) return refuse(`not_yet_valid:${kind}`, `the ${NAMES[kind]} is valid only from ${iso(c.iat)}`);
  return ok(undefined);
}

export function lifetime(kind: OrgKind, c: { iat: number; exp: number }, max: number): Checked<void> {
  return c.exp - c.iat > max + SKEW || c.exp < c.iat
    ? refuse('lifetime_too_long', `the ${NAMES[kind]} claims a life longer than allowed (${max} s)`)
    : ok(undefined);
}

export const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

export interface Issued<K extends 'cred' | 'crl'> {
  top: OrgClaims<K>;
  approver?: { claims: OrgClaims<'approver'>; fingerprint: string };
  rest: Step[];
}

/** The first link(s): a credential or CRL signed by a root, or by an approver a root certified for `power`. */
export async function issuedByOrg<K extends 'cred' | 'crl'>(
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
export async function enrolledParty(
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
