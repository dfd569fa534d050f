import { randomUUID } from 'node:crypto';
import { curlPin } from '@airlock/shared';
import { EnrollmentTransaction } from '../../core/enrollment/enrollment-transaction.js';
import { MIN_PASSWORD_LENGTH, sameSecret } from '../../core/identity/password-rules.js';
import type { ApiParams, ApiResponse, ApiResult } from '../contract/index.js';
import { done, failed, failedWith, failure, unknownHandle } from './failures.js';
import type { ServiceContext } from './service-context.js';

/** An enrollment left half-way (the person closed the window) is undone after this long. */
const ABANDONED_AFTER_MS = 30 * 60_000;

/**
 * The enrollment wizard's requests over core's EnrollmentTransaction: check the code and the
 * relay, choose the password (the code is used from here on) and get the authenticator setup,
 * confirm a code. Each enrollment in progress has an id; one abandoned is undone.
 */
export class EnrollmentHandlers {
  private readonly open = new Map<string, { tx: EnrollmentTransaction; timer: NodeJS.Timeout }>();

  constructor(private readonly ctx: ServiceContext) {}

  async start(p: ApiParams<'enroll.start'>): Promise<ApiResponse<ApiResult<'enroll.start'>>> {
    const prepared = await EnrollmentTransaction.prepare(
      { store: this.ctx.store, keys: this.ctx.keys },
      { relayUrl: p.relayUrl, code: p.code.replace(/\s+/g, ''), deviceName: p.deviceName, replace: p.replace },
      { fetch: this.ctx.fetch },
    );
    if (!prepared.ok) return failedWith(prepared.error);
    const tx = prepared.value;
    const enrollmentId = `enroll-${randomUUID()}`;
    const timer = setTimeout(() => void this.forget(enrollmentId, 'abandoned'), ABANDONED_AFTER_MS);
    timer.unref();
    this.open.set(enrollmentId, { tx, timer });
    return done({
      enrollmentId,
      relayUrl: tx.target.relayUrl,
      relayPin: curlPin(tx.target.pin),
      deviceName: tx.deviceName,
      passwordRules: { minLength: MIN_PASSWORD_LENGTH },
    });
  }

  async setPassword(p: ApiParams<'enroll.setPassword'>): Promise<ApiResponse<ApiResult<'enroll.setPassword'>>> {
    const entry = this.open.get(p.enrollmentId);
    if (!entry) return unknownHandle('enrollment', p.enrollmentId);
    if (!sameSecret(p.password, p.repeat))
      return failed(failure('password_mismatch', 'the two passwords do not match'));
    const begun = await entry.tx.begin(p.password, {
      remember: p.remember,
      secretCacheFor: (user) => this.ctx.secretCacheFor(user),
    });
    if (!begun.ok) {
      // A weak password uses nothing up; anything else ended this enrollment.
      if (begun.error.code !== 'password_rejected') await this.forget(p.enrollmentId, 'failed');
      return failedWith(begun.error);
    }
    return done({
      user: begun.value.user,
      totp: begun.value.totp,
      ...(begun.value.rememberError ? { rememberError: begun.value.rememberError } : {}),
    });
  }

  async confirm(p: ApiParams<'enroll.confirm'>): Promise<ApiResponse<ApiResult<'enroll.confirm'>>> {
    const entry = this.open.get(p.enrollmentId);
    if (!entry) return unknownHandle('enrollment', p.enrollmentId);
    const confirmed = await entry.tx.confirm(p.totp);
    if (!confirmed.ok) {
      const { retryable } = confirmed.error;
      if (!retryable) await this.forget(p.enrollmentId, 'failed');
      return failedWith(confirmed.error, retryable ? { retryable: true } : {});
    }
    await this.forget(p.enrollmentId, 'done');
    await this.ctx.login.loggedIn();
    return done(confirmed.value);
  }

  async cancel(p: ApiParams<'enroll.cancel'>): Promise<ApiResponse<ApiResult<'enroll.cancel'>>> {
    if (!this.open.has(p.enrollmentId)) return unknownHandle('enrollment', p.enrollmentId);
    await this.forget(p.enrollmentId, 'cancelled');
    return done({});
  }

  /** Ends an enrollment: undone unless it completed. */
  private async forget(id: string, why: 'done' | 'failed' | 'cancelled' | 'abandoned'): Promise<void> {
    const entry = this.open.get(id);
    if (!entry) return;
    this.open.delete(id);
    clearTimeout(entry.timer);
    if (why !== 'done') {
      this.ctx.log.info({ enrollment: id, why }, 'enrollment ended without completing; undone');
      await entry.tx.abort();
    }
    await entry.tx.close();
  }

  async close(): Promise<void> {
    await Promise.all([...this.open.keys()].map((id) => this.forget(id, 'abandoned')));
  }
}
