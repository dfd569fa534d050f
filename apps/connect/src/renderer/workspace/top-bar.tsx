import { useEffect, useState } from 'react';
import type { LoginState } from '../../api/contract/index.js';
import { useApiEvent } from '../common/use-api-event.js';
import { timeLeft } from '../common/time.js';

/** The identity chip: who is logged in and for how long; when expired, a way to log in again. */
export function TopBar({ login, onLogin, onLogout }: { login: LoginState; onLogin: () => void; onLogout: () => void }) {
  const [now, setNow] = useState(Date.now());
  /** Set by the service five minutes before the end: offer to renew, so nothing is cut off. */
  const [expiring, setExpiring] = useState<string | undefined>();
  /** Logging out closes every terminal and forward: asked once more, saying so. */
  const [confirmLogout, setConfirmLogout] = useState(false);
  useApiEvent('login.expiring', (e) => setExpiring(e.expiresAt));
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(t);
  }, []);
  const loggedIn = login.state === 'logged_in' && Date.parse(login.expiresAt) > now;
  const renew = loggedIn && expiring === login.expiresAt;
  return (
    <header className="top-bar">
      <span className="brand">Airlock Connect</span>
      {'user' in login && (
        <span className="identity" data-testid="identity">
          <span className={loggedIn ? 'dot online' : 'dot offline'} aria-hidden="true" />
          <span>{login.user}</span>
          {login.state !== 'logged_out' && (
            <span className="muted" title={`Login ends ${new Date(login.expiresAt).toLocaleString()}`}>
              {loggedIn ? ` · ${timeLeft(login.expiresAt, now)} left` : ' · login expired'}
            </span>
          )}
          {renew && (
            <button type="button" onClick={onLogin}>
              Renew now
            </button>
          )}
          {loggedIn && confirmLogout ? (
            <span role="group" aria-label="Log out?" data-testid="logout-confirm">
              <span>Log out? Your terminals and forwards will close.</span>{' '}
              <button
                type="button"
                onClick={() => {
                  setConfirmLogout(false);
                  onLogout();
                }}
              >
                Log out and close them
              </button>{' '}
              <button type="button" className="secondary" autoFocus onClick={() => setConfirmLogout(false)}>
                Cancel
              </button>
            </span>
          ) : loggedIn ? (
            <button type="button" className="secondary" onClick={() => setConfirmLogout(true)}>
              Log out
            </button>
          ) : (
            <button type="button" onClick={onLogin}>
              Log in
            </button>
          )}
        </span>
      )}
    </header>
  );
}
