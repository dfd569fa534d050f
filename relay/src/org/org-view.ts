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
