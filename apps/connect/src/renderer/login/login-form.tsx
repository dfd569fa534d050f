import { useRef, useState, type FormEvent } from 'react';
import type { ApiFailure, LoginDone } from '../../api/contract/index.js';
import { CodeInput } from '../common/code-input.js';
import { FailureMessage } from '../common/failure-message.js';
import { PasswordInput } from '../common/password-input.js';

/** Failures about the password (shown under it) rather than the code. */
const PASSWORD_FAILURES = new Set(['wrong_password', 'password_needed']);

/**
 * Password and a 6-digit authenticator code; submits itself at the 6th digit. A wrong code keeps
 * the password and clears only the code; errors show under the field they are about.
 */
export function LoginForm({
  onLoggedIn,
  autoFocus = true,
}: {
  onLoggedIn: (done: LoginDone) => void;
  autoFocus?: boolean;
}) {
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ApiFailure | undefined>();
  const passwordRef = useRef<HTMLInputElement>(null);
  const codeRef = useRef<HTMLInputElement>(null);

  const submit = async (totp: string) => {
    if (busy) return;
    if (!/^\d{6}$/.test(totp)) {
      setFailure({ code: 'bad_code', message: 'the code has 6 digits', action: 'none' });
      codeRef.current?.focus();
      return;
    }
    setBusy(true);
    setFailure(undefined);
    const r = await window.airlock.loginSubmit({
      totp,
      ...(password ? { password } : {}),
      ...(remember ? { remember } : {}),
    });
    setBusy(false);
    if (r.ok) return onLoggedIn(r.value);
    setFailure(r.error);
    if (PASSWORD_FAILURES.has(r.error.code)) {
      passwordRef.current?.focus();
      passwordRef.current?.select();
    } else {
      setCode('');
      // After the state update lands, so the field is enabled again.
      setTimeout(() => codeRef.current?.focus());
    }
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit(code);
  };

  const aboutPassword = failure && PASSWORD_FAILURES.has(failure.code);
  return (
    <form className="stack" onSubmit={onSubmit} aria-busy={busy} noValidate>
      <label htmlFor="login-password">Password</label>
      <PasswordInput
        ref={passwordRef}
        id="login-password"
        value={password}
        onChange={setPassword}
        autoComplete="current-password"
        autoFocus={autoFocus}
        invalid={aboutPassword}
        describedBy={aboutPassword ? 'login-failure' : 'login-password-hint'}
      />
      {aboutPassword ? (
        <FailureMessage failure={failure} id="login-failure" />
      ) : (
        <span id="login-password-hint" className="hint">
          Leave it empty if this device remembers it.
        </span>
      )}
      <label htmlFor="login-code">Code from your authenticator app</label>
      <CodeInput
        ref={codeRef}
        id="login-code"
        value={code}
        onChange={setCode}
        onComplete={(c) => void submit(c)}
        disabled={busy}
        invalid={failure !== undefined && !aboutPassword}
        describedBy={failure && !aboutPassword ? 'login-failure' : undefined}
      />
      {failure && !aboutPassword && <FailureMessage failure={failure} id="login-failure" />}
      <label className="check">
        <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
        Remember my password on this device
      </label>
      <button type="submit" disabled={busy}>
        {busy ? 'Logging in…' : 'Log in'}
      </button>
    </form>
  );
}
