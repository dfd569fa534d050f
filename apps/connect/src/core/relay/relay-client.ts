import type * as z from 'zod';
import type { ResumeRequest } from '@airlock/shared';
import {
  API_PREFIX,
  ChallengeResponse,
  HealthResponse,
  ReadinessResponse,
  SelfExplainReport,
  createPinnedHttpsAgent,
  type PinnedHttpsAgent,
  describeZodError,
  EnrollBeginResponse,
  EnrollCompleteResponse,
  err,
  LoginResponse,
  ok,
  OrgInfoResponse,
  SessionResponse,
  type SessionRequest,
  VmListResponse,
  type EnrollBeginRequest,
  type EnrollCompleteRequest,
  type LoginRequest,
  type Result,
} from '@airlock/shared';
import { httpError, type RelayError } from './relay-error.js';
import { relayConnectFailure } from './relay-failure.js';
import { parseRelayUrl, type RelayEndpoint } from './relay-endpoint.js';
import { RelayAnswerTooLargeError, relayHttpsFetch, type RelayAnswer, type RelayFetch } from './relay-http.js';

export interface RelayClientOptions {
  endpoint: RelayEndpoint;
  /** Access token for the authenticated endpoints (needs `endpoint.clientCert`, the one it is bound to). */
  token?: string;
  /** Per-request timeout; a relay that does not answer in time counts as unreachable. */
  timeoutMs?: number;
  /** Tests pass their own (wrapping `relayHttpsFetch`) to watch or rewrite requests. */
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
  private agent: PinnedHttpsAgent | undefined;

  constructor(options: RelayClientOptions) {
    const parsed = parseRelayUrl(options.endpoint.url);
    this.relayUrl = parsed.ok ? parsed.value : options.endpoint.url;
    this.urlError = parsed.ok ? undefined : parsed.error.message;
    this.endpoint = options.endpoint;
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchImpl = options.fetch ?? relayHttpsFetch;
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

  /** With an organisation root, the user chain and Connect's newest revocation list go along for the agent. */
  createSession(vm: string, org?: Omit<SessionRequest, 'vm'>): Promise<Result<SessionResponse, RelayError>> {
    return this.call('POST', '/sessions', SessionResponse, { vm, ...org });
  }

  /** Asks for a session again after its connection dropped (`POST /sessions/:sid/resume`). */
  resumeSession(sessionId: string, body: ResumeRequest): Promise<Result<SessionResponse, RelayError>> {
    return this.call('POST', `/sessions/${encodeURIComponent(sessionId)}/resume`, SessionResponse, body);
  }

  /** The anchor and revocation list the relay serves (public; believed only as far as they verify). */
  orgInfo(): Promise<Result<OrgInfoResponse, RelayError>> {
    return this.call('GET', '/org', OrgInfoResponse);
  }

  /** The logged-in user's own "may I reach this VM (and port) now, and if not, why". */
  explain(vm: string, port?: number): Promise<Result<SelfExplainReport, RelayError>> {
    const query = new URLSearchParams({ vm, ...(port !== undefined ? { port: String(port) } : {}) });
    return this.call('GET', `/explain?${query.toString()}`, SelfExplainReport);
  }

  /** `GET /healthz`: the relay process answers, with its clock. No login needed. */
  health(): Promise<Result<HealthResponse, RelayError>> {
    return this.call('GET', '/healthz', HealthResponse);
  }

  /** `GET /readyz`: whether the relay can serve (503 with the same document when it cannot). */
  readiness(): Promise<Result<ReadinessResponse, RelayError>> {
    return this.call('GET', '/readyz', ReadinessResponse, undefined, [503]);
  }

  async close(): Promise<void> {
    this.agent?.destroy();
    this.agent = undefined;
  }

  /**
   * Hands this client's kept-alive connections to the caller, who must destroy them, and forgets
   * them (a later call opens new ones). A session's data socket goes out on the TLS connection its
   * ticket just came over: two round trips fewer (TCP and TLS) than a new connection.
   */
  handOverConnections(): PinnedHttpsAgent | undefined {
    const agent = this.agent;
    this.agent = undefined;
    return agent;
  }

  /**
   * `work`'s result, for callers that keep this client's connections on success (to hand them
   * over) and close them on a refusal: when `work` throws instead, they are closed here.
   */
  async closeIfThrows<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  private async call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    body?: unknown,
    /** Error statuses whose body is an answer in `schema` all the same. */
    answerStatuses: readonly number[] = [],
  ): Promise<Result<z.infer<S>, RelayError>> {
    if (this.urlError) return err({ code: 'bad_relay_url', message: this.urlError });
    const url = `${this.relayUrl}${API_PREFIX}${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    // Kept-alive connections are reused for this client's next calls; an idle one is closed after
    // 4 s, before the relay's own 5 s keep-alive timeout could close it under a request.
    this.agent ??= createPinnedHttpsAgent(
      { pin: this.endpoint.pin, clientCert: this.endpoint.clientCert, timeoutMs: this.timeoutMs },
      { keepAlive: true, timeout: 4_000 },
    );
    let res: RelayAnswer;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
        agent: this.agent,
      });
    } catch (e) {
      if (e instanceof RelayAnswerTooLargeError)
        return err({ code: 'bad_response', url, message: `${method} ${url}: ${e.message}` });
      return err(relayConnectFailure(this.relayUrl, e, this.timeoutMs));
    }
    const text = res.body;
    const json = parseJson(text);
    const retryAfter = res.headers['retry-after'];
    const answered = res.status >= 200 && res.status < 300;
    if (!answered && !(answerStatuses.includes(res.status) && schema.safeParse(json).success))
      return err(httpError(res.status, json, text, typeof retryAfter === 'string' ? retryAfter : null));
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

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
