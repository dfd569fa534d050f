import type { KeyObject } from 'node:crypto';
import { CompactSign, compactVerify, decodeProtectedHeader, errors } from 'jose';
import * as z from 'zod';
import { err, ok, type Result } from '../result.js';
import { UserName, VmId } from '../schemas.js';
import { jwsAlgFor, publicKeyFingerprint } from './keys.js';
import { lazySchema } from '../lazy-schema.js';

/**
 * The organisation's signed objects: JWS compact, one `typ` per kind so no object can pass for
 * another, `kid` = the signer's fingerprint. Who may sign which, and how a chain of them is
 * checked, is in verify.ts.
 */
export const ORG_TYP = {
  approver: 'airlock-approver+jws',
  cred: 'airlock-cred+jws',
  device: 'airlock-device+jws',
  login: 'airlock-login+jws',
  vmid: 'airlock-vmid+jws',
  hostkey: 'airlock-hostkey+jws',
  crl: 'airlock-crl+jws',
} as const;
export type OrgKind = keyof typeof ORG_TYP;

export const SpkiB64url = lazySchema(() =>
  z.string().regex(/^[A-Za-z0-9_-]{40,800}$/, 'must be a base64url SPKI public key'),
);
/** `SHA256:<43 base64>`: an SSH-style key fingerprint. */
export const KeyFingerprint = lazySchema(() =>
  z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be a SHA256:… key fingerprint'),
);
export const Jti = lazySchema(() => z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be a certificate id'));
export const APPROVER_POWERS = ['user', 'vm', 'crl'] as const;
export type ApproverPower = (typeof APPROVER_POWERS)[number];

const times = () => ({ iat: z.number().int().nonnegative(), exp: z.number().int().nonnegative() });

export const ApproverClaims = lazySchema(() =>
  z.object({
    sub: UserName,
    key: SpkiB64url,
    can: z.array(z.enum(APPROVER_POWERS)).min(1),
    ...times(),
    jti: Jti,
  }),
);
export const CredClaims = lazySchema(() =>
  z
    .object({
      kind: z.enum(['user', 'vm']),
      sub: z.string().max(63),
      key: SpkiB64url,
      /** Longest life (seconds) of the device or VM identity certificate this credential may sign. */
      ttl: z.number().int().positive(),
      ...times(),
      jti: Jti,
    })
    .refine((c) => (c.kind === 'user' ? UserName : VmId).safeParse(c.sub).success, { message: 'bad subject' }),
);
export const DeviceClaims = lazySchema(() =>
  z.object({ sub: UserName, key: SpkiB64url, cred: Jti, ...times(), jti: Jti }),
);
export const LoginClaims = lazySchema(() =>
  z.object({
    sub: UserName,
    /** SSH fingerprint of the login's session key: the one key the agent may accept for it. */
    ukey: KeyFingerprint,
    aud: z.literal('airlock-agent'),
    ...times(),
    jti: Jti,
  }),
);
export const VmIdClaims = lazySchema(() => z.object({ sub: VmId, key: SpkiB64url, cred: Jti, ...times(), jti: Jti }));
export const HostKeyClaims = lazySchema(() =>
  z.object({ sub: VmId, hostkey: KeyFingerprint, boot: z.string().uuid(), ...times() }),
);
const MAX_REVOKED = 10_000;
export const RevokedLists = lazySchema(() =>
  z.object({
    keys: z.array(KeyFingerprint).max(MAX_REVOKED),
    creds: z.array(Jti).max(MAX_REVOKED),
    users: z.array(UserName).max(MAX_REVOKED),
    vms: z.array(VmId).max(MAX_REVOKED),
  }),
);
export type RevokedLists = z.infer<typeof RevokedLists>;
export const CrlClaims = lazySchema(() =>
  z.object({ seq: z.number().int().min(1), ...times(), revoked: RevokedLists }),
);
export type ApproverClaims = z.infer<typeof ApproverClaims>;
export type CredClaims = z.infer<typeof CredClaims>;
export type DeviceClaims = z.infer<typeof DeviceClaims>;
export type LoginClaims = z.infer<typeof LoginClaims>;
export type VmIdClaims = z.infer<typeof VmIdClaims>;
export type HostKeyClaims = z.infer<typeof HostKeyClaims>;
export type CrlClaims = z.infer<typeof CrlClaims>;

const CLAIMS = {
  approver: ApproverClaims,
  cred: CredClaims,
  device: DeviceClaims,
  login: LoginClaims,
  vmid: VmIdClaims,
  hostkey: HostKeyClaims,
  crl: CrlClaims,
} as const;
export type OrgClaims<K extends OrgKind> = z.infer<(typeof CLAIMS)[K]>;

export async function signOrgObject<K extends OrgKind>(
  kind: K,
  claims: OrgClaims<K>,
  signer: KeyObject,
): Promise<string> {
  const alg = jwsAlgFor(signer);
  if (!alg) throw new Error(`cannot sign with a ${signer.asymmetricKeyType} key`);
  const checked = CLAIMS[kind].parse(claims);
  return new CompactSign(Buffer.from(JSON.stringify(checked), 'utf8'))
    .setProtectedHeader({ alg, typ: ORG_TYP[kind], kid: publicKeyFingerprint(signer) })
    .sign(signer);
}

/** What the header of a signed object says, before anything is verified. */
export interface OrgHeader {
  kind: OrgKind;
  kid?: string;
}

export function orgHeader(jws: string): OrgHeader | undefined {
  try {
    const h = decodeProtectedHeader(jws);
    const kind = (Object.keys(ORG_TYP) as OrgKind[]).find((k) => ORG_TYP[k] === h.typ);
    if (!kind) return undefined;
    return typeof h.kid === 'string' ? { kind, kid: h.kid } : { kind };
  } catch {
    return undefined;
  }
}

export type ObjectRejection = 'bad_signature' | 'malformed';

/** Verifies one object's signature with `key` (its algorithm follows the key) and reads its claims. */
export async function verifyOrgObject<K extends OrgKind>(
  jws: string,
  kind: K,
  key: KeyObject,
): Promise<Result<OrgClaims<K>, ObjectRejection>> {
  const alg = jwsAlgFor(key);
  if (!alg) return err('bad_signature');
  let payload: Uint8Array;
  try {
    const r = await compactVerify(jws, key, { algorithms: [alg] });
    if (r.protectedHeader.typ !== ORG_TYP[kind]) return err('malformed');
    payload = r.payload;
  } catch (e) {
    if (e instanceof errors.JOSEError)
      return err(e instanceof errors.JWSSignatureVerificationFailed ? 'bad_signature' : 'malformed');
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return err('malformed');
  }
  const parsed = CLAIMS[kind].safeParse(json);
  return parsed.success ? ok(parsed.data as OrgClaims<K>) : err('malformed');
}
