import { useEffect, useMemo, useState } from 'react';
import type { ApiFailure, LoginState } from '../api/contract/index.js';
import { FailureMessage } from './common/failure-message.js';
import { useApiEvent } from './common/use-api-event.js';
import { EnrollWizard } from './enroll/enroll-wizard.js';
import { LoginScreen } from './login/login-screen.js';
import { ReloginDialog } from './login/relogin-dialog.js';
import { TerminalRouter } from './terminal/terminal-router.js';
import { TopBar } from './workspace/top-bar.js';
import { Workspace } from './workspace/workspace.js';

const RELOGIN_REASON = {
  expired: 'Your login has expired.',
  refused: 'The relay no longer accepts your login.',
  absent: 'You are not logged in.',
} as const;

/**
 * The app: enrollment on first run, then login, then the workspace. When the login runs out the
 * workspace stays (tabs, scrollback, forwards) and a re-login opens over it.
 */
export function App() {
  const [login, setLogin] = useState<LoginState | undefined>();
  const [problem, setProblem] = useState<ApiFailure | undefined>();
  /** The re-login dialog: asked for by the service (what waits is retried after) or by the person. */
  const [relogin, setRelogin] = useState<{ reason?: string; waiting: boolean } | undefined>();
  /** Set on first run: the wizard stays until its last step, though the device is enrolled before it. */
  const [enrolling, setEnrolling] = useState(false);
  /** A logout that failed: the person must not believe they logged out. */
  const [logoutFailure, setLogoutFailure] = useState<ApiFailure | undefined>();
  const router = useMemo(() => new TerminalRouter((l) => window.airlock.onEvent(l)), []);

  const refresh = async () => {
    const r = await window.airlock.appState({});
    if (r.ok) {
      if (r.value.login.state === 'not_enrolled') setEnrolling(true);
      setLogin(r.value.login);
      setProblem(undefined);
    } else setProblem(r.error);
  };
  useEffect(() => void refresh(), []);
  useApiEvent('login.changed', (e) => {
    setLogin(e.login);
    // Logged in from another window: this one's form has nothing left to answer.
    if (e.login.state === 'logged_in') setRelogin(undefined);
  });
  useApiEvent('login.required', (e) => {
    setRelogin({ reason: RELOGIN_REASON[e.reason], waiting: true });
    // The chip then says the login expired (the service found out before its timer did).
    void refresh();
  });

  if (problem)
    return (
      <main className="card">
        <h1>Airlock Connect</h1>
        <FailureMessage failure={problem} title="Couldn't reach Connect" />
        <button type="button" onClick={() => void refresh()}>
          Try again
        </button>
      </main>
    );
  if (!login)
    return (
      <main className="card">
        <p role="status">Starting…</p>
      </main>
    );
  if (login.state === 'not_enrolled' || enrolling)
    return (
      <EnrollWizard
        onEnrolled={() => {
          setEnrolling(false);
          void refresh();
        }}
      />
    );
  const inWorkspace = login.state === 'logged_in' || login.state === 'expired';
  if (!inWorkspace && !relogin)
    return <LoginScreen user={login.user} relayUrl={login.relayUrl} onLoggedIn={() => void refresh()} />;
  return (
    <div className="app">
      <TopBar
        login={login}
        onLogin={() => setRelogin({ waiting: false })}
        onLogout={() =>
          void window.airlock.loginLogout({}).then((r) => {
            setLogoutFailure(r.ok ? undefined : r.error);
            return refresh();
          })
        }
      />
      {logoutFailure && <FailureMessage failure={logoutFailure} title="Couldn't log out" />}
      {inWorkspace && <Workspace router={router} onLogin={() => setRelogin({ waiting: false })} />}
      {relogin && (
        <ReloginDialog
          user={login.user}
          reason={relogin.reason}
          onDone={() => {
            setRelogin(undefined);
            void refresh();
          }}
          onCancel={() => {
            if (relogin.waiting) void window.airlock.loginCancel({});
            setRelogin(undefined);
          }}
        />
      )}
    </div>
  );
}
