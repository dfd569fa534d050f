import type * as z from 'zod';
import {
  describeZodError,
  err,
  formatOneTimeCode,
  hashSecret,
  newSecret,
  ok,
  type IssuedAgentToken,
  type IssuedCode,
  type Result,
} from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import { StoreError, type OneTimeCodeRecord, type RelayStore } from '../store/types.js';

/**
 * Expected admin failures, each with a message for people: `exists` (409), `not_found` (404),
 * `invalid` (400, names the field) and `conflict` (409, e.g. killing a session that already ended).
 */
export type AdminFailureCode = 'exists' | 'not_found' | 'invalid' | 'conflict';
export interface AdminFailure {
  code: AdminFailureCode;
  message: string;
  /** What to do next, when the code's general advice does not fit. */
  hint?: string;
}
export type AdminResult<T> = Result<T, AdminFailure>;

export const fail = (code: AdminFailureCode, message: string, hint?: string): AdminResult<never> =>
  err(hint ? { code, message, hint } : { code, message });

export interface AdminServiceOptions {
  store: RelayStore;
  audit: AuditRecorder;
  /** Goes into every one-time code: where to enroll, and the relay certificate's SPKI pin (`sha256/…`). */
  enrollment: { relayUrl: string; pin: string };
  /** Lifetime of a user enrollment code; default 24 h. */
  userCodeTtlMs?: number;
  /** Lifetime of an agent enrollment token; default 24 h. */
  agentTokenTtlMs?: number;
  now?: () => Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** What every part of the admin service shares: the store, the audit trail, the clock. */
export abstract class AdminCore {
  protected readonly store: RelayStore;
  protected readonly audit: AuditRecorder;
  protected readonly enrollment: { relayUrl: string; pin: string };
  protected readonly userCodeTtlMs: number;
  protected readonly agentTokenTtlMs: number;
  protected readonly now: () => Date;

  constructor(options: AdminServiceOptions) {
    this.store = options.store;
    this.audit = options.audit;
    this.enrollment = options.enrollment;
    this.userCodeTtlMs = options.userCodeTtlMs ?? DAY_MS;
    this.agentTokenTtlMs = options.agentTokenTtlMs ?? DAY_MS;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Runs one admin change and records it: `admin.<thing>.<verb>`, success with `summary(value)`
   * or failure with the reason. A StoreError (duplicate, unknown) is an expected failure; any
   * other exception is a bug, recorded as a failure and rethrown.
   */
  protected async audited<T>(
    event: { actor: string; type: string; data: Record<string, unknown>; sid?: string },
    run: () => Promise<AdminResult<T>>,
    summary?: (value: T) => Record<string, unknown>,
  ): Promise<AdminResult<T>> {
    const { actor, type, data } = event;
    const sid = event.sid !== undefined ? { sid: event.sid } : {};
    let result: AdminResult<T>;
    try {
      result = await run();
    } catch (e) {
      if (!(e instanceof StoreError)) {
        await this.audit.record({
          type,
          actor,
          outcome: 'failure',
          ...sid,
          data: { ...data, reason: 'internal error' },
        });
        throw e;
      }
      result = fail(e.code, e.message);
    }
    await this.audit.record(
      result.ok
        ? { type, actor, outcome: 'success', ...sid, data: { ...data, ...summary?.(result.value) } }
        : { type, actor, outcome: 'failure', ...sid, data: { ...data, reason: result.error.message } },
    );
    return result;
  }

  /** Issues a one-time code; only its hash is stored, the code itself is returned once. */
  protected async issueCode(kind: 'user-enrollment', subject: string): Promise<IssuedCode>;
  protected async issueCode(kind: 'agent-enrollment', subject: string): Promise<IssuedAgentToken>;
  protected async issueCode(kind: OneTimeCodeRecord['kind'], subject: string): Promise<IssuedCode | IssuedAgentToken> {
    const secret = newSecret();
    const user = kind === 'user-enrollment';
    const expiresAt = new Date(this.now().getTime() + (user ? this.userCodeTtlMs : this.agentTokenTtlMs));
    await this.store.codes.create({
      kind,
      subject,
      secretSha256: hashSecret(secret),
      expiresAt: expiresAt.toISOString(),
    });
    const code = formatOneTimeCode(user ? 'user' : 'agent', secret, this.enrollment.pin);
    const tool = user ? 'airlock enroll' : 'airlock-agent enroll';
    const issued = { command: `${tool} ${this.enrollment.relayUrl} ${code}`, expiresAt: expiresAt.toISOString() };
    return user ? { code, ...issued } : { token: code, ...issued };
  }

  /**
   * How many live sessions match `which`. The relay's session guard closes them itself (user
   * disabled, device revoked, grant gone) with a reason naming the cause, so no kill is requested.
   */
  protected async liveSessions(which: (s: { user: string; device: string; vm: string }) => boolean): Promise<number> {
    return (await this.store.sessions.listLive()).filter(which).length;
  }
}

/** Parses an input with its schema; on failure the message names the field. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown): AdminResult<T> {
  const r = schema.safeParse(value);
  return r.success ? ok(r.data) : fail('invalid', describeZodError(r.error));
}
