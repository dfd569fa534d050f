import { useRef, useState, type FormEvent } from 'react';
import type { ApiFailure, EnrollDone, EnrollPasswordSet, EnrollStarted } from '../../api/contract/index.js';
import { CodeInput } from '../common/code-input.js';
import { CopyButton } from '../common/copy-button.js';
import { Facts } from '../common/facts.js';
import { FailureMessage } from '../common/failure-message.js';
import { PasswordInput } from '../common/password-input.js';
import { QrCode } from './qr-code.js';

export function StartStep({
  onStarted,
  ended,
}: {
  onStarted: (s: EnrollStarted) => void;
  /** Why the previous enrollment ended, when a later step's failure ended it. */
  ended?: ApiFailure | undefined;
}) {
  const [relayUrl, setRelayUrl] = useState('');
  const [code, setCode] = useState('');
  const [deviceName, setDeviceName] = useState('');
  const [failure, setFailure] = useState<ApiFailure | undefined>();
  const busy = useBusy();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    // Enter in the code field submits even while the button is disabled.
    if (busy.pending() || !relayUrl.trim() || !code.trim()) return;
    busy.set(true);
    const r = await window.airlock.enrollStart({
      relayUrl: relayUrl.trim(),
      code,
      ...(deviceName.trim() ? { deviceName: deviceName.trim() } : {}),
    });
    busy.set(false);
    if (r.ok) onStarted(r.value);
    else setFailure(r.error);
  };
  return (
    <form className="stack" onSubmit={(e) => void submit(e)} aria-busy={busy.shown} noValidate>
      {ended && !failure && <FailureMessage failure={ended} title="That enrollment ended: start again" />}
      <p>Your IT contact gave you the relay's address and a one-time code.</p>
      <label htmlFor="enroll-relay">Relay address</label>
      <input
        id="enroll-relay"
        type="url"
        autoFocus
        placeholder="https://relay.example.org"
        value={relayUrl}
        onChange={(e) => setRelayUrl(e.target.value)}
      />
      <label htmlFor="enroll-code">One-time code</label>
      <textarea
        id="enroll-code"
        rows={3}
        spellCheck={false}
        value={code}
        onChange={(e) => setCode(e.target.value)}
        aria-describedby="enroll-code-hint"
        onKeyDown={(e) => {
          // Enter submits (a pasted code's line breaks are ignored anyway).
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            e.currentTarget.form?.requestSubmit();
          }
        }}
      />
      <span id="enroll-code-hint" className="hint">
        It starts with u1. Spaces and line breaks from pasting are ignored.
      </span>
      <label htmlFor="enroll-device">Name of this device (optional)</label>
      <input id="enroll-device" value={deviceName} onChange={(e) => setDeviceName(e.target.value)} />
      {failure && <FailureMessage failure={failure} title="Couldn't enroll with this relay and code" />}
      <button type="submit" disabled={busy.shown || !relayUrl || !code}>
        {busy.shown ? 'Checking the relay…' : 'Continue'}
      </button>
    </form>
  );
}

export function PasswordStep({
  started,
  onSet,
  onCancel,
  onEnded,
}: {
  started: EnrollStarted;
  onSet: (s: EnrollPasswordSet) => void;
  onCancel: () => void;
  onEnded: (why: ApiFailure) => void;
}) {
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [remember, setRemember] = useState(false);
  const [failure, setFailure] = useState<ApiFailure | undefined>();
  const busy = useBusy();
  const min = started.passwordRules.minLength;
  const tooShort = password.length > 0 && password.length < min;
  const differs = repeat.length > 0 && repeat !== password;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy.pending() || !password || !repeat) return;
    busy.set(true);
    const r = await window.airlock.enrollSetPassword({
      enrollmentId: started.enrollmentId,
      password,
      repeat,
      ...(remember ? { remember } : {}),
    });
    busy.set(false);
    if (r.ok) onSet(r.value);
    // Only a password the rules refuse leaves the enrollment open; any other failure ended it.
    else if (r.error.code === 'password_rejected' || r.error.code === 'password_mismatch') setFailure(r.error);
    else onEnded(r.error);
  };
  return (
    <form className="stack" onSubmit={(e) => void submit(e)} aria-busy={busy.shown} noValidate>
      <Facts
        label="The relay"
        rows={[
          ['Relay', started.relayUrl, 'enroll-relay-url'],
          ['Relay pin', started.relayPin, 'enroll-relay-pin'],
          ['This device', started.deviceName],
        ]}
      />
      <p className="muted">The relay answered with the pin in your code. If IT told you a pin, check it is this one.</p>
      <p id="password-rules">
        This password encrypts this device's key. It needs at least {min} characters. It can't be recovered: if you
        forget it you must enroll again.
      </p>
      <label htmlFor="enroll-password">New password</label>
      <PasswordInput
        id="enroll-password"
        value={password}
        onChange={setPassword}
        autoComplete="new-password"
        autoFocus
        describedBy="password-rules"
        invalid={tooShort}
      />
      {tooShort && <span className="warning">{min - password.length} more characters needed.</span>}
      <label htmlFor="enroll-repeat">The same password again</label>
      <PasswordInput
        id="enroll-repeat"
        value={repeat}
        onChange={setRepeat}
        autoComplete="new-password"
        invalid={differs}
        describedBy={differs ? 'repeat-differs' : undefined}
      />
      {differs && (
        <span id="repeat-differs" className="warning">
          The two passwords differ.
        </span>
      )}
      <label className="check">
        <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
        Remember the password on this device (in the system keychain)
      </label>
      {failure && <FailureMessage failure={failure} title="Couldn't set this password" />}
      <SubmitOrCancel
        disabled={busy.shown || !password || !repeat}
        text={busy.shown ? 'Encrypting the key…' : 'Continue'}
        onCancel={onCancel}
      />
    </form>
  );
}

export function CodeStep({
  started,
  set,
  onDone,
  onCancel,
  onEnded,
}: {
  started: EnrollStarted;
  set: EnrollPasswordSet;
  onDone: (d: EnrollDone) => void;
  onCancel: () => void;
  onEnded: (why: ApiFailure) => void;
}) {
  const [code, setCode] = useState('');
  const [failure, setFailure] = useState<ApiFailure | undefined>();
  const busy = useBusy();
  const codeRef = useRef<HTMLInputElement>(null);
  const confirm = async (totp: string) => {
    if (busy.pending() || !/^\d{6}$/.test(totp)) return;
    busy.set(true);
    const r = await window.airlock.enrollConfirm({ enrollmentId: started.enrollmentId, totp });
    busy.set(false);
    if (r.ok) return onDone(r.value);
    // A code that may be tried again leaves the enrollment open; any other failure ended it.
    if (!r.error.retryable) return onEnded(r.error);
    setFailure(r.error);
    setCode('');
    setTimeout(() => codeRef.current?.focus());
  };
  const totp = set.totp;
  return (
    <form
      className="stack"
      onSubmit={(e) => {
        e.preventDefault();
        void confirm(code);
      }}
      aria-busy={busy.shown}
      noValidate
    >
      {set.rememberError && <p className="warning">The password is not remembered: {set.rememberError}</p>}
      {totp ? (
        <>
          <p>Scan this code with your authenticator app, or type the secret into it.</p>
          <div className="qr-row">
            <QrCode modules={totp.qr.modules} label={`QR code for ${totp.label}`} />
            <div className="stack">
              <span>Secret</span>
              <code className="secret" data-testid="totp-secret">
                {totp.secretGrouped}
              </code>
              <CopyButton text={totp.secret} label="Copy the secret" />
              <span className="muted">Account: {totp.label}</span>
            </div>
          </div>
        </>
      ) : (
        <p>You already have an authenticator for {set.user}: use its current code.</p>
      )}
      <label htmlFor="enroll-totp">The 6-digit code your app shows now</label>
      <CodeInput
        ref={codeRef}
        id="enroll-totp"
        value={code}
        onChange={setCode}
        onComplete={(c) => void confirm(c)}
        disabled={busy.shown}
        autoFocus
        invalid={failure !== undefined}
        describedBy={failure ? 'enroll-totp-failure' : undefined}
      />
      {failure && <FailureMessage failure={failure} id="enroll-totp-failure" />}
      {failure?.retryable && <p className="muted">If codes keep failing, check that this computer's clock is right.</p>}
      <SubmitOrCancel
        disabled={busy.shown || code.length !== 6}
        text={busy.shown ? 'Checking…' : 'Confirm'}
        onCancel={onCancel}
      />
    </form>
  );
}

/**
 * Whether a step's request is under way: `pending()` for a second submit in the same moment (the
 * state would still say idle: Enter in a field submits even while the button is disabled), and
 * `shown` for the form.
 */
function useBusy(): { shown: boolean; pending: () => boolean; set: (busy: boolean) => void } {
  const ref = useRef(false);
  const [shown, setShown] = useState(false);
  return {
    shown,
    pending: () => ref.current,
    set: (busy) => {
      ref.current = busy;
      setShown(busy);
    },
  };
}

/** A step's buttons: go on, or cancel the enrollment (which undoes it). */
function SubmitOrCancel({ disabled, text, onCancel }: { disabled: boolean; text: string; onCancel: () => void }) {
  return (
    <div className="row">
      <button type="submit" disabled={disabled}>
        {text}
      </button>
      <button type="button" className="secondary" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}
