import { useEffect, useState } from 'react';
import type { LoginState } from '../api/contract/index.js';

/**
 * A placeholder until the app's screens exist: shows that the renderer runs under the CSP and
 * reaches the Connect API (the login state, live).
 */
export function App() {
  const [login, setLogin] = useState<LoginState | undefined>();
  const [problem, setProblem] = useState<string | undefined>();

  useEffect(() => {
    const off = window.airlock.onEvent((e) => {
      if (e.type === 'login.changed') setLogin(e.login);
    });
    void window.airlock.appState({}).then((r) => (r.ok ? setLogin(r.value.login) : setProblem(r.error.message)));
    return off;
  }, []);

  return (
    <main>
      <h1>Airlock Connect</h1>
      {problem ? (
        <p role="alert">{problem}</p>
      ) : (
        <p role="status" data-testid="login-state">
          {login ? describe(login) : 'connecting…'}
        </p>
      )}
    </main>
  );
}

function describe(login: LoginState): string {
  switch (login.state) {
    case 'not_enrolled':
      return 'This device is not enrolled yet.';
    case 'logged_out':
      return `Enrolled as ${login.user} on ${login.relayUrl}; not logged in.`;
    case 'logged_in':
      return `Logged in as ${login.user} until ${login.expiresAt}.`;
    case 'expired':
      return `The login of ${login.user} expired.`;
  }
}
