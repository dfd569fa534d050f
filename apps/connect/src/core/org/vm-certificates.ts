import type { VmListResponse, VmSummary } from '@airlock/shared';
import { verifyVmIdentity, type ChainRefusalCode } from '@airlock/shared/org';
import type { RelayClient } from '../relay/relay-client.js';
import { keeperOf, type PinnedOrg, type SessionTrust } from '../session/org-trust.js';

/**
 * What this device can say of a VM's certificates before any session, from the chain its agent
 * registered with the relay:
 * - `certified`: the organisation this device pinned certified the VM's identity key, which
 *   certified a host key (`hostKey`) — a session still checks the host key the relay names then;
 * - `not-certified`: the chain is missing or refused (`reason`): a session to it will be refused;
 * - `unknown`: the VM is offline, so no agent registered a chain to judge;
 * - `relay-only`: this device pinned no organisation (a `u1` enrollment): the relay is believed.
 */
export type VmCertificate =
  | { state: 'certified'; identity: string; hostKey: string; approver?: string }
  | { state: 'not-certified'; reason: ChainRefusalCode; message: string }
  | { state: 'unknown'; message: string }
  | { state: 'relay-only' };

export type CertifiedVm = VmSummary & { certificate: VmCertificate };

export interface CertifiedVmList {
  /** Which trust this device's sessions run under. */
  trust: SessionTrust;
  vms: CertifiedVm[];
}

/**
 * Judges each VM of a `/vms` answer against the pinned organisation. The relay's newest
 * revocation list is taken first when it verifies and is newer (as a session answer's is); a
 * relay that withholds it changes nothing but which kept list is used.
 */
export async function certifyVmList(
  org: PinnedOrg | undefined,
  list: VmListResponse,
  relay: Pick<RelayClient, 'orgInfo'>,
  nowMs = Date.now(),
): Promise<CertifiedVmList> {
  if (!org)
    return { trust: 'relay-only', vms: list.vms.map((vm) => ({ ...vm, certificate: { state: 'relay-only' } })) };
  const keeper = await keeperOf(org);
  const info = await relay.orgInfo();
  if (info.ok && info.value.crl) await keeper.offer(info.value.crl);
  const judge = async (vm: VmSummary): Promise<VmCertificate> => {
    if (!vm.vmChain && !vm.online)
      return { state: 'unknown', message: `${vm.id} is offline: its certificates are checked when it is back` };
    const verified = await verifyVmIdentity(keeper.anchor, vm.vmChain, { vm: vm.id }, keeper.claims, nowMs);
    if (!verified.ok) return { state: 'not-certified', reason: verified.error.code, message: verified.error.message };
    const { identity, hostKey, approver } = verified.value;
    return { state: 'certified', identity, hostKey, ...(approver ? { approver } : {}) };
  };
  return {
    trust: 'org-root',
    vms: await Promise.all(list.vms.map(async (vm) => ({ ...vm, certificate: await judge(vm) }))),
  };
}
