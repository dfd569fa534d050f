import type { MintedClientCertificate } from '@airlock/shared';
import type { ConfigStore, Enrollment } from '../identity/config-store.js';
import type { UserKey } from '../identity/user-key-store.js';
import type { RelayFetch } from '../relay/relay-http.js';
import { login, mintLoginCertificate, type LoginResult } from './login.js';

export const TOTP_STEP_SECONDS = 30;

/** Seconds until the authenticator shows its next code (+1 for clocks a little behind). */
export function secondsToNextTotpStep(now = Date.now()): number {
  return TOTP_STEP_SECONDS - (Math.floor(now / 1000) % TOTP_STEP_SECONDS) + 1;
}

/**
 * Codes the relay refused as already used. The relay accepts a code once; an askpass helper or a
 * person may send the same one again until the authenticator moves on, which can only fail again
 * — so a front end waits for the next code instead. A code is remembered for two steps (the relay
 * accepts ±1 step of skew).
 */
export class ReusedTotpCodes {
  private readonly codes = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  remember(code: string): void {
    this.codes.set(code, this.now() + 2 * TOTP_STEP_SECONDS * 1000);
  }

  has(code: string): boolean {
    const until = this.codes.get(code);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.codes.delete(code);
    return false;
  }
}

/**
 * One person logging in with an unlocked device key: the login certificate is minted once and
 * reused for every code they try (a wrong code is asked again with a fresh challenge).
 */
export class LoginAttempt {
  private constructor(
    private readonly enrollment: Enrollment,
    private readonly key: UserKey,
    private readonly store: ConfigStore,
    private readonly clientCert: MintedClientCertificate,
    readonly reused: ReusedTotpCodes,
    private readonly fetch: RelayFetch | undefined,
  ) {}

  static async start(options: {
    enrollment: Enrollment;
    key: UserKey;
    store: ConfigStore;
    reused?: ReusedTotpCodes;
    fetch?: RelayFetch;
  }): Promise<LoginAttempt> {
    const cert = await mintLoginCertificate(options.enrollment.user);
    const reused = options.reused ?? new ReusedTotpCodes();
    return new LoginAttempt(options.enrollment, options.key, options.store, cert, reused, options.fetch);
  }

  /** True when the relay already refused `totp` as used: sending it again could only fail. */
  isKnownReused(totp: string): boolean {
    return this.reused.has(totp);
  }

  /** Challenge, sign, log in with `totp`; saves the session on success. */
  async submit(totp: string): Promise<LoginResult> {
    const res = await login({
      enrollment: this.enrollment,
      key: this.key,
      totp,
      store: this.store,
      clientCert: this.clientCert,
      fetch: this.fetch,
    });
    if (!res.ok && res.error.code === 'totp_reused') this.reused.remember(totp);
    return res;
  }
}
