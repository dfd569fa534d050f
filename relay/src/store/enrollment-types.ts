// Enrollment: one-time codes (a user's enrollment code, an agent's enrollment token) and the
// device enrollments they start.

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
