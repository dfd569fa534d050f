import type { ApiFailure, ForwardView } from '../../api/contract/index.js';
import { CopyButton } from '../common/copy-button.js';
import { FailureMessage } from '../common/failure-message.js';
import { bytes } from '../common/time.js';

const STATE_TEXT: Record<ForwardView['state'], string> = {
  listening: 'Listening',
  reconnecting: 'Reconnecting…',
  stopped: 'Stopped',
};

/** Every forward: where it listens (loopback only), its state, live connections and bytes. */
export function ForwardsPanel({
  forwards,
  connectionFailures,
  onRemove,
  failure,
}: {
  forwards: ForwardView[];
  connectionFailures: Record<string, { failure: ApiFailure; more: number }>;
  onRemove: (id: string) => void;
  /** The last listing or stopping of forwards that failed. */
  failure?: { title: string; failure: ApiFailure } | undefined;
}) {
  return (
    <section aria-labelledby="forwards-title" className="forwards">
      <h2 id="forwards-title">Forwards</h2>
      <p className="muted">
        Forwards listen on this computer only (127.0.0.1). Start one from a VM on the VMs tab. They survive a dropped
        session and resume after you log in again.
      </p>
      {failure && <FailureMessage failure={failure.failure} title={failure.title} />}
      {/* Not "none yet" when they could not be listed: that is not known. */}
      {forwards.length === 0 && failure ? null : forwards.length === 0 ? (
        <p className="empty" data-testid="forwards-empty">
          No forwards yet.
        </p>
      ) : (
        <ul className="forward-list" aria-label="Forwards">
          {forwards.map((f) => (
            <li key={f.forwardId} className={`forward ${f.state}`} data-forward={`${f.vm}:${f.remotePort}`}>
              <div className="forward-head">
                <h3>
                  {f.vm}:{f.remotePort}
                  {f.name && ` · ${f.name}`}
                </h3>
                <span className="forward-state" data-testid="forward-state">
                  <span className={f.state === 'listening' ? 'dot online' : 'dot offline'} aria-hidden="true" />
                  {STATE_TEXT[f.state]}
                </span>
              </div>
              <p>
                <code>{f.url ?? f.localAddress}</code>{' '}
                <CopyButton text={f.url ?? f.localAddress} label="Copy address" />{' '}
                {f.url && (
                  <a href={f.url} target="_blank" rel="noopener noreferrer" className="button-link">
                    Open in browser
                    <span className="visually-hidden">
                      {' '}
                      ({f.vm}:{f.remotePort})
                    </span>
                  </a>
                )}
              </p>
              <p className="muted" data-testid="forward-traffic">
                {f.connections} {f.connections === 1 ? 'connection' : 'connections'} · {bytes(f.bytesIn)} in ·{' '}
                {bytes(f.bytesOut)} out · session <code>{f.sessionId}</code>
              </p>
              {f.failure && (
                <FailureMessage
                  failure={f.failure}
                  title={f.state === 'reconnecting' ? 'The session dropped; reconnecting' : 'Stopped'}
                />
              )}
              {connectionFailures[f.forwardId] && (
                <FailureMessage
                  failure={connectionFailures[f.forwardId]!.failure}
                  title={`A connection could not be carried${
                    connectionFailures[f.forwardId]!.more ? ` (and ${connectionFailures[f.forwardId]!.more} more)` : ''
                  }`}
                />
              )}
              <button type="button" className="secondary" onClick={() => onRemove(f.forwardId)}>
                Stop forward
                <span className="visually-hidden">
                  {' '}
                  {f.vm}:{f.remotePort}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
