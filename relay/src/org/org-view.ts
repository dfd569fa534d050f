import { sshFingerprintB64 } from '@airlock/shared';
import { verifyCrl, verifyVmChain, type PinnedAnchor } from '@airlock/shared/org';
import type { RelayStore } from '../store/types.js';
import { storedAnchor } from './org-admin.js';

/**
 * What the running relay reads of the organisation root from its store (an admin CLI may change
 * it at any time): the anchor and the newest list to serve, and — for the log and audit only —
 * whether an agent's VM chain holds up. Nothing the relay concludes here protects anyone.
 */
export class OrgView {
  constructor(
    private readonly store: Pick<RelayStore, 'org'>,
    private readonly now: () => number,
  ) {}

  anchor(): Promise<PinnedAnchor | undefined> {
    return storedAnchor(this.store);
  }

  async crl(): Promise<{ chain: string[]; seq: number } | undefined> {
    const { crl } = await this.store.org.get();
    return crl && { chain: crl.chain, seq: crl.seq };
  }

  /**
   * The list to hand an agent with a dial: the newer of the one Connect offered and the relay's
   * own. Connect's may be newer (a relay that withheld lists) or older (it had not yet seen a
   * renewal): an agent given the older one would refuse, until the next broadcast, a session the
   * renewal allows. One that is not the organisation's (its signature does not verify) is passed
   * on only when there is no other; freshness is the agent's to judge (it says why it refuses).
   */
  async crlForDial(offered: string[] | undefined, served?: string[]): Promise<string[] | undefined> {
    // `served`: the relay's own list, when the caller has just read it.
    const own = served ?? (await this.crl())?.chain;
    if (!offered || !own) return offered ?? own;
    const anchor = await this.anchor();
    if (!anchor) return offered;
    const [theirs, mine] = await Promise.all([verifyCrl(anchor, offered), verifyCrl(anchor, own)]);
    if (!theirs.ok) return mine.ok ? own : offered;
    if (!mine.ok) return offered;
    return theirs.value.seq > mine.value.seq ? offered : own;
  }

  /** `org-root`, `relay-only` (no chain), or why the chain would be refused. */
  async vmTrust(vm: string, hostKeyB64: string, chain: string[] | undefined): Promise<string> {
    if (!chain) return 'relay-only';
    const anchor = await this.anchor();
    if (!anchor) return 'chain without an organisation root on this relay';
    const served = await this.crl();
    const crl = served ? await verifyCrl(anchor, served.chain) : undefined;
    const r = await verifyVmChain(
      anchor,
      chain,
      { vm, hostKeyFingerprint: sshFingerprintB64(hostKeyB64) },
      crl?.ok ? crl.value : undefined,
      this.now(),
    );
    return r.ok ? 'org-root' : `would be refused: ${r.error.code}`;
  }
}
