import { err, ok, type Result } from '@airlock/shared';
import {
  enrollmentOf,
  type ConfigStore,
  type Enrollment,
  type EnrollmentError,
  type SavedSession,
} from '../identity/config-store.js';
import { silentLogger, type Logger } from '../logger.js';
import { credentialsOf, type RelayCredentials } from './login.js';

/** Relay answers that mean "log in again" rather than "you may not". */
const LOGIN_AGAIN = new Set(['token_expired', 'unauthenticated', 'certificate_mismatch', 'not_logged_in']);

/** Why a new login is needed, with the line a front end shows before asking for one. */
export interface LoginNeeded {
  reason: 'absent' | 'expired' | 'refused';
  message: string;
  enrollment: Enrollment;
}

/** A new login was needed and nobody could give one (no terminal, the person declined). */
export type LoginRequiredError = { code: 'login_required'; reason: LoginNeeded['reason']; message: string };
export type ConfigUnreadableError = { code: 'config_unreadable'; message: string };
export type LoginError = EnrollmentError | ConfigUnreadableError | LoginRequiredError;

/**
 * How a front end gets a new login when core needs one: the CLI asks on the terminal, the app
 * shows its login form over whatever is open. Resolves with the saved session, or with
 * `login_required` when nobody can be asked or the person declines. A front end's own failure
 * (a cancelled prompt…) may reject; that reaches whoever needed the login.
 */
export type Relogin = (needed: LoginNeeded) => Promise<Result<SavedSession, LoginRequiredError>>;

export type LoginState =
  | { state: 'not_enrolled' }
  | { state: 'logged_out'; user: string; relayUrl: string }
  | { state: 'logged_in' | 'expired'; user: string; relayUrl: string; expiresAt: string };

export interface LoginServiceOptions {
  store: ConfigStore;
  relogin?: Relogin;
  log?: Logger;
  now?: () => number;
}

/**
 * The login's life: whether this device is enrolled and logged in and until when, the saved
 * credentials for relay calls and sessions, and "log in again once and retry" when the relay no
 * longer accepts them. Several calls that need a new login at once share one: the person is asked
 * once, and every caller continues with the result.
 */
export class LoginService {
  private pending: Promise<Result<SavedSession, LoginRequiredError>> | undefined;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly listeners = new Set<(s: LoginState) => void>();
  /**
   * The saved access token the relay last refused. It stays saved (its expiry still says when the
   * login would have ended) but counts as expired: it is not offered again, and the state says so
   * rather than showing time left on a login the relay no longer takes.
   */
  private refusedToken: string | undefined;

  constructor(private readonly options: LoginServiceOptions) {
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  get store(): ConfigStore {
    return this.options.store;
  }

  /** This device's enrollment, or why there is none. */
  async enrollment(): Promise<Result<Enrollment, EnrollmentError | ConfigUnreadableError>> {
    let config;
    try {
      config = await this.store.readConfig();
    } catch (e) {
      return err({ code: 'config_unreadable', message: (e as Error).message });
    }
    return enrollmentOf(config, this.store.paths.home);
  }

  async state(): Promise<LoginState> {
    const enrollment = await this.enrollment();
    if (!enrollment.ok) return { state: 'not_enrolled' };
    const { user, relayUrl } = enrollment.value;
    const saved = await this.store.accessToken(enrollment.value, this.now());
    if (saved.ok)
      return {
        state: saved.value.accessToken === this.refusedToken ? 'expired' : 'logged_in',
        user,
        relayUrl,
        expiresAt: saved.value.expiresAt,
      };
    const session = await this.store.readSession();
    if (saved.error.code === 'token_expired' && session)
      return { state: 'expired', user, relayUrl, expiresAt: session.expiresAt };
    return { state: 'logged_out', user, relayUrl };
  }

  /** Called with the new state after every login and logout made through this service. */
  onChange(listener: (s: LoginState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells listeners that a login was saved (by a front end, through LoginAttempt). */
  async loggedIn(): Promise<void> {
    const s = await this.state();
    for (const l of [...this.listeners]) l(s);
  }

  async logout(): Promise<boolean> {
    const removed = await this.store.clearSession();
    await this.loggedIn();
    return removed;
  }

  /** The saved login's credentials, or — when missing or expired — a new login from the front end. */
  async credentials(): Promise<Result<RelayCredentials, LoginError>> {
    const enrollment = await this.enrollment();
    if (!enrollment.ok) return enrollment;
    const saved = await this.store.accessToken(enrollment.value, this.now());
    if (saved.ok && saved.value.accessToken === this.refusedToken) return this.relogin(enrollment.value, 'refused');
    if (saved.ok) return ok(credentialsOf(enrollment.value, saved.value));
    return this.relogin(enrollment.value, saved.error.code === 'token_expired' ? 'expired' : 'absent');
  }

  /**
   * Runs `call` with the login's credentials; when the relay says they are no good any more
   * (expired early, clock skew, another machine's certificate), logs in again once and retries.
   * If nobody can log in again, the relay's refusal is the answer.
   */
  async withLogin<T, E extends { code: string }>(
    call: (credentials: RelayCredentials) => Promise<Result<T, E>>,
  ): Promise<Result<T, E | LoginError>> {
    const credentials = await this.credentials();
    if (!credentials.ok) return credentials;
    const first = await call(credentials.value);
    if (first.ok || !LOGIN_AGAIN.has(first.error.code)) return first;
    this.log.debug({ code: first.error.code }, 'relay refused the saved login; logging in again');
    await this.refused(credentials.value.token);
    const enrollment = await this.enrollment();
    if (!enrollment.ok) return enrollment;
    const retried = await this.relogin(enrollment.value, 'refused');
    if (!retried.ok) return retried.error.code === 'login_required' ? first : retried;
    return call(retried.value);
  }

  /**
   * Runs `call` with the saved login's credentials only, and never asks for a new login: for work
   * started before any front end may be there to answer (the desktop app's warm-up). Without a
   * valid saved login the answer is `login_required`; the relay's refusal is returned as it is.
   */
  async withSavedLogin<T, E extends { code: string }>(
    call: (credentials: RelayCredentials) => Promise<Result<T, E>>,
  ): Promise<Result<T, E | LoginError>> {
    const enrollment = await this.enrollment();
    if (!enrollment.ok) return enrollment;
    const saved = await this.store.accessToken(enrollment.value, this.now());
    if (!saved.ok)
      return err(loginRequired(enrollment.value, saved.error.code === 'token_expired' ? 'expired' : 'absent'));
    if (saved.value.accessToken === this.refusedToken) return err(loginRequired(enrollment.value, 'refused'));
    const result = await call(credentialsOf(enrollment.value, saved.value));
    if (!result.ok && LOGIN_AGAIN.has(result.error.code)) await this.refused(saved.value.accessToken);
    return result;
  }

  /**
   * The relay refused `token`: from now on it counts as expired, and listeners hear so — if it is
   * still the saved one (a call that began with an older token may end after a newer was saved).
   */
  private async refused(token: string): Promise<void> {
    if (this.refusedToken === token) return;
    const saved = await this.store.readSession().catch(() => undefined);
    // Checked again after the read: calls refused at once each get here, and one is heard.
    if (saved?.accessToken !== token || this.refusedToken === token) return;
    this.refusedToken = token;
    await this.loggedIn();
  }

  private async relogin(
    enrollment: Enrollment,
    reason: LoginNeeded['reason'],
  ): Promise<Result<RelayCredentials, LoginRequiredError>> {
    const relogin = this.options.relogin;
    if (!relogin) return err(loginRequired(enrollment, reason));
    const { message } = loginRequired(enrollment, reason);
    // One new login for everyone who needs one now.
    this.pending ??= relogin({ reason, message, enrollment })
      .then(async (session) => {
        if (session.ok) await this.loggedIn();
        return session;
      })
      .finally(() => (this.pending = undefined));
    const session = await this.pending;
    if (!session.ok) return session;
    return ok(credentialsOf(enrollment, session.value));
  }
}

function loginRequired(enrollment: Enrollment, reason: LoginNeeded['reason']): LoginRequiredError {
  const message =
    reason === 'absent'
      ? `not logged in to ${enrollment.relayUrl}`
      : reason === 'expired'
        ? 'your login expired'
        : 'the relay no longer accepts your login';
  return { code: 'login_required', reason, message };
}
