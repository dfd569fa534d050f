import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  EMPTY_REVOKED,
  ed25519FromSeed,
  generateEd25519,
  issueApprover,
  issueCredential,
  issueCrl,
  issueEnrolled,
  issueHostKey,
  issueLogin,
  makeAnchorText,
  parseAnchor,
  type ApproverPower,
  type OrgAnswer,
  type OrgSigner,
  type PinnedAnchor,
  type RevokedLists,
} from '../org/index.js';
import { randomBytes } from 'node:crypto';
import { deriveCodeSecrets, newCodeKey } from '../enrollment-code.js';
import { hashSecret } from '../secrets.js';

/**
 * An organisation made in memory for tests: two roots, the anchor, and helpers that issue what
 * the admin tool, Connect and the agent would, with any times a test needs.
 */
export interface TestOrg {
  anchor: PinnedAnchor;
  roots: KeyObject[];
  /** Signing as the primary root. */
  root: OrgSigner;
  approver(sub: string, can?: ApproverPower[], nowMs?: number, seconds?: number): Promise<OrgSigner>;
  crl(
    seq: number,
    revoked?: Partial<RevokedLists>,
    o?: { signer?: OrgSigner; nowMs?: number; seconds?: number },
  ): Promise<string[]>;
  user(name: string, o?: TestIssue): Promise<TestUser>;
  vm(id: string, o?: TestIssue): Promise<TestVm>;
  /** A code as `airlock-org sign` makes it: its `K`, the relay secret, and the answer for the relay. */
  code(kind: 'user' | 'vm', sub: string): Promise<{ key: string; relaySecret: string; answer: OrgAnswer }>;
}

export interface TestIssue {
  signer?: OrgSigner;
  /** When the credential is issued (and, unless `enrolledAtMs`, used). */
  nowMs?: number;
  enrolledAtMs?: number;
  credSeconds?: number;
  ttl?: number;
}

export interface TestUser {
  deviceKey: KeyObject;
  /** `[approver?, cred, device]`. */
  deviceChain: string[];
  credJti: string;
  /** The full user chain for a session key fingerprint. */
  login(ukey: string, o?: { nowMs?: number; seconds?: number }): Promise<string[]>;
}

export interface TestVm {
  identityKey: KeyObject;
  /** `[approver?, cred, vmid]`. */
  vmChain: string[];
  hostkey(fingerprint: string, o?: { nowMs?: number; seconds?: number }): Promise<string[]>;
}

export async function makeTestOrg(org = 'Test Org'): Promise<TestOrg> {
  const roots = [generateEd25519(), generateEd25519()];
  const anchor = parseAnchor(makeAnchorText(org, roots));
  if (!anchor.ok) throw new Error(anchor.error.message);
  const root: OrgSigner = { key: roots[0]!, chain: [] };

  const enroll = async (kind: 'user' | 'vm', sub: string, key: KeyObject, o: TestIssue = {}) => {
    const credKey = ed25519FromSeed(randomBytes(32));
    const cred = await issueCredential(
      o.signer ?? root,
      { kind, sub, key: credKey, seconds: o.credSeconds, ttl: o.ttl },
      o.nowMs,
    );
    const leaf = await issueEnrolled(credKey, cred.claims, key, o.enrolledAtMs ?? o.nowMs);
    return { chain: [...cred.chain, leaf], jti: cred.claims.jti };
  };

  return {
    anchor: anchor.value,
    roots,
    root,
    async approver(sub, can = ['user', 'vm', 'crl'], nowMs, seconds) {
      const key = generateEd25519();
      return { key, chain: [await issueApprover(roots[0]!, { sub, key, can, seconds }, nowMs)] };
    },
    async crl(seq, revoked = {}, o = {}) {
      const issued = await issueCrl(
        o.signer ?? root,
        { seq, revoked: { ...EMPTY_REVOKED, ...revoked }, seconds: o.seconds },
        o.nowMs,
      );
      return issued.chain;
    },
    async user(name, o) {
      const deviceKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const { chain, jti } = await enroll('user', name, deviceKey, o);
      return {
        deviceKey,
        deviceChain: chain,
        credJti: jti,
        login: async (ukey, l = {}) => [
          ...chain,
          await issueLogin(deviceKey, { sub: name, ukey, seconds: l.seconds ?? 3600 }, l.nowMs),
        ],
      };
    },
    async code(kind, sub) {
      const key = newCodeKey();
      const { relaySecret, credSeed } = deriveCodeSecrets(key);
      const cred = await issueCredential(root, { kind, sub, key: ed25519FromSeed(credSeed) });
      const answer: OrgAnswer = {
        type: 'airlock-org-answer',
        v: 1,
        kind,
        sub,
        secretSha256: hashSecret(relaySecret),
        chain: cred.chain,
        expiresAt: new Date(cred.claims.exp * 1000).toISOString(),
      };
      return { key, relaySecret, answer };
    },
    async vm(id, o) {
      const identityKey = generateEd25519();
      const { chain } = await enroll('vm', id, identityKey, o);
      return {
        identityKey,
        vmChain: chain,
        hostkey: async (fingerprint, h = {}) => [
          ...chain,
          await issueHostKey(identityKey, { sub: id, hostkey: fingerprint, seconds: h.seconds }, h.nowMs),
        ],
      };
    },
  };
}
