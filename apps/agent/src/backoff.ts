export interface BackoffPolicy {
  minDelayMs: number;
  maxDelayMs: number;
}

/**
 * Exponential backoff with "equal jitter": half the exponential step is fixed, the other half
 * random, so a fleet of agents that lost the relay together does not come back in lockstep,
 * while the delay still grows with every failed attempt.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (random() * step) / 2);
}

/** The attempt number whose step is already the maximum (used after a 401: retry slowly). */
export function maxAttempt(policy: BackoffPolicy): number {
  return Math.ceil(Math.log2(Math.max(1, policy.maxDelayMs / policy.minDelayMs)));
}
