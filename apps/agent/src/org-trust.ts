import { createPrivateKey, type KeyObject } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { err, ok, OrgChain, readFileIfExists, writeFileAtomic, type Result, type TicketClaims } from '@airlock/shared';
import {
  CrlKeeper,
  issueHostKey,
  parseAnchor,
  verifyUserChain,
  type ChainRefusal,
  type PinnedAnchor,
  type VerifiedUser,
} from '@airlock/shared/org';

/**
 * The agent's side of the organisation root (files in the state dir, written at an `a2`
 * enrollment):
 *   org-anchor.json      the anchor whose fingerprint the token pinned (its presence is the pin)
 *   identity-key.pem     the VM identity key (Ed25519, 0600): signs each boot's host key
 *   vm-identity.json     `{ chain: [approver?, cred, vmid] }`: the organisation's word for that key
 *   crl.json             the newest revocation list seen (never replaced by an older one)
 */
export const ORG_STATE_FILES = {
  anchor: 'org-anchor.json',
  identityKey: 'identity-key.pem',
  vmIdentity: 'vm-identity.json',
  crl: 'crl.json',
} as const;

const VmIdentityFile = z.object({ chain: OrgChain });

/** Which trust a session ran under, for the log, the status and the relay's audit. */
export type SessionTrust = 'org-root' | 'relay-only';

export class AgentOrgTrust {
  private constructor(
    readonly anchor: PinnedAnchor,
    private readonly identityKey: KeyObject,
    private readonly identityChain: string[],
    readonly crl: CrlKeeper,
    private readonly now: () => number,
  ) {}

  /**
   * The organisation this agent pinned, or undefined when it was enrolled without one (a1
   * token: migration mode). A partial or damaged org state is an error, never a silent downgrade.
   */
  static async load(stateDir: string, now: () => number = Date.now): Promise<AgentOrgTrust | undefined> {
    const file = (name: string) => join(stateDir, name);
    const anchorText = await readFileIfExists(file(ORG_STATE_FILES.anchor));
    if (anchorText === undefined) return undefined;
    const anchor = parseAnchor(anchorText);
    if (!anchor.ok) throw new Error(`${file(ORG_STATE_FILES.anchor)}: ${anchor.error.message}`);
    const keyPem = await readFileIfExists(file(ORG_STATE_FILES.identityKey));
    const identityText = await readFileIfExists(file(ORG_STATE_FILES.vmIdentity));
    if (keyPem === undefined || identityText === undefined)
      throw new Error(
        `${stateDir} pins an organisation but lacks its VM identity (${ORG_STATE_FILES.identityKey}, ${ORG_STATE_FILES.vmIdentity}); enroll again with --force and a new a2 token`,
      );
    let chain: string[];
    try {
      chain = VmIdentityFile.parse(JSON.parse(identityText)).chain;
    } catch {
      throw new Error(`${file(ORG_STATE_FILES.vmIdentity)} is damaged; enroll again with --force and a new a2 token`);
    }
    const crl = await CrlKeeper.open(anchor.value, file(ORG_STATE_FILES.crl));
    return new AgentOrgTrust(anchor.value, createPrivateKey(keyPem), chain, crl, now);
  }

  /** Saves what an `a2` enrollment established (the anchor first checked against the token's afp). */
  static async save(
    stateDir: string,
    o: { anchorText: string; identityKey: KeyObject; chain: string[] },
  ): Promise<void> {
    const file = (name: string) => join(stateDir, name);
    const pem = o.identityKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await writeFileAtomic(file(ORG_STATE_FILES.identityKey), pem, 0o600);
    await writeFileAtomic(file(ORG_STATE_FILES.vmIdentity), `${JSON.stringify({ chain: o.chain }, null, 2)}\n`, 0o644);
    // The anchor last: its presence is the pin, and it must never stand without the identity.
    await writeFileAtomic(file(ORG_STATE_FILES.anchor), o.anchorText, 0o644);
  }

  /** Removes the pin and identity (an explicit re-enrollment with an a1 token). */
  static async forget(stateDir: string): Promise<void> {
    for (const name of [
      ORG_STATE_FILES.anchor,
      ORG_STATE_FILES.vmIdentity,
      ORG_STATE_FILES.identityKey,
      ORG_STATE_FILES.crl,
    ])
      await rm(join(stateDir, name), { force: true });
  }

  /** The VM chain for this boot's host key: `[approver?, cred, vmid, hostkey]`. */
  async hostKeyChain(vm: string, hostKeyFingerprint: string): Promise<string[]> {
    const hostkey = await issueHostKey(this.identityKey, { sub: vm, hostkey: hostKeyFingerprint }, this.now());
    return [...this.identityChain, hostkey];
  }

  /**
   * A dial's user chain against the ticket: it must reach the pinned anchor, name the ticket's
   * user, certify the ticket's key, and be neither expired nor revoked under the newest list.
   */
  async checkUser(
    claims: Pick<TicketClaims, 'sub' | 'ukey'>,
    userChain: string[] | undefined,
    crl: string[] | undefined,
  ): Promise<Result<VerifiedUser, ChainRefusal>> {
    if (crl) await this.crl.offer(crl);
    if (!userChain)
      return err({
        code: 'no_chain',
        message: `this VM pinned organisation ${this.anchor.org} and the dial carries no user certificate chain`,
      });
    const verified = await verifyUserChain(
      this.anchor,
      userChain,
      { user: claims.sub, ukey: claims.ukey },
      this.crl.claims,
      this.now(),
    );
    return verified.ok ? ok(verified.value) : verified;
  }
}
