import { useEffect, useState } from 'react';
import type { ApiFailure, SettingsView as Settings } from '../../api/contract/index.js';
import { CopyButton } from '../common/copy-button.js';
import { Facts } from '../common/facts.js';
import { FailureMessage } from '../common/failure-message.js';
import { SHORTCUTS } from '../workspace/shortcuts.js';

// The contract's list, written out: importing it would bring zod into the renderer's bundle.
const LOG_LEVELS: Settings['logLevel'][] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Settings and About: what helpdesk asks for first, copyable in one go. */
export function SettingsView() {
  const [settings, setSettings] = useState<Settings | undefined>();
  const [failure, setFailure] = useState<ApiFailure | undefined>();
  /** A change that failed, said next to the controls until the next one. */
  const [changeFailure, setChangeFailure] = useState<{ title: string; failure: ApiFailure } | undefined>();
  const load = async () => {
    const r = await window.airlock.settingsGet({});
    setFailure(r.ok ? undefined : r.error);
    if (r.ok) setSettings(r.value);
  };
  const change = (title: string, request: Promise<{ ok: true } | { ok: false; error: ApiFailure }>) =>
    void request.then((r) => {
      setChangeFailure(r.ok ? undefined : { title, failure: r.error });
      return load();
    });
  useEffect(() => void load(), []);
  if (failure)
    return (
      <div className="stack">
        <FailureMessage failure={failure} title="Couldn't read the settings" />
        <button type="button" onClick={() => void load()}>
          Try again
        </button>
      </div>
    );
  if (!settings) return <p role="status">Loading…</p>;
  const rows: [string, string][] = [
    ['Relay', settings.relay?.url ?? 'not enrolled'],
    ['Relay pin', settings.relay?.pin ?? '—'],
    ['User', settings.user ?? '—'],
    ['Device id', settings.deviceId ?? '—'],
    ['Connect version', settings.versions.connect],
    ['Node', settings.versions.node],
    ...(settings.versions.electron ? ([['Electron', settings.versions.electron]] as [string, string][]) : []),
    ...(settings.versions.chrome ? ([['Chromium', settings.versions.chrome]] as [string, string][]) : []),
    ['Platform', settings.versions.platform],
    ['Connect folder', settings.home],
    ['Log folder', settings.logFolder ?? 'standard error of the process that runs Connect'],
    [
      'Remembered password',
      `${settings.keychain.remembered ? 'remembered' : 'not remembered'} · ${settings.keychain.backend}${
        settings.keychain.available ? '' : ` (not available: ${settings.keychain.reason ?? 'unknown reason'})`
      }`,
    ],
  ];
  const summary = rows.map(([k, v]) => `${k}: ${v}`).join('\n');
  return (
    <section aria-labelledby="settings-title" className="settings">
      <h2 id="settings-title">Settings and about</h2>
      <Facts rows={rows} />
      <p>
        <CopyButton text={summary} label="Copy all" shown="Copy all" /> (for helpdesk; contains no secrets)
      </p>
      <label htmlFor="log-level">Log level</label>{' '}
      <select
        id="log-level"
        value={settings.logLevel}
        onChange={(e) => {
          const level = e.target.value as Settings['logLevel'];
          change("Couldn't change the log level", window.airlock.settingsSetLogLevel({ level }));
        }}
      >
        {LOG_LEVELS.map((l) => (
          <option key={l}>{l}</option>
        ))}
      </select>{' '}
      {settings.keychain.remembered && (
        <button
          type="button"
          className="secondary"
          onClick={() => change("Couldn't forget the password", window.airlock.keychainForget({}))}
        >
          Forget the remembered password
        </button>
      )}
      {changeFailure && <FailureMessage failure={changeFailure.failure} title={changeFailure.title} />}
      <h3>Keyboard shortcuts</h3>
      <table className="shortcuts">
        <thead>
          <tr>
            <th scope="col">Keys</th>
            <th scope="col">What</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.keys}>
              <td>
                <kbd>{s.keys}</kbd>
              </td>
              <td>{s.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
