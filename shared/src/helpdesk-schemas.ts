import * as z from 'zod';
import { Port, SessionId, UserName, VmId } from './schemas.js';
import { lazySchema } from './lazy-schema.js';

/**
 * What the relay tells helpdesk (and Connect's `airlock doctor`) about "why can't this user reach
 * this VM": `airlock-relay explain`, `GET /api/v1/admin/explain` (scope sessions.read), the
 * user's own `GET /api/v1/explain`, `session show`, `/healthz` and `/readyz`. The shapes are a
 * stable interface: fields are only ever added.
 */

/**
 * Why access is refused, one code per cause, in the order they are checked. A bounded set: the
 * same codes label the relay's refusal metrics.
 */
export const EXPLAIN_CODES = [
  'user_unknown',
  'user_disabled',
  'user_locked_out',
  'no_device',
  'vm_unknown',
  'no_grant',
  'grant_expired',
  'port_not_in_grant',
  'port_not_allowed_by_vm',
  'agent_not_enrolled',
  'agent_offline',
  'relay_not_running',
] as const;
export const ExplainCode = lazySchema(() => z.enum(EXPLAIN_CODES));
export type ExplainCode = z.infer<typeof ExplainCode>;

/** Query strings carry text: the port arrives as "8888". */
const QueryPort = lazySchema(() => z.coerce.number({ message: 'must be a port 1–65535' }).pipe(Port));

export const ExplainQuery = lazySchema(() =>
  z.object({ user: UserName, vm: VmId, port: QueryPort.optional() }).strict(),
);
export type ExplainQuery = z.infer<typeof ExplainQuery>;
/** The user's own question (`GET /api/v1/explain`): the user is whoever the access token names. */
export const SelfExplainQuery = lazySchema(() => z.object({ vm: VmId, port: QueryPort.optional() }).strict());
export type SelfExplainQuery = z.infer<typeof SelfExplainQuery>;

export const EXPLAIN_CHECKS = ['relay', 'user', 'lockout', 'device', 'vm', 'grant', 'port', 'agent'] as const;

/** One line of the answer: what was checked, whether it passed, what was found and what to do. */
export const ExplainCheck = lazySchema(() =>
  z.object({
    check: z.enum(EXPLAIN_CHECKS),
    ok: z.boolean(),
    /** Present when the check failed. */
    code: ExplainCode.optional(),
    message: z.string(),
    /** The next step, for a failed check. */
    hint: z.string().optional(),
  }),
);
export type ExplainCheck = z.infer<typeof ExplainCheck>;

export const AgentPresence = lazySchema(() =>
  z.object({
    online: z.boolean(),
    /** When it came online or went offline (absent: never connected). */
    since: z.string().optional(),
    /** Why the control link went down last (close code and reason), once it has. */
    lastOfflineReason: z.string().optional(),
    hostKeyFingerprint: z.string().optional(),
    version: z.string().optional(),
  }),
);
export type AgentPresence = z.infer<typeof AgentPresence>;

/** A refusal from the audit log, as helpdesk reads it. */
export const RecentRefusal = lazySchema(() =>
  z.object({
    seq: z.number().int(),
    ts: z.string(),
    type: z.string(),
    reason: z.string(),
    sid: z.string().optional(),
    vm: z.string().optional(),
    source: z.string().optional(),
  }),
);
export type RecentRefusal = z.infer<typeof RecentRefusal>;

/** What every answer starts with: the question, the verdict and the checks behind it. */
export const ExplainVerdict = lazySchema(() =>
  z.object({
    user: z.string(),
    vm: z.string(),
    port: Port.optional(),
    /** When the relay answered. */
    at: z.string(),
    /** Whether a session (and the port, when asked) would be allowed right now. */
    allowed: z.boolean(),
    /** The codes of the failed checks, in check order: the first is the one to fix first. */
    blockers: z.array(ExplainCode),
    checks: z.array(ExplainCheck),
  }),
);
export type ExplainVerdict = z.infer<typeof ExplainVerdict>;

export const ExplainReport = lazySchema(() =>
  ExplainVerdict.extend({
    userInfo: z
      .object({
        status: z.enum(['active', 'disabled']),
        /** Last status change (a disable, an enable). */
        statusSince: z.string(),
        lockedUntil: z.string().optional(),
        devices: z.number().int(),
        lastLoginAt: z.string().optional(),
        /** An unused enrollment code is waiting (the user has not enrolled yet). */
        enrollmentCodeExpiresAt: z.string().optional(),
      })
      .optional(),
    grant: z
      .object({
        /** The ports the grant names; absent: every port the VM allows. */
        ports: z.array(Port).optional(),
        expiresAt: z.string().optional(),
        createdAt: z.string(),
        /** What a session opens: the grant's ports that the VM still allows. */
        effectivePorts: z.array(Port),
      })
      .optional(),
    vmPorts: z.array(Port).optional(),
    agent: AgentPresence.extend({ activeCredentials: z.number().int() }).optional(),
    /** The user's latest refusals (newest first), and refusals the agent reported in the user's recent sessions of this VM. */
    recentRefusals: z.array(RecentRefusal),
  }),
);
export type ExplainReport = z.infer<typeof ExplainReport>;

/**
 * The user's own view (`GET /api/v1/explain?vm=&port=`): only what concerns their access to
 * that VM. A VM they may not use is reported as `no_grant` whether or not it exists.
 */
export const SelfExplainReport = lazySchema(() =>
  ExplainVerdict.extend({
    grant: z.object({ expiresAt: z.string().optional(), effectivePorts: z.array(Port) }).optional(),
    agent: AgentPresence.pick({ online: true, since: true }).optional(),
  }),
);
export type SelfExplainReport = z.infer<typeof SelfExplainReport>;

// --- Sessions --------------------------------------------------------------------------------
export const SessionShowParam = lazySchema(() => z.object({ id: SessionId }));

export const SessionAuditEntry = lazySchema(() =>
  z.object({
    seq: z.number().int(),
    ts: z.string(),
    type: z.string(),
    actor: z.string(),
    outcome: z.enum(['success', 'failure', 'info']),
    source: z.string().optional(),
    data: z.record(z.string(), z.unknown()),
  }),
);
export type SessionAuditEntry = z.infer<typeof SessionAuditEntry>;

export const SessionDetail = lazySchema(() =>
  z.object({
    id: SessionId,
    user: z.string(),
    device: z.object({ id: z.string(), name: z.string().optional() }),
    vm: z.string(),
    ports: z.array(Port),
    /** pending: ticket issued, not both sides joined; open: paired; ended. */
    state: z.enum(['pending', 'open', 'ended']),
    createdAt: z.string(),
    openedAt: z.string().optional(),
    endedAt: z.string().optional(),
    /** From the pairing (or, when never paired, the ticket) to the end, or to now while live. */
    durationMs: z.number().int().optional(),
    bytesFromClient: z.number().int(),
    bytesFromAgent: z.number().int(),
    /** True when the byte counts are live counts from the running relay (an open session). */
    bytesLive: z.boolean(),
    end: z
      .object({
        reason: z.string(),
        /** Who ended it, when the relay or an admin did (`session.revoked`): `relay`, `cli:…`, `client:…`. */
        by: z.string().optional(),
      })
      .optional(),
    killRequested: z.object({ at: z.string(), by: z.string() }).optional(),
    /** Every audit entry carrying this session id, oldest first. */
    audit: z.array(SessionAuditEntry),
  }),
);
export type SessionDetail = z.infer<typeof SessionDetail>;

// --- Health ----------------------------------------------------------------------------------
/** `GET /healthz`: the process answers. `time` lets a client measure its clock skew. */
export const HealthResponse = lazySchema(() => z.object({ status: z.literal('ok'), time: z.string() }));
export type HealthResponse = z.infer<typeof HealthResponse>;

export const ReadinessCheck = lazySchema(() =>
  z.object({
    ok: z.boolean(),
    /** Why not, in one line (on the public port without internal detail). */
    reason: z.string().optional(),
    latencyMs: z.number().optional(),
  }),
);
/** `GET /readyz`: 200 when the relay can serve (store reachable, signing key loaded), else 503. */
export const ReadinessResponse = lazySchema(() =>
  z.object({
    status: z.enum(['ready', 'not_ready']),
    time: z.string(),
    checks: z.object({ store: ReadinessCheck, signingKey: ReadinessCheck }),
  }),
);
export type ReadinessResponse = z.infer<typeof ReadinessResponse>;
