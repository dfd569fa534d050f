import type { z } from 'zod';
import type { Dispatcher, RequestInit, Response } from 'undici';
import {
  API_PREFIX,
  ApiError,
  ChallengeResponse,
  createPinnedDispatcher,
  loadUndici,
  describeZodError,
  EnrollBeginResponse,
  EnrollCompleteResponse,
  err,
  LoginResponse,
  ok,
  SessionResponse,
  VmListResponse,
  type EnrollBeginRequest,
  type EnrollCompleteRequest,
  type LoginRequest,
  type Result,
} from '@airlock/shared';
import { relayConnectFailure } from './relay-failure.js';
import { parseRelayUrl, type RelayEndpoint } from './relay-endpoint.js';

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

/** `fetch` from undici (it takes a `dispatcher`); tests may pass their own to watch requests. */
export type RelayFetch = (url: string, init: RequestInit & { dispatcher: Dispatcher }) => Promise<Response>;

export interface RelayClientOptions {
  endpoint: RelayEndpoint;
  /** Access token for the authenticated endpoints (needs `endpoint.clientCert`, the one it is bound to). */
  token?: string;
  /** Per-request timeout; a relay that does not answer in time counts as unreachable. */
  timeoutMs?: number;
  fetch?: RelayFetch;
}

/**
 * The relay's REST API (`<relayUrl>/api/v1`) over HTTPS, every connection pinned to the relay's
 * SPKI from the enrollment code (a mismatch fails before a byte of the request is written) and,
 * when logged in, presenting the client certificate the access token is bound to. Every response
 * is checked against the shared schemas. Call `close()` when done: it ends kept-alive connections.
 */
export class RelayClient {
  readonly relayUrl: string;
  private readonly endpoint: RelayEndpoint;
  private readonly urlError: string | undefined;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchImpl: RelayFetch;
  private dispatcher: Dispatcher | undefined;

  constructor(options: RelayClientOptions) {
    const parsed = parseRelayUrl(options.endpoint.url);
    this.relayUrl = parsed.ok ? parsed.value : options.endpoint.url;
    this.urlError = parsed.ok ? undefined : parsed.error.message;
    this.endpoint = options.endpoint;
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchImpl = options.fetch ?? ((url, init) => loadUndici().fetch(url, init));
  }

  enrollBegin(body: EnrollBeginRequest): Promise<Result<EnrollBeginResponse, RelayError>> {
    return this.call('POST', '/enroll/begin', EnrollBeginResponse, body);
  }

  enrollComplete(body: EnrollCompleteRequest): Promise<Result<EnrollCompleteResponse, RelayError>> {
    return this.call('POST', '/enroll/complete', EnrollCompleteResponse, body);
  }

  challenge(user: string): Promise<Result<ChallengeResponse, RelayError>> {
    return this.call('POST', '/login/challenge', ChallengeResponse, { user });
  }

  /** Must go through a client whose endpoint has the certificate `body.certThumbprint` names. */
  login(body: LoginRequest): Promise<Result<LoginResponse, RelayError>> {
    return this.call('POST', '/login', LoginResponse, body);
  }

  listVms(): Promise<Result<VmListResponse, RelayError>> {
    return this.call('GET', '/vms', VmListResponse);
  }

  createSession(vm: string): Promise<Result<SessionResponse, RelayError>> {
    return this.call('POST', '/sessions', SessionResponse, { vm });
  }

  async close(): Promise<void> {
    const d = this.dispatcher;
    this.dispatcher = undefined;
    await d?.destroy().catch(() => {});
  }

  private async call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<Result<z.infer<S>, RelayError>> {
    if (this.urlError) return err({ code: 'bad_relay_url', message: this.urlError });
    const url = `${this.relayUrl}${API_PREFIX}${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    this.dispatcher ??= createPinnedDispatcher(
      { pin: this.endpoint.pin, clientCert: this.endpoint.clientCert, timeoutMs: this.timeoutMs },
      { keepAliveTimeout: 4_000 },
    );
    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
        dispatcher: this.dispatcher,
      });
      text = await res.text();
    } catch (e) {
      return err(relayConnectFailure(this.relayUrl, e, this.timeoutMs));
    }
    const json = parseJson(text);
    if (!res.ok) return err(httpError(res.status, json, text, res.headers.get('retry-after')));
    if (json === undefined)
      return err({
        code: 'bad_response',
        url,
        message: `${method} ${url} returned ${res.status} with a body that is not JSON`,
      });
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      return err({
        code: 'bad_response',
        url,
        message: `${method} ${url} returned an unexpected body (${describeZodError(parsed.error)})`,
      });
    return ok(parsed.data);
  }
}

function httpError(status: number, json: unknown, text: string, retryAfter: string | null): RelayError {
  const api = ApiError.safeParse(json);
  if (status === 429) {
    const seconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : undefined;
    const message = api.success ? api.data.error.message : `the relay asks to slow down`;
    return { code: 'rate_limited', ...(seconds !== undefined ? { retryAfterSeconds: seconds } : {}), message };
  }
  if (api.success) {
    const { code, message } = api.data.error;
    if ((PASSTHROUGH as readonly string[]).includes(code)) return { code: code as PassthroughCode, message };
    if (code === 'enrollment_failed') return { code, voided: /\bvoid\b/i.test(message), message };
    if (code === 'enrollment_not_found') return { code: 'enrollment_failed', voided: true, message };
    return { code: 'http_error', status, relayCode: code, message };
  }
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  if (status === 401)
    return { code: 'unauthenticated', message: snippet || 'the relay did not accept the access token' };
  return { code: 'http_error', status, message: snippet || `HTTP ${status}` };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
