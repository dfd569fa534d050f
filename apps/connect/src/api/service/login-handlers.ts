import { err, ok, type Result } from '@airlock/shared';
import type { SavedSession } from '../../core/identity/config-store.js';
import type { UserKey } from '../../core/identity/user-key-store.js';
import { LoginAttempt, ReusedTotpCodes, secondsToNextTotpStep } from '../../core/login/login-attempt.js';
import type { LoginNeeded, LoginRequiredError, LoginState } from '../../core/login/login-service.js';
import type { ApiFailure, ApiParams, ApiResponse, ApiResult } from '../contract/index.js';
import { done, failed, failedWith, failure, failureOf } from './failures.js';
import type { ServiceContext } from './service-context.js';

/** When the app warns that the login is about to end. */
const EXPIRY_WARNING_MS = 5 * 60_000;

/**
 * Login for the app: password (or the remembered unlock) and an authenticator code. When core needs
 * a new login while the app runs (expired, refused), everything that needs it waits and the UI is
 * asked once (`login.required`); a successful `login.submit` lets all of it carry on — terminals
 * and forwards stay — and `login.cancel` lets it fail.
 */
export class LoginHandlers {
  private readonly reused = new ReusedTotpCodes();
  private waiting: ((r: Result<SavedSession, LoginRequiredError>) => void) | undefined;
  private waitingFor: LoginNeeded | undefined;
  private timers: NodeJS.Timeout[] = [];
  /**
   * The person closed the login form without logging in, while this access token was saved (null:
   * none was). What needs a login after that (a forward reconnecting, a window's VM list) fails at
   * once with `login_required` instead of opening the form again, over and over; the app's Log in
   * buttons open it. Any login saved since — here, or by the CLI — ends it.
   */
  private declinedWith: string | null | undefined;

  constructor(private readonly ctx: ServiceContext) {
    ctx.login.onChange((login) => {
      ctx.events.emit({ type: 'login.changed', login });
      this.watchExpiry(login);
    });
  }

  /** Core's Relogin for the app: ask the UI and wait for the person. */
  relogin = async (needed: LoginNeeded): Promise<Result<SavedSession, LoginRequiredError>> => {
    if (this.declinedWith !== undefined && (await this.savedToken()) === this.declinedWith)
      return err({ code: 'login_required', reason: needed.reason, message: needed.message });
    this.declinedWith = undefined;
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.waitingFor = needed;
      this.ctx.events.emit({ type: 'login.required', reason: needed.reason, message: needed.message });
    });
  };

  /** The saved access token; null when there is none or it cannot be read. */
  private async savedToken(): Promise<string | null> {
    try {
      return (await this.ctx.store.readSession())?.accessToken ?? null;
    } catch {
      return null;
    }
  }

  async state(): Promise<ApiResponse<ApiResult<'login.state'>>> {
    return done(await this.ctx.login.state());
  }

  async submit(p: ApiParams<'login.submit'>): Promise<ApiResponse<ApiResult<'login.submit'>>> {
    const enrollment = await this.ctx.login.enrollment();
    if (!enrollment.ok) return failedWith(enrollment.error);
    if (this.reused.has(p.totp))
      return failed({
        ...failure('totp_reused', 'that authenticator code was already used; wait for the next one'),
        retryAfterSeconds: secondsToNextTotpStep(),
      });
    const unlocked = await this.unlock(enrollment.value.user, p.password, p.remember === true);
    if (!unlocked.ok) return failed(unlocked.error);
    const attempt = await LoginAttempt.start({
      enrollment: enrollment.value,
      key: unlocked.value.key,
      store: this.ctx.store,
      reused: this.reused,
      fetch: this.ctx.fetch,
    });
    const res = await attempt.submit(p.totp);
    if (!res.ok)
      return failedWith(
        res.error,
        res.error.code === 'totp_reused' ? { retryAfterSeconds: secondsToNextTotpStep() } : {},
      );
    this.declinedWith = undefined;
    await this.ctx.login.loggedIn();
    this.finishWaiting(ok(res.value));
    return done({ user: res.value.user, expiresAt: res.value.expiresAt, unlockedWith: unlocked.value.source });
  }

  async cancel(): Promise<ApiResponse<ApiResult<'login.cancel'>>> {
    const needed = this.waitingFor;
    if (!needed) return done({});
    const token = await this.savedToken();
    // Answered meanwhile (a login in another window): nothing is left to decline.
    if (this.waitingFor !== needed) return done({});
    this.declinedWith = token;
    this.finishWaiting(err({ code: 'login_required', reason: needed.reason, message: needed.message }));
    return done({});
  }

  async logout(): Promise<ApiResponse<ApiResult<'login.logout'>>> {
    await this.ctx.login.logout();
    return done({});
  }

  private finishWaiting(r: Result<SavedSession, LoginRequiredError>): void {
    const resolve = this.waiting;
    this.waiting = undefined;
    this.waitingFor = undefined;
    resolve?.(r);
  }

  /** The device key: with the password (remembering it if asked), or with what this device remembers. */
  private async unlock(
    user: string,
    password: string | undefined,
    remember: boolean,
  ): Promise<Result<{ key: UserKey; source: 'password' | 'keychain' }, ApiFailure>> {
    const cache = this.ctx.secretCacheFor(user);
    // As the CLI does: a key file others may read is closed before it is used (and logged).
    const loose = await this.ctx.keys.tightenMode().catch(() => undefined);
    if (loose !== undefined)
      this.ctx.log.warn({ mode: `0${loose.toString(8)}` }, 'the key file was readable by others; it is 0600 now');
    if (password === undefined) {
      const cached = await cache.get();
      if (!cached.ok || !cached.value)
        return err(failure('password_needed', 'this device does not remember your password; type it'));
      const opened = await this.ctx.keys.unlockWithUnlockKey(cached.value);
      if (opened.ok) return ok({ key: opened.value.key, source: 'keychain' });
      // The remembered unlock no longer fits (password changed elsewhere): forget it.
      if (opened.error.code === 'wrong_password') await cache.delete();
      return err(failure('password_needed', 'the password remembered on this device no longer fits; type it'));
    }
    const opened = await this.ctx.keys.unlockWithPassword(password);
    if (!opened.ok) return err(failureOf(opened.error));
    if (remember) {
      const set = await cache.set(opened.value.unlockKey);
      if (!set.ok) this.ctx.log.warn({ reason: set.error.message }, 'could not remember the unlock on this device');
    }
    return ok({ key: opened.value.key, source: 'password' });
  }

  /** `login.expiring` five minutes before the end, `login.changed` (expired) at the end. */
  private watchExpiry(login: LoginState): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    if (login.state !== 'logged_in') return;
    const end = Date.parse(login.expiresAt);
    const at = (ms: number, fn: () => void) => {
      const t = setTimeout(fn, Math.max(0, ms - Date.now()));
      t.unref();
      this.timers.push(t);
    };
    if (end - EXPIRY_WARNING_MS > Date.now())
      at(end - EXPIRY_WARNING_MS, () => this.ctx.events.emit({ type: 'login.expiring', expiresAt: login.expiresAt }));
    at(end + 1, () => void this.ctx.login.loggedIn());
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    void this.cancel();
  }
}
