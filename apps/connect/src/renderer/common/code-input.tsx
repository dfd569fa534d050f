import { forwardRef } from 'react';

interface Props {
  id: string;
  value: string;
  onChange: (digits: string) => void;
  /** Called once the sixth digit is in (auto-submit). */
  onComplete: (code: string) => void;
  describedBy?: string;
  invalid?: boolean;
  disabled?: boolean;
  autoFocus?: boolean;
}

/** A 6-digit authenticator code: digits only (spaces from a paste dropped), submitted at the 6th. */
export const CodeInput = forwardRef<HTMLInputElement, Props>(function CodeInput(
  { id, value, onChange, onComplete, describedBy, invalid, disabled, autoFocus },
  ref,
) {
  return (
    <input
      ref={ref}
      id={id}
      className="code-input"
      inputMode="numeric"
      autoComplete="one-time-code"
      pattern="[0-9]{6}"
      maxLength={7}
      value={value}
      // Read-only rather than disabled while checking: the field keeps the focus for the next code.
      readOnly={disabled}
      aria-disabled={disabled || undefined}
      autoFocus={autoFocus}
      aria-invalid={invalid || undefined}
      aria-describedby={describedBy}
      onChange={(e) => {
        const digits = e.target.value.replace(/\D/g, '').slice(0, 6);
        onChange(digits);
        if (digits.length === 6 && digits !== value) onComplete(digits);
      }}
    />
  );
});
