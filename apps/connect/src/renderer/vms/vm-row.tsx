import { useState, type FormEvent } from 'react';
import type { ApiFailure, RdpLaunched, VmView } from '../../api/contract/index.js';
import { FailureMessage } from '../common/failure-message.js';
import { clock, when } from '../common/time.js';
import { RdpResult } from './rdp-result.js';

const RDP_PORT = 3389;

export interface VmActions {
  openTerminal(vm: string): void;
  addForward(vm: string, remotePort: number, localPort: number | undefined): Promise<ApiFailure | undefined>;
  launchRdp(vm: string): Promise<{ ok: true; value: RdpLaunched } | { ok: false; error: ApiFailure }>;
}

/** One VM: online or offline (since when this app saw it change), its ports, the grant, actions. */
export function VmRow({ vm, since, actions }: { vm: VmView; since: number | undefined; actions: VmActions }) {
  const [failure, setFailure] = useState<{ title: string; failure: ApiFailure } | undefined>();
  const [rdp, setRdp] = useState<RdpLaunched | undefined>();
  const [busy, setBusy] = useState(false);
  const headingId = `vm-${vm.id}`;
  const rdpAllowed = vm.ports.some((p) => p.port === RDP_PORT);
  const forwardable = vm.ports;

  const forward = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const remotePort = Number(form.get('remotePort'));
    const local = String(form.get('localPort') ?? '').trim();
    setBusy(true);
    const f = await actions.addForward(vm.id, remotePort, local ? Number(local) : undefined);
    setBusy(false);
    setFailure(f ? { title: `Couldn't forward ${vm.id}:${remotePort}`, failure: f } : undefined);
  };
  const remoteDesktop = async () => {
    setBusy(true);
    const r = await actions.launchRdp(vm.id);
    setBusy(false);
    if (r.ok) {
      setRdp(r.value);
      setFailure(undefined);
    } else setFailure({ title: `Couldn't start remote desktop on ${vm.id}`, failure: r.error });
  };

  return (
    <li className={vm.online ? 'vm' : 'vm offline'} aria-labelledby={headingId} data-vm={vm.id}>
      <div className="vm-head">
        <h3 id={headingId}>{vm.id}</h3>
        <span className="vm-state" data-testid="vm-state">
          <span className={vm.online ? 'dot online' : 'dot offline'} aria-hidden="true" />
          {vm.online ? 'Online' : 'Offline'}
          {since !== undefined && ` since ${clock(since)}`}
        </span>
        <span className="muted">
          {vm.grantExpiresAt ? `Access until ${when(vm.grantExpiresAt)}` : 'Access with no end date'}
        </span>
      </div>
      <ul className="chips" aria-label={`Ports allowed on ${vm.id}`}>
        {vm.ports.length === 0 && <li className="muted">No ports allowed (terminal only)</li>}
        {vm.ports.map((p) => (
          <li key={p.port} className="chip">
            {p.port}
            {p.name && ` · ${p.name}`}
          </li>
        ))}
      </ul>
      {!vm.online && (
        <p className="muted">
          Offline: the VM or its agent is not running. Start the VM, or ask an admin; this list updates by itself.
        </p>
      )}
      <div className="vm-actions">
        <button type="button" onClick={() => actions.openTerminal(vm.id)} disabled={!vm.online}>
          Open terminal<span className="visually-hidden"> on {vm.id}</span>
        </button>
        {rdpAllowed && (
          <button
            type="button"
            className="secondary"
            onClick={() => void remoteDesktop()}
            disabled={!vm.online || busy}
          >
            Remote desktop<span className="visually-hidden"> on {vm.id}</span>
          </button>
        )}
        {forwardable.length > 0 && (
          <form className="forward-form" onSubmit={(e) => void forward(e)}>
            <label htmlFor={`${headingId}-port`}>Forward port</label>
            <select id={`${headingId}-port`} name="remotePort">
              {forwardable.map((p) => (
                <option key={p.port} value={p.port}>
                  {p.port}
                  {p.name ? ` · ${p.name}` : ''}
                </option>
              ))}
            </select>
            <label htmlFor={`${headingId}-local`}>to local port</label>
            <input
              id={`${headingId}-local`}
              name="localPort"
              inputMode="numeric"
              pattern="[0-9]*"
              placeholder="auto"
              size={6}
              aria-describedby={`${headingId}-local-hint`}
            />
            <span id={`${headingId}-local-hint`} className="visually-hidden">
              Leave empty to use the same number when it is free, or any free port.
            </span>
            <button type="submit" className="secondary" disabled={!vm.online || busy}>
              Start forward
            </button>
          </form>
        )}
      </div>
      {failure && <FailureMessage failure={failure.failure} title={failure.title} />}
      {rdp && <RdpResult result={rdp} />}
    </li>
  );
}
