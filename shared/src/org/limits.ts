/** Lifetimes the verifier allows, and the clock difference it tolerates (as tickets do). */
export const ORG_CLOCK_SKEW_SECONDS = 5;
const DAY = 24 * 60 * 60;
export const ORG_LIMITS = {
  /** An approver certificate, at most. */
  approverSeconds: 2 * 366 * DAY,
  /** An enrollment credential: the life of its code. */
  credSeconds: 7 * DAY,
  /** What a credential may let its device or VM identity certificate live (its `ttl`), at most. */
  enrolledSeconds: 5 * 366 * DAY,
  /** A login certificate (one login's session key). */
  loginSeconds: 12 * 60 * 60,
  /** A host key certificate: the agent re-signs daily. */
  hostkeySeconds: 7 * DAY,
  /** A revocation list: how long a withholding relay can keep one in force, at most. */
  crlSeconds: 31 * DAY,
} as const;

/** Defaults the tools issue with. */
export const ORG_DEFAULTS = {
  approverSeconds: 2 * 365 * DAY,
  credSeconds: 3 * DAY,
  deviceSeconds: 365 * DAY,
  vmidSeconds: 2 * 365 * DAY,
  hostkeySeconds: 7 * DAY,
  crlSeconds: 14 * DAY,
} as const;
