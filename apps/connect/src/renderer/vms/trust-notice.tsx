import type { VmList } from '../../api/contract/index.js';

/**
 * Above the VM list, never in the way: that this device trusts the relay alone (enrolled with a
 * `u1` code, no organisation root pinned), or — under a root — which VMs the organisation has not
 * certified (a session to them will be refused). Nothing when all is as it should be.
 */
export function TrustNotice({ list }: { list: VmList }) {
  if (list.trust === 'relay-only')
    return (
      <div className="trust-notice" role="note" aria-labelledby="trust-notice-title" data-testid="trust-notice">
        <p id="trust-notice-title" className="trust-notice-title">
          No organisation root on this device
        </p>
        <p>
          It was enrolled with an older code, so the relay alone vouches for your VMs: whoever controls the relay could
          read your sessions. Ask your admin for a new enrollment code.
        </p>
      </div>
    );
  const uncertified = list.vms.flatMap((vm) => (vm.certificate.state === 'not-certified' ? [vm] : []));
  if (uncertified.length === 0) return null;
  return (
    <div className="trust-notice" role="note" aria-labelledby="trust-notice-title" data-testid="trust-notice">
      <p id="trust-notice-title" className="trust-notice-title">
        Not certified by your organisation
      </p>
      {uncertified.map((vm) => (
        <p key={vm.id}>
          <strong>{vm.id}</strong>: connections will be refused (
          {vm.certificate.state === 'not-certified' ? vm.certificate.reason : ''}). Tell your admin.
        </p>
      ))}
    </div>
  );
}
