import type { z } from 'zod';
import {
  API_PREFIX,
  ApiError,
  ChallengeResponse,
  describeZodError,
  err,
  LoginResponse,
  ok,
  SessionResponse,
  VmListResponse,
  type Result,
} from '@airlock/shared';
import { normalizeRelayUrl } from './config-store.js';

/** Why a relay call failed, typed so callers branch on `code` and show `message` to people. */
export type RelayError =
  | { code: 'relay_unreachable'; url: string; message: string }
  | { code: 'unauthenticated'; message: string }
  | { code: 'token_expired'; message: string }
  | { code: 'login_failed'; message: string }
  | { code: 'vm_not_found'; message: string }
  | { code: 'vm_offline'; message: string }
  | { code: 'bad_response'; url: string; message: string }
  | { code: 'http_error'; status: number; relayCode?: string; message: string };

export interface RelayClientOptions {
  relayUrl: string;
  /** Access token for the authenticated endpoints. */
  token?: string;
  /** Per-request timeout; a relay that does not answer in time counts as unreachable. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const PASSTHROUGH_CODES = new Set(['unauthenticated', 'token_expired', 'login_failed', 'vm_not_found', 'vm_offline']);

/** The relay's REST API (`<relayUrl>/api/v1`), every response checked against the shared schemas. */
export class RelayClient {
  readonly relayUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: RelayClientOptions) {
    this.relayUrl = normalizeRelayUrl(options.relayUrl);
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  challenge(user: string): Promise<Result<ChallengeResponse, RelayError>> {
    return this.call('POST', '/login/challenge', ChallengeResponse, { user });
  }

  login(body: { user: string; nonce: string; signature: string }): Promise<Result<LoginResponse, RelayError>> {
    return this.call('POST', '/login', LoginResponse, body);
  }

  listVms(): Promise<Result<VmListResponse, RelayError>> {
    return this.call('GET', '/vms', VmListResponse);
  }

  createSession(vm: string): Promise<Result<SessionResponse, RelayError>> {
    return this.call('POST', '/sessions', SessionResponse, { vm });
  }

  private async call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<Result<z.infer<S>, RelayError>> {
    const url = `${this.relayUrl}${API_PREFIX}${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
      text = await res.text();
    } catch (e) {
      return err({
        code: 'relay_unreachable',
        url: this.relayUrl,
        message: unreachableMessage(this.relayUrl, e, this.timeoutMs),
      });
    }
    const json = parseJson(text);
    if (!res.ok) return err(httpError(res.status, json, text));
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

function httpError(status: number, json: unknown, text: string): RelayError {
  const api = ApiError.safeParse(json);
  if (api.success) {
    const { code, message } = api.data.error;
    if (PASSTHROUGH_CODES.has(code)) return { code, message } as RelayError;
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

/** Turns fetch's nested network errors into one line naming the relay and the cause. */
function unreachableMessage(relayUrl: string, e: unknown, timeoutMs: number): string {
  const error = e as Error & { cause?: { code?: string; message?: string } };
  if (error.name === 'TimeoutError' || error.name === 'AbortError')
    return `no answer from the relay at ${relayUrl} within ${Math.round(timeoutMs / 1000)} s`;
  const code = error.cause?.code;
  const cause =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host name not found'
        : code === 'ECONNRESET'
          ? 'connection reset'
          : code === 'ETIMEDOUT'
            ? 'connection timed out'
            : (error.cause?.message ?? error.message);
  return `cannot reach the relay at ${relayUrl}: ${cause}`;
}
