import { useState } from 'react';
import type { ApiFailure, EnrollDone, EnrollPasswordSet, EnrollStarted } from '../../api/contract/index.js';
import { CodeStep, PasswordStep, StartStep } from './enroll-steps.js';

type Step =
  /** `ended`: why the enrollment before this one ended, at a later step. */
  | { step: 'start'; ended?: ApiFailure }
  | { step: 'password'; started: EnrollStarted }
  | { step: 'authenticator'; started: EnrollStarted; set: EnrollPasswordSet }
  | { step: 'done'; done: EnrollDone };

const TITLES = { start: 'One-time code', password: 'Password', authenticator: 'Authenticator', done: 'Done' };
const NUMBER = { start: 1, password: 2, authenticator: 3, done: 4 };

/**
 * First run: the one-time code (the relay and its pin shown), a password typed twice, the
 * authenticator (QR code or the secret) confirmed with a code, then done. Cancel undoes it all.
 */
export function EnrollWizard({ onEnrolled }: { onEnrolled: () => void }) {
  const [state, setState] = useState<Step>({ step: 'start' });
  const cancel = async () => {
    if (state.step === 'password' || state.step === 'authenticator')
      await window.airlock.enrollCancel({ enrollmentId: state.started.enrollmentId });
    setState({ step: 'start' });
  };
  return (
    <main className="card" aria-labelledby="enroll-title">
      <p className="muted">Set up this device · Step {NUMBER[state.step]} of 4</p>
      <h1 id="enroll-title">{TITLES[state.step]}</h1>
      {state.step === 'start' && (
        <StartStep ended={state.ended} onStarted={(started) => setState({ step: 'password', started })} />
      )}
      {state.step === 'password' && (
        <PasswordStep
          started={state.started}
          onSet={(set) => setState({ step: 'authenticator', started: state.started, set })}
          onCancel={() => void cancel()}
          onEnded={(ended) => setState({ step: 'start', ended })}
        />
      )}
      {state.step === 'authenticator' && (
        <CodeStep
          started={state.started}
          set={state.set}
          onDone={(done) => setState({ step: 'done', done })}
          onCancel={() => void cancel()}
          onEnded={(ended) => setState({ step: 'start', ended })}
        />
      )}
      {state.step === 'done' && (
        <div className="stack">
          <p data-testid="enrolled">
            This device is enrolled as <strong>{state.done.deviceName}</strong> for {state.done.user} on{' '}
            {state.done.relayUrl}.
          </p>
          {state.done.remembered && <p>Your password is remembered on this device.</p>}
          <p className="muted">
            Device id <code>{state.done.deviceId}</code>
          </p>
          <button type="button" autoFocus onClick={onEnrolled}>
            Continue to log in
          </button>
        </div>
      )}
    </main>
  );
}
