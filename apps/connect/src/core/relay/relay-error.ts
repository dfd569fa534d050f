import { ApiError, printableText } from '@airlock/shared';

/** Refusals the relay names with a code of their own, passed on as is. */
const PASSTHROUGH = [
  'unauthenticated',
  'token_expired',
  'revoked',
  'certificate_required',
  'certificate_mismatch',
  'login_failed',
  'totp_failed',
  /** A right code used a second time: not a guess, so the relay does not count it (wait for the next). */
  'totp_reused',
  'user_disabled',
  'enrollment_code_rejected',
  'vm_not_found',
  'vm_offline',
] as const;
type PassthroughCode = (typeof PASSTHROUGH)[number];

/** Why a relay call failed, typed so callers branch on `code` and show `message` to people. */
export type RelayError =
  | { code: 'bad_relay_url'; message: string }
  | { code: 'relay_unreachable'; url: string; message: string }
  /** The relay's TLS key is not the one pinned at enrollment: nothing was sent, and nothing may be. */
  | { code: 'relay_pin_mismatch'; url: string; expected: string; presented?: string; message: string }
  | { code: 'rate_limited'; retryAfterSeconds?: number; message: string }
  | { code: PassthroughCode; message: string }
  /** A wrong code or signature at enrollment; `voided`: the enrollment is gone and needs a new code. */
  | { code: 'enrollment_failed'; voided: boolean; message: string }
  | { code: 'bad_response'; url: string; message: string }
  | { code: 'http_error'; status: number; relayCode?: string; message: string };

/** The typed error for a relay's non-2xx answer: its own code where it names one, else the status. */
export function httpError(status: number, json: unknown, text: string, retryAfter: string | null): RelayError {
  const api = ApiError.safeParse(json);
  // What the relay (or a proxy in front of it) says is shown to people: one printable line, bounded.
  const said = api.success ? { code: api.data.error.code, message: printableText(api.data.error.message) } : undefined;
  if (status === 429) {
    const seconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : undefined;
    const message = said?.message ?? `the relay asks to slow down`;
    return { code: 'rate_limited', ...(seconds !== undefined ? { retryAfterSeconds: seconds } : {}), message };
  }
  if (said) {
    const { code, message } = said;
    if ((PASSTHROUGH as readonly string[]).includes(code)) return { code: code as PassthroughCode, message };
    if (code === 'enrollment_failed') return { code, voided: /\bvoid\b/i.test(message), message };
    if (code === 'enrollment_not_found') return { code: 'enrollment_failed', voided: true, message };
    return { code: 'http_error', status, relayCode: code, message };
  }
  const snippet = printableText(text, 200);
  if (status === 401)
    return { code: 'unauthenticated', message: snippet || 'the relay did not accept the access token' };
  return { code: 'http_error', status, message: snippet || `HTTP ${status}` };
}
