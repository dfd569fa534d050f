import { useEffect, useRef, useState } from 'react';
import type { ApiFailure, VmList as VmListView, VmView } from '../../api/contract/index.js';
import { FailureMessage } from '../common/failure-message.js';
import { useApiEvent } from '../common/use-api-event.js';
import { TrustNotice } from './trust-notice.js';
import { VmRow, type VmActions } from './vm-row.js';

/**
 * The VMs this person may reach, watched live while shown (the service tells every change), with
 * a filter. Two empty states: nothing shared, and nothing matching the filter.
 */
export function VmList({
  actions,
  filterRef,
  onListed,
  onLogin,
}: {
  actions: VmActions;
  filterRef: React.RefObject<HTMLInputElement | null>;
  /** Called once, when the first list is shown. */
  onListed?: () => void;
  /** Opens the login form (the list could not load because the login is no longer good). */
  onLogin: () => void;
}) {
  const [vms, setVms] = useState<VmView[] | undefined>();
  const [trust, setTrust] = useState<VmListView['trust'] | undefined>();
  const [failure, setFailure] = useState<ApiFailure | undefined>();
  const [filter, setFilter] = useState('');
  /** When this app saw each VM go online or offline (the relay does not say). */
  const since = useRef(new Map<string, { online: boolean; at?: number }>());
  const retry = useRef<HTMLButtonElement>(null);
  /** One watch at a time: each that succeeds is one the service counts until the list unmounts. */
  const loading = useRef(false);

  const take = (list: VmView[]) => {
    for (const vm of list) {
      const seen = since.current.get(vm.id);
      if (!seen) since.current.set(vm.id, { online: vm.online });
      else if (seen.online !== vm.online) since.current.set(vm.id, { online: vm.online, at: Date.now() });
    }
    setVms(list);
  };
  const load = async () => {
    if (loading.current) return;
    loading.current = true;
    try {
      const r = await window.airlock.vmsWatch({});
      if (r.ok) {
        setFailure(undefined);
        setTrust(r.value.trust);
        take(r.value.vms);
      } else setFailure(r.error);
    } finally {
      loading.current = false;
    }
  };
  useEffect(() => {
    void load();
    return () => void window.airlock.vmsUnwatch({});
  }, []);
  useApiEvent('vms.changed', (e) => take(e.vms));
  // A list that failed for want of a login loads by itself once there is one again.
  useApiEvent('login.changed', (e) => {
    if (failure?.action === 'log_in' && e.login.state === 'logged_in') void load();
  });
  // The way on gets the focus, unless the person has put it somewhere already (a closed login
  // dialog leaves it on the page's body).
  useEffect(() => {
    if (failure && (!document.activeElement || document.activeElement === document.body)) retry.current?.focus();
  }, [failure]);
  const listed = vms !== undefined;
  useEffect(() => {
    if (listed) onListed?.();
  }, [listed]);

  const needle = filter.trim().toLowerCase();
  const shown = vms?.filter(
    (vm) =>
      !needle ||
      vm.id.toLowerCase().includes(needle) ||
      vm.ports.some((p) => String(p.port).includes(needle) || p.name?.toLowerCase().includes(needle)),
  );
  return (
    <section aria-labelledby="vms-title" className="vms">
      <div className="section-head">
        <h2 id="vms-title">Your VMs</h2>
        <div role="search" className="filter">
          <label htmlFor="vm-filter">Filter VMs</label>
          <input
            id="vm-filter"
            ref={filterRef}
            type="search"
            value={filter}
            placeholder="name or port"
            title="Filter VMs (Ctrl+Shift+K)"
            onChange={(e) => setFilter(e.target.value)}
          />
        </div>
      </div>
      {trust && vms && <TrustNotice list={{ trust, vms }} />}
      {failure && (
        <>
          <FailureMessage failure={failure} title="Couldn't load your VMs" />
          {failure.action === 'log_in' ? (
            <button type="button" ref={retry} onClick={onLogin}>
              Log in
            </button>
          ) : (
            <button type="button" ref={retry} onClick={() => void load()}>
              Try again
            </button>
          )}
        </>
      )}
      {!vms && !failure && <p role="status">Loading your VMs…</p>}
      {vms && vms.length === 0 && (
        <p className="empty" data-testid="vms-empty">
          No VMs are shared with you yet. Ask your project admin to grant you access; they appear here by themselves.
        </p>
      )}
      {vms && vms.length > 0 && shown?.length === 0 && (
        <p className="empty" data-testid="vms-no-match">
          No VM matches “{filter}”.{' '}
          <button type="button" className="link-button" onClick={() => setFilter('')}>
            Clear the filter
          </button>
        </p>
      )}
      {shown && shown.length > 0 && (
        <ul className="vm-list" aria-label="VMs">
          {shown.map((vm) => (
            <VmRow key={vm.id} vm={vm} since={since.current.get(vm.id)?.at} actions={actions} />
          ))}
        </ul>
      )}
    </section>
  );
}
