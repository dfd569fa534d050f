import { forwardRef, useState, type KeyboardEvent } from 'react';

interface Props {
  id: string;
  value: string;
  onChange: (v: string) => void;
  autoComplete: 'current-password' | 'new-password';
  describedBy?: string;
  invalid?: boolean;
  autoFocus?: boolean;
}

/** A password field with a show/hide toggle and a caps-lock warning. */
export const PasswordInput = forwardRef<HTMLInputElement, Props>(function PasswordInput(
  { id, value, onChange, autoComplete, describedBy, invalid, autoFocus },
  ref,
) {
  const [shown, setShown] = useState(false);
  const [capsLock, setCapsLock] = useState(false);
  const watchCaps = (e: KeyboardEvent<HTMLInputElement>) => setCapsLock(e.getModifierState('CapsLock'));
  const capsId = `${id}-caps`;
  return (
    <>
      <span className="password-row">
        <input
          ref={ref}
          id={id}
          type={shown ? 'text' : 'password'}
          value={value}
          autoComplete={autoComplete}
          autoFocus={autoFocus}
          spellCheck={false}
          aria-invalid={invalid || undefined}
          aria-describedby={[describedBy, capsLock ? capsId : undefined].filter(Boolean).join(' ') || undefined}
          onChange={(e) => onChange(e.target.value)}
          onKeyDown={watchCaps}
          onKeyUp={watchCaps}
          onBlur={() => setCapsLock(false)}
        />
        <button
          type="button"
          className="secondary"
          aria-pressed={shown}
          aria-controls={id}
          onClick={() => setShown(!shown)}
        >
          {shown ? 'Hide' : 'Show'}
        </button>
      </span>
      {capsLock && (
        <span id={capsId} className="warning" role="status">
          Caps Lock is on.
        </span>
      )}
    </>
  );
});
