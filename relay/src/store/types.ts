/**
 * The relay's persistent state, seen only through these interfaces. The embedded default is one
 * SQLite file (`SqliteStore`); a PostgreSQL implementation can be added behind the same shapes,
 * which is why every method is async even though better-sqlite3 is synchronous.
 *
 * Times are ISO-8601 strings (UTC). Secrets are never stored: only their sha256 (hex) — they
 * are 256-bit random values, so a fast hash is enough (no password hashing needed).
 */

export type UserStatus = 'active' | 'disabled';

export interface UserRecord {
  /** The user name is the key: it appears in tickets, grants and audit entries. */
  name: string;
  status: UserStatus;
  createdAt: string;
  updatedAt: string;
  /** Whether a TOTP secret has been confirmed (at the user's first enrollment). */
  totpConfirmed: boolean;
}

export interface UserTotp {
  /** Base32 TOTP secret (the relay needs it to verify codes). */
  secretBase32: string;
  confirmedAt?: string;
  /** Highest TOTP time step accepted so far; a code is accepted only for a later step (no reuse). */
  lastUsedStep: number;
}

export interface DeviceRecord {
  /** UUID. */
  id: string;
  user: string;
  /** Free text from Connect ("laptop"), for people. */
  name: string;
  /** SPKI PEM of the device's long-term user key (ECDSA P-256 or RSA). */
  publicKeyPem: string;
  /** `SHA256:…` fingerprint of that key. */
  fingerprint: string;
  createdAt: string;
  lastLoginAt?: string;
  revokedAt?: string;
  /** Enrolled with the organisation root: `[approver?, cred, device]`. */
  orgChain?: string[];
}

export interface VmRecord {
  id: string;
  /** Ports the VM allows to be forwarded at all. */
  ports: number[];
  createdAt: string;
  updatedAt: string;
}

export interface AgentCredentialRecord {
  /** UUID. */
  id: string;
  vm: string;
  secretSha256: string;
  createdAt: string;
  revokedAt?: string;
}

export interface GrantRecord {
  user: string;
  vm: string;
  /** Ports this user may forward on this VM; absent means every port the VM allows. */
  ports?: number[];
  /** After this instant the grant no longer opens anything. */
  expiresAt?: string;
  createdAt: string;
}

/** A one-time secret: a user enrollment code or an agent enrollment token. */
export interface OneTimeCodeRecord {
  /** UUID. */
  id: string;
  kind: 'user-enrollment' | 'agent-enrollment';
  /** User name (user-enrollment) or VM id (agent-enrollment). */
  subject: string;
  secretSha256: string;
  createdAt: string;
  expiresAt: string;
  usedAt?: string;
  /** A code made with the organisation root: its public credential chain (`[approver?, cred]`). */
  orgChain?: string[];
}

export type ConsumeRefusal = 'unknown' | 'used' | 'expired';
export type ConsumeResult = { ok: true; code: OneTimeCodeRecord } | { ok: false; reason: ConsumeRefusal };

/** A device enrollment between "code accepted" and "TOTP confirmed". */
export interface PendingEnrollmentRecord {
  /** UUID, handed to Connect. */
  id: string;
  user: string;
  deviceName: string;
  publicKeyPem: string;
  /** A new TOTP secret when the user has none yet; absent when the user's existing TOTP must be used. */
  newTotpSecretBase32?: string;
  createdAt: string;
  expiresAt: string;
  failedAttempts: number;
  /** The code's credential chain, when it was made with the organisation root. */
  orgChain?: string[];
}

export interface ApiClientRecord {
  clientId: string;
  name: string;
  secretSha256: string;
  scopes: string[];
  createdAt: string;
  revokedAt?: string;
}

export interface SessionRecord {
  /** The session id (UUID) carried through Connect, relay and agent logs. */
  id: string;
  user: string;
  device: string;
  vm: string;
  ports: number[];
  /** Ticket issued. */
  createdAt: string;
  /** Both sides paired. */
  openedAt?: string;
  endedAt?: string;
  endReason?: string;
  bytesFromClient: number;
  bytesFromAgent: number;
  /** An admin asked for this session to be closed; the relay that holds it closes it. */
  killRequestedAt?: string;
  killRequestedBy?: string;
}

/** Whether a VM's agent has a control link to the relay, as the relay last recorded it. */
export interface AgentPresenceRecord {
  vm: string;
  online: boolean;
  /** When it came online, or went offline. */
  since: string;
  hostKeyFingerprint?: string;
  version?: string;
  /** Why the control link last went down. */
  lastOfflineReason?: string;
}

export interface AuditEventInput {
  /** Dotted event type, e.g. `login.failure`, `session.close`, `admin.user.create`. */
  type: string;
  /** Who did it: `user:<name>`, `device:<id>`, `agent:<vm>`, `client:<id>`, `cli:<os user>`, `relay`. */
  actor: string;
  /** Whether the action was allowed; refusals carry a `reason` in data. */
  outcome: 'success' | 'failure' | 'info';
  /** Session id when the event belongs to one. */
  sid?: string;
  /** Source address for network events. */
  source?: string;
  data: Record<string, unknown>;
}

export interface AuditEntry extends AuditEventInput {
  /** 1, 2, 3… with no gaps. */
  seq: number;
  ts: string;
  /** Hex sha256 of the previous entry (64 zeros for seq 1). */
  prevHash: string;
  /** Hex sha256 over this entry, see `audit/chain.ts`. */
  hash: string;
}

export interface AuditCheckpoint {
  seq: number;
  hash: string;
  ts: string;
  /** base64url Ed25519 signature by the relay signing key over `checkpointSigningInput`. */
  signature: string;
  /** SPKI PEM of the key that signed it, so verification survives key rotation. */
  publicKeyPem: string;
}

export interface AuditQuery {
  afterSeq?: number;
  limit?: number;
  type?: string;
  actor?: string;
  sid?: string;
  outcome?: AuditEntry['outcome'];
  since?: string;
  until?: string;
  /** Newest first (for `tail`). */
  descending?: boolean;
}

export interface UserStore {
  get(name: string): Promise<UserRecord | undefined>;
  list(): Promise<UserRecord[]>;
  /** Throws StoreError('exists'). */
  create(name: string): Promise<UserRecord>;
  /** Throws StoreError('not_found'). */
  setStatus(name: string, status: UserStatus): Promise<UserRecord>;
  getTotp(name: string): Promise<UserTotp | undefined>;
  setTotp(name: string, secretBase32: string): Promise<void>;
  /**
   * Atomically records that TOTP step `step` was used, only if it is later than the last used
   * step. Returns false when the step was already used (a replayed code).
   */
  useTotpStep(name: string, step: number): Promise<boolean>;
}

export interface DeviceStore {
  get(id: string): Promise<DeviceRecord | undefined>;
  list(filter?: { user?: string }): Promise<DeviceRecord[]>;
  create(device: {
    user: string;
    name: string;
    publicKeyPem: string;
    fingerprint: string;
    orgChain?: string[];
  }): Promise<DeviceRecord>;
  /** Returns false when unknown or already revoked. */
  revoke(id: string): Promise<boolean>;
  /** Revokes every device of a user; returns how many. */
  revokeAllOf(user: string): Promise<number>;
  touchLogin(id: string): Promise<void>;
}

export interface VmStore {
  get(id: string): Promise<VmRecord | undefined>;
  list(): Promise<VmRecord[]>;
  /** Throws StoreError('exists'). */
  create(vm: { id: string; ports: number[] }): Promise<VmRecord>;
  /** Throws StoreError('not_found'). */
  setPorts(id: string, ports: number[]): Promise<VmRecord>;
}

export interface AgentCredentialStore {
  /** Throws StoreError('not_found') for an unknown VM. */
  create(vm: string, secretSha256: string): Promise<AgentCredentialRecord>;
  /** Active (not revoked) credentials of a VM. */
  listActive(vm: string): Promise<AgentCredentialRecord[]>;
  list(vm?: string): Promise<AgentCredentialRecord[]>;
  get(id: string): Promise<AgentCredentialRecord | undefined>;
  revoke(id: string): Promise<boolean>;
  revokeAllOf(vm: string): Promise<number>;
}

export interface GrantStore {
  get(user: string, vm: string): Promise<GrantRecord | undefined>;
  list(filter?: { user?: string; vm?: string }): Promise<GrantRecord[]>;
  /** Creates or replaces. Throws StoreError('not_found') for an unknown user or VM. */
  put(grant: { user: string; vm: string; ports?: number[]; expiresAt?: string }): Promise<GrantRecord>;
  delete(user: string, vm: string): Promise<boolean>;
}

export interface OneTimeCodeStore {
  create(code: {
    kind: OneTimeCodeRecord['kind'];
    subject: string;
    secretSha256: string;
    expiresAt: string;
    orgChain?: string[];
  }): Promise<OneTimeCodeRecord>;
  /** Atomically marks the code used if it exists, is unused and has not expired at `now`. */
  consume(kind: OneTimeCodeRecord['kind'], secretSha256: string, now: Date): Promise<ConsumeResult>;
  list(filter?: { kind?: OneTimeCodeRecord['kind']; subject?: string }): Promise<OneTimeCodeRecord[]>;
  /** Voids every unused code of a subject (user disabled, VM credential reset). */
  revokeAllOf(kind: OneTimeCodeRecord['kind'], subject: string): Promise<number>;
}

export interface PendingEnrollmentStore {
  create(p: Omit<PendingEnrollmentRecord, 'id' | 'createdAt' | 'failedAttempts'>): Promise<PendingEnrollmentRecord>;
  get(id: string): Promise<PendingEnrollmentRecord | undefined>;
  /** Returns the new count. */
  recordFailure(id: string): Promise<number>;
  delete(id: string): Promise<void>;
  /** Drops every pending enrollment of a user (user disabled or revoked); returns how many. */
  deleteAllOf(user: string): Promise<number>;
}

export interface ApiClientStore {
  /** Throws StoreError('exists'). */
  create(client: { clientId: string; name: string; secretSha256: string; scopes: string[] }): Promise<ApiClientRecord>;
  get(clientId: string): Promise<ApiClientRecord | undefined>;
  list(): Promise<ApiClientRecord[]>;
  revoke(clientId: string): Promise<boolean>;
}

export interface SessionStore {
  create(s: { id: string; user: string; device: string; vm: string; ports: number[] }): Promise<SessionRecord>;
  get(id: string): Promise<SessionRecord | undefined>;
  markOpened(id: string): Promise<void>;
  markEnded(id: string, end: { reason: string; bytesFromClient: number; bytesFromAgent: number }): Promise<void>;
  /** A connection of the session dropped; it may be resumed. Adds its bytes. */
  markInterrupted(id: string, bytes: { bytesFromClient: number; bytesFromAgent: number }): Promise<void>;
  /** The session was resumed: live again. */
  markResumed(id: string): Promise<void>;
  /** Sessions not yet ended (newest first). */
  listLive(): Promise<SessionRecord[]>;
  list(filter?: { user?: string; vm?: string; limit?: number }): Promise<SessionRecord[]>;
  /** Returns false when unknown or already ended. */
  requestKill(id: string, by: string): Promise<boolean>;
  /** Ends every session still live (a previous run's, after a crash) and returns them as ended. */
  endAllLive(reason: string): Promise<SessionRecord[]>;
}

export interface AuditStore {
  /**
   * Appends one entry, chained to the last one inside one write transaction, so two processes
   * (relay and admin CLI) appending at once still produce a single chain.
   */
  append(event: AuditEventInput, now?: Date): Promise<AuditEntry>;
  last(): Promise<AuditEntry | undefined>;
  query(q?: AuditQuery): Promise<AuditEntry[]>;
  /** All entries in seq order, in pages (for verify and sinks). */
  range(afterSeq: number, limit: number): Promise<AuditEntry[]>;
  addCheckpoint(c: AuditCheckpoint): Promise<void>;
  checkpoints(): Promise<AuditCheckpoint[]>;
  /** Delivery cursor of a named sink (last seq delivered), 0 when new. */
  getCursor(sink: string): Promise<number>;
  setCursor(sink: string, seq: number): Promise<void>;
}

/** How many failed logins within a window lock a user, and for how long. */
export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
}

export interface UserLockout {
  user: string;
  lockedUntil: string;
}

/**
 * Failed logins per user and the resulting lock. Times come from the caller (the relay's clock),
 * so the relay and the admin CLI agree on what "now" means only as well as their clocks do.
 */
export interface LoginLockoutStore {
  /** When the user's lock ends, if one is in force at `now`. */
  lockedUntil(user: string, now: Date): Promise<Date | undefined>;
  /**
   * Atomically records a failed login and locks the user once `maxFailures` fall within
   * `windowMs`; returns the end of the lock this failure started, if it did.
   */
  recordFailure(user: string, now: Date, policy: LockoutPolicy): Promise<{ lockedUntil?: Date }>;
  /** Forgets the user's failures and lock (a successful login, an admin's unlock). */
  clear(user: string, now: Date): Promise<{ wasLocked: boolean; failures: number }>;
  /** Users locked at `now`, by name. */
  listLocked(now: Date): Promise<UserLockout[]>;
}

export interface AgentPresenceStore {
  /** The agent registered a control link (replacing any earlier one). */
  markOnline(vm: string, link: { hostKeyFingerprint: string; version: string }): Promise<void>;
  /** The VM has no control link any more; a VM already offline keeps its first time and reason. */
  markOffline(vm: string, reason: string): Promise<void>;
  get(vm: string): Promise<AgentPresenceRecord | undefined>;
  list(): Promise<AgentPresenceRecord[]>;
  /** Relay start: links of a previous run are gone. Returns how many were marked. */
  markAllOffline(reason: string): Promise<number>;
}

/** What the relay holds of the organisation root; nothing here is trusted by Connect or agents. */
export interface OrgState {
  /** The anchor's exact text, as an admin set it. */
  anchor?: { text: string; setAt: string };
  /** The newest revocation list an admin set (a chain), with its sequence number. */
  crl?: { chain: string[]; seq: number; setAt: string };
}

export interface OrgStateStore {
  get(): Promise<OrgState>;
  /**
   * Serves this anchor. `newOrganisation`: it replaces another organisation's, whose revocation
   * list (and its sequence numbers) then goes too, in the same transaction: it no longer verifies,
   * and the new organisation's lists start their numbering afresh.
   */
  setAnchor(text: string, newOrganisation?: boolean): Promise<void>;
  /** Stores the list only if `seq` is higher than the one held (atomically); false otherwise. */
  setCrl(chain: string[], seq: number): Promise<boolean>;
}

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

/** The ports a grant actually opens: the grant's ports that the VM also allows. */
export function effectivePorts(vm: VmRecord, grant: GrantRecord): number[] {
  const allowed = new Set(vm.ports);
  const wanted = grant.ports ?? vm.ports;
  return [...new Set(wanted.filter((p) => allowed.has(p)))].sort((a, b) => a - b);
}

/** Whether a grant is in force at `now`. */
export function grantActive(grant: GrantRecord, now: Date = new Date()): boolean {
  return grant.expiresAt === undefined || Date.parse(grant.expiresAt) > now.getTime();
}
