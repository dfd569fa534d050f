import type { VmListResponse } from '@airlock/shared';
import { ConfigStore, type Enrollment } from '../identity/config-store.js';
import { credentialsOf, type RelayCredentials } from '../login/login.js';
import type { AirlockPaths } from '../paths.js';
import { RelayClient } from '../relay/relay-client.js';
import type { RelayFetch } from '../relay/relay-http.js';
import type { RelayError } from '../relay/relay-error.js';
import { fail, pass, type CheckRecorder, type CheckResult } from './check-recorder.js';
import type { DoctorReport } from './doctor-report.js';

export interface LoginCheckOptions {
  paths: AirlockPaths;
  enrollment: Enrollment;
  now: () => number;
  httpMs: number;
  fetch?: RelayFetch;
}

export interface LoginFound {
  credentials: RelayCredentials;
  vms: VmListResponse['vms'];
}

/**
 * The saved login: there, not expired by this computer's clock, and still accepted by the relay
 * (a revoked device or a disabled user is only known there). The doctor never logs in itself:
 * it says what it found, and `airlock login` is the next step.
 */
export async function loginCheck(
  rec: CheckRecorder,
  options: LoginCheckOptions,
): Promise<{ login: NonNullable<DoctorReport['login']>; found?: LoginFound }> {
  const { enrollment } = options;
  const login: NonNullable<DoctorReport['login']> = { user: enrollment.user, state: 'absent' };
  let found: LoginFound | undefined;
  const checked = await rec.run('login', async () => {
    const store = new ConfigStore(options.paths);
    const now = options.now();
    const saved = await store.accessToken(enrollment, now);
    if (!saved.ok) {
      if (saved.error.code === 'not_logged_in')
        return fail('not_logged_in', `not logged in to ${enrollment.relayUrl}`, 'log in: airlock login');
      const session = await store.readSession();
      login.state = 'expired';
      if (session) login.expiresAt = session.expiresAt;
      return fail(
        'login_expired',
        `your login expired at ${login.expiresAt ?? '(unknown)'}${session ? ` (${ago(now - Date.parse(session.expiresAt))})` : ''}`,
        'log in again: airlock login',
      );
    }
    const credentials = credentialsOf(enrollment, saved.value);
    login.expiresAt = saved.value.expiresAt;
    login.secondsLeft = Math.floor((Date.parse(saved.value.expiresAt) - now) / 1000);
    const client = new RelayClient({
      endpoint: credentials.endpoint,
      token: credentials.token,
      timeoutMs: options.httpMs,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    const listed = await client.listVms().finally(() => client.close());
    if (!listed.ok) return refused(listed.error, login);
    login.state = 'valid';
    found = { credentials, vms: listed.value.vms };
    return pass(
      `logged in as ${enrollment.user} until ${saved.value.expiresAt} (${minutes(login.secondsLeft)} left); the relay accepts the login`,
    );
  });
  if (checked.status === 'fail') rec.stop('login', 'the checks of VMs need a login the relay accepts');
  return { login, ...(found ? { found } : {}) };
}

/** The relay's refusal of a login this computer thinks is good. */
function refused(error: RelayError, login: NonNullable<DoctorReport['login']>): CheckResult {
  switch (error.code) {
    case 'revoked':
    case 'user_disabled':
      login.state = 'revoked';
      return fail(
        'login_revoked',
        `the relay refused your login: ${error.message}`,
        'your device or account was revoked or disabled: ask your admin (a new enrollment code may be needed)',
      );
    case 'token_expired':
      login.state = 'expired';
      return fail(
        'login_expired',
        `the relay says your login expired, though by this computer’s clock it runs until ${login.expiresAt}`,
        'log in again (airlock login), and check the clock line above',
      );
    case 'unauthenticated':
    case 'certificate_mismatch':
    case 'certificate_required':
      login.state = 'refused';
      return fail(
        'login_refused',
        `the relay no longer accepts this login: ${error.message}`,
        'log in again: airlock login',
      );
    default:
      return fail(
        'relay_error',
        `the relay could not check your login: ${error.message}`,
        'try again in a minute; if it stays, tell your admin with this message',
      );
  }
}

function minutes(seconds: number): string {
  return seconds >= 120 ? `${Math.floor(seconds / 60)} min` : `${Math.max(0, seconds)} s`;
}

function ago(ms: number): string {
  return `${minutes(Math.floor(ms / 1000))} ago`;
}
