import { useEffect, useRef } from 'react';
import { LoginForm } from './login-form.js';

/**
 * The inline re-login: a modal over whatever is open (tabs, scrollback and forwards stay). What
 * waited for it is retried by the service when the login succeeds; Esc or Cancel lets it fail.
 */
export function ReloginDialog({
  user,
  reason,
  onDone,
  onCancel,
}: {
  user: string;
  reason: string | undefined;
  onDone: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className="modal"
      aria-labelledby="relogin-title"
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
    >
      <h2 id="relogin-title">Log in again as {user}</h2>
      {reason && (
        <p className="reason" data-testid="relogin-reason">
          {reason} Log in to continue: your tabs and forwards stay open.
        </p>
      )}
      <LoginForm onLoggedIn={onDone} />
      <button type="button" className="secondary" onClick={onCancel}>
        Cancel
      </button>
    </dialog>
  );
}
