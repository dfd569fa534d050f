/**
 * The relay's persistent state, seen only through these interfaces (by domain in the `*-types.ts`
 * files beside this one, all re-exported here). The embedded default is one SQLite file
 * (`SqliteStore`); a PostgreSQL implementation can be added behind the same shapes, which is why
 * every method is async even though better-sqlite3 is synchronous.
 *
 * Times are ISO-8601 strings (UTC). Secrets are never stored: only their sha256 (hex) — they
 * are 256-bit random values, so a fast hash is enough (no password hashing needed).
 */
import type { HeldSource } from '@airlock/shared';
import type { ApiClientStore } from './api-client-types.js';
import type { AuditStore } from './audit-types.js';
import type { OneTimeCodeStore, PendingEnrollmentStore } from './enrollment-types.js';
import type { OrgStateStore } from './org-state-types.js';
import type { SessionStore } from './session-types.js';
import type { DeviceStore, LoginLockoutStore, UserStore } from './user-types.js';
import type { AgentCredentialStore, AgentPresenceStore, GrantStore, VmStore } from './vm-types.js';

export * from './user-types.js';
export * from './enrollment-types.js';
export * from './vm-types.js';
export * from './session-types.js';
export * from './audit-types.js';
export * from './org-state-types.js';
export * from './api-client-types.js';

/** Whether the store answers, for `/readyz`: a typed result, never an exception. */
export type StoreProbe = { ok: true; latencyMs: number } | { ok: false; reason: string; latencyMs: number };

/**
 * A counter that moves whenever access may have been taken away (users, devices, agent
 * credentials, grants, VM ports, session kills), whoever made the change: the relay re-checks
 * live sessions only when it moved.
 */
export interface RevocationStore {
  epoch(): Promise<number>;
}

/** Every source, in a release request: each source's lockout and budgets, and the shared ones. */
export const EVERY_SOURCE = '*';

/** A request to release one source network (or EVERY_SOURCE) from the relay's per-source limits. */
export interface SourceRelease {
  id: number;
  network: string;
}

/** See schema-v6.ts: the admin CLI's way to the running relay's per-source lockouts. */
export interface SourceReleaseStore {
  /** Records a request for the running relay; returns its id. */
  request(network: string): Promise<number>;
  /** Requests newer than `id`, oldest first. */
  after(id: number): Promise<SourceRelease[]>;
  /** The newest request's id (0 when none): a relay that starts owes nothing to older ones. */
  latest(): Promise<number>;
}

/** The running relay's per-source refusals as it answered a list request (see schema-v7.ts). */
export interface HeldSourceList {
  /**
   * When the relay answered (ISO 8601); `retryAfterSeconds` counts from then. The relay makes its
   * list at most every 5 s: a source held back in the 5 s before may not be in it yet.
   */
  at: string;
  sources: HeldSource[];
  /** How many sources are held back; `sources` holds at most 1 000 of them, soonest free first. */
  total: number;
}

/** See schema-v7.ts: the admin CLI's way to read the running relay's per-source refusals. */
export interface SourceListStore {
  /** Records a request for the running relay; returns its id. */
  request(): Promise<number>;
  /** The oldest requests not answered yet (a bounded number). */
  unanswered(): Promise<number[]>;
  /** Writes the relay's answer (once: a request already answered keeps its first answer). */
  answer(id: number, list: HeldSourceList): Promise<void>;
  /** The answer, once the relay has written one. */
  answerOf(id: number): Promise<HeldSourceList | undefined>;
  /** The asker is done with its request (answered or given up): its row goes. */
  forget(id: number): Promise<void>;
}

export interface RelayStore {
  users: UserStore;
  loginLockouts: LoginLockoutStore;
  devices: DeviceStore;
  vms: VmStore;
  agentCredentials: AgentCredentialStore;
  grants: GrantStore;
  codes: OneTimeCodeStore;
  pendingEnrollments: PendingEnrollmentStore;
  apiClients: ApiClientStore;
  sessions: SessionStore;
  audit: AuditStore;
  agentPresence: AgentPresenceStore;
  revocations: RevocationStore;
  sourceReleases: SourceReleaseStore;
  sourceLists: SourceListStore;
  org: OrgStateStore;
  /**
   * Checks that the store is there and answers, within a short bound (the relay's readiness).
   * Never waits long: a locked store is reported, not waited out.
   */
  probe(): Promise<StoreProbe>;
  close(): Promise<void>;
}

export type StoreErrorCode = 'exists' | 'not_found' | 'invalid';

/** An expected failure of a store write (duplicate name, unknown user…), with a message for people. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}
