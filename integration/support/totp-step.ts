// Which authenticator code a test stand-in for a person types (askpass, the app's tests).

/** How long a code must stay acceptable after it is made: the request carrying it may be slow on a loaded machine. */
const TOTP_MARGIN_MS = 30_000;

/**
 * The earliest time step whose code the relay (±1 step) still accepts `TOTP_MARGIN_MS` from now.
 * The previous step's code is accepted only to the end of the current step — anywhere from 30 s
 * to nothing — so a code made late in a step could expire before the relay read it.
 */
export function firstUsableTotpStep(nowMs: number): number {
  // Step s is accepted until (s + 2) × 30 s.
  return Math.ceil((nowMs + TOTP_MARGIN_MS) / 30_000) - 2;
}
