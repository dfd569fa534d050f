import { LoginForm } from './login-form.js';

/** The first screen of an enrolled device that is not logged in. */
export function LoginScreen({
  user,
  relayUrl,
  onLoggedIn,
}: {
  user: string;
  relayUrl: string;
  onLoggedIn: () => void;
}) {
  return (
    <main className="card" aria-labelledby="login-title">
      <h1 id="login-title">Log in to Airlock</h1>
      <p className="muted">
        {user} on {relayUrl}
      </p>
      <LoginForm onLoggedIn={onLoggedIn} />
    </main>
  );
}
