import { Secret, TOTP } from 'otpauth';
import type { UserStore } from '../store/types.js';

/** RFC 6238 defaults every authenticator app supports. */
const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** One step either side (±30 s) for clock skew between the phone and the relay. */
const WINDOW = 1;

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

export function totpUri(secretBase32: string, account: string, issuer = 'Airlock'): string {
  return new TOTP({
    issuer,
    label: account,
    secret: Secret.fromBase32(secretBase32),
    period: PERIOD_SECONDS,
    digits: DIGITS,
    algorithm: 'SHA1',
  }).toString();
}

/** The time step a code belongs to, or undefined when it matches no step in the window. */
export function matchTotpStep(secretBase32: string, code: string, nowMs: number): number | undefined {
  const delta = TOTP.validate({
    token: code,
    secret: Secret.fromBase32(secretBase32),
    period: PERIOD_SECONDS,
    digits: DIGITS,
    algorithm: 'SHA1',
    timestamp: nowMs,
    window: WINDOW,
  });
  if (delta === null) return undefined;
  return Math.floor(nowMs / 1000 / PERIOD_SECONDS) + delta;
}

/** For tests and tools: the code of a given step. */
export function totpCodeAt(secretBase32: string, nowMs: number): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secretBase32),
    period: PERIOD_SECONDS,
    digits: DIGITS,
    timestamp: nowMs,
  });
}

export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'no_totp' | 'wrong_code' | 'reused_code' };

/**
 * Checks a user's code and burns its step, so each code works once: a code seen on the wire
 * (shoulder-surfed, logged by a proxy) cannot be replayed, even within its 30 s.
 */
export async function checkUserTotp(users: UserStore, user: string, code: string, nowMs: number): Promise<TotpCheck> {
  const totp = await users.getTotp(user);
  if (!totp?.confirmedAt) return { ok: false, reason: 'no_totp' };
  const step = matchTotpStep(totp.secretBase32, code, nowMs);
  if (step === undefined) return { ok: false, reason: 'wrong_code' };
  if (!(await users.useTotpStep(user, step))) return { ok: false, reason: 'reused_code' };
  return { ok: true, step };
}
