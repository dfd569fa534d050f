// Users, their devices and TOTP secrets, and the lock that failed logins put on a user.

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
