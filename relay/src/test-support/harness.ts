/**
 * Helpers for the relay's tests: a real relay (HTTPS, in-memory SQLite store) on 127.0.0.1 with
 * enrolled users (device key + TOTP), VMs with agent credentials, and pinned TLS clients that
 * present the client certificate a login is bound to.
 */
import { TestClock } from '@airlock/shared/testing';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { WebSocket } from 'ws';
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import {
  API_PREFIX,
  SESSION_ID_PARAM,
  WS_PATHS,
  createPinnedDispatcher,
  createPinnedHttpsAgent,
  enrollSigningInput,
  generateRelaySigningKey,
  mintClientCertificate,
  parseOneTimeCode,
  signLogin,
  signStatement,
  sshPublicKeyBlob,
  type AdminScope,
  type MintedClientCertificate,
  type RelayToAgent,
  type SessionResponse,
} from '@airlock/shared';
import { createRelay, type Relay, type RelayOptions } from '../relay.js';
import type { RelayConfigInput } from '../config.js';
import { totpCodeAt } from '../identity/totp.js';
import { createRelayLogger } from '../logger.js';

export const TEST_VM = 'demo-vm';
export const OTHER_VM = 'other-vm';

export interface TestUser {
  name: string;
  privateKey: KeyObject;
  publicKeyPem: string;
  deviceId: string;
  totpSecret: string;
}

/** The relay's clock in tests: TOTP codes are single-use per 30 s step, so tests move time forward. */
export interface Harness {
  relay: Relay;
  clock: TestClock;
  alice: TestUser;
  /** Enrolled user with no grants. */
  bob: TestUser;
  credential: string;
  otherCredential: string;
  hostKey: string;
  close(): Promise<void>;
}

export type ClientCert = MintedClientCertificate;

const clocks = new WeakMap<Relay, TestClock>();
/** Which client certificate each access token was bound to at login, so `api` presents the right one. */
const certOfToken = new Map<string, ClientCert>();
const pinOfOrigin = new Map<string, string>();
const certOfSession = new Map<string, ClientCert>();

export function newHostKey(): string {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return sshPublicKeyBlob(publicKey).toString('base64');
}

export function newDeviceKey(): { privateKey: KeyObject; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** A TOTP code for a step no earlier use has burnt: the relay's clock moves on one step first. */
export function nextTotp(relay: Relay, user: Pick<TestUser, 'totpSecret'>): string {
  const clock = clocks.get(relay)!;
  clock.advance(30_000);
  return totpCodeAt(user.totpSecret, clock.nowMs());
}

/** Starts a relay on an ephemeral port: alice enrolled and granted demo-vm (22, 8888) and other-vm, bob enrolled with no grants. */
export async function startHarness(
  config: RelayConfigInput = {},
  extra: Omit<RelayOptions, 'config'> = {},
): Promise<Harness> {
  const clock = new TestClock();
  const relay = await createRelay({
    config: { port: 0, pingIntervalMs: 60_000, ...config },
    signingKey: generateRelaySigningKey(),
    logger: createRelayLogger(process.env.RELAY_TEST_LOG ? 'debug' : 'silent'),
    now: clock.nowMs,
    ...extra,
  });
  clocks.set(relay, clock);
  pinOfOrigin.set(new URL(relay.url).host, relay.tls.pin);
  const credential = await addVm(relay, TEST_VM, [22, 8888]);
  const otherCredential = await addVm(relay, OTHER_VM, [22]);
  const alice = await enrollUser(relay, 'alice');
  const bob = await enrollUser(relay, 'bob');
  await must(relay.admin.putGrant('test', { user: 'alice', vm: TEST_VM }));
  await must(relay.admin.putGrant('test', { user: 'alice', vm: OTHER_VM }));
  return { relay, clock, alice, bob, credential, otherCredential, hostKey: newHostKey(), close: () => relay.close() };
}

async function must<T>(p: Promise<{ ok: true; value: T } | { ok: false; error: { message: string } }>): Promise<T> {
  const r = await p;
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** Creates a VM and trades its one-time agent token for the long-term credential. */
export async function addVm(relay: Relay, id: string, ports: number[]): Promise<string> {
  const created = await must(relay.admin.createVm('test', id, ports));
  const token = parseOneTimeCode(created.agentEnrollment.token, 'agent');
  if (!token.ok) throw new Error(token.message);
  const exchanged = await relay.admin.exchangeAgentToken(token.value.secret);
  if (!exchanged.ok) throw new Error(exchanged.message);
  return exchanged.credential;
}

/** Creates a user and enrolls one device through the public API (begin → TOTP → complete). */
export async function enrollUser(relay: Relay, name: string): Promise<TestUser> {
  const created = await must(relay.admin.createUser('test', name));
  return enrollDevice(relay, name, created.enrollment.code);
}

export async function enrollDevice(relay: Relay, name: string, code: string, totpSecret?: string): Promise<TestUser> {
  const parsed = parseOneTimeCode(code, 'user');
  if (!parsed.ok) throw new Error(parsed.message);
  const key = newDeviceKey();
  const begin = await api<{ enrollmentId: string; totp: { secretBase32: string } | null }>(
    relay,
    'POST',
    '/enroll/begin',
    { body: { code: parsed.value.secret, publicKeyPem: key.publicKeyPem, deviceName: 'test device' } },
  );
  if (begin.status !== 200) throw new Error(`enroll begin failed: ${JSON.stringify(begin.body)}`);
  const secret = begin.body.totp?.secretBase32 ?? totpSecret;
  if (!secret) throw new Error('the user already has TOTP: pass its secret');
  const done = await api<{ deviceId: string }>(relay, 'POST', '/enroll/complete', {
    body: {
      enrollmentId: begin.body.enrollmentId,
      totp: nextTotp(relay, { totpSecret: secret }),
      signature: signStatement(key.privateKey, enrollSigningInput(begin.body.enrollmentId)),
    },
  });
  if (done.status !== 200) throw new Error(`enroll complete failed: ${JSON.stringify(done.body)}`);
  return { name, ...key, deviceId: done.body.deviceId, totpSecret: secret };
}

export function mintCert(): Promise<ClientCert> {
  return mintClientCertificate({ commonName: 'airlock-test', ttlSeconds: 3600 });
}

export interface ApiResult<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

const dispatchers = new Map<string, Dispatcher>();
function dispatcherFor(pin: string, cert: ClientCert | undefined): Dispatcher {
  const key = `${pin}|${cert?.thumbprint ?? ''}`;
  let d = dispatchers.get(key);
  if (!d) {
    d = createPinnedDispatcher({ pin, ...(cert ? { clientCert: cert } : {}) });
    dispatchers.set(key, d);
  }
  return d;
}

/**
 * One API call over pinned TLS. With `token`, the client certificate that token was bound to is
 * presented unless `cert` names another one (or `null`: none).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test bodies are inspected loosely
export async function api<T = any>(
  relay: Relay,
  method: string,
  path: string,
  opts: { body?: unknown; rawBody?: string; token?: string; contentType?: string; cert?: ClientCert | null } = {},
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined || opts.body !== undefined) {
    headers['content-type'] = opts.contentType ?? 'application/json';
    body = opts.rawBody ?? JSON.stringify(opts.body);
  }
  const cert = opts.cert === null ? undefined : (opts.cert ?? (opts.token ? certOfToken.get(opts.token) : undefined));
  const res = await undiciFetch(
    relay.url + (path.startsWith('/api') || path.startsWith('/healthz') ? path : API_PREFIX + path),
    {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(5000),
      dispatcher: dispatcherFor(relay.tls.pin, cert),
    },
  );
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  // A session's data socket must present the certificate its token was bound to: remember it.
  const sid = (parsed as { sessionId?: unknown } | null)?.sessionId;
  if (res.status === 200 && typeof sid === 'string' && cert) certOfSession.set(sid, cert);
  return { status: res.status, body: parsed as T, headers: res.headers as unknown as Headers };
}

/** A fresh challenge for `who`, signed with its device key, naming the certificate `certThumbprint` (no TOTP code yet). */
export async function signedLoginBody(
  relay: Relay,
  who: Pick<TestUser, 'name' | 'deviceId' | 'privateKey'>,
  certThumbprint: string,
): Promise<{ user: string; deviceId: string; nonce: string; certThumbprint: string; signature: string }> {
  const ch = await api<{ nonce: string }>(relay, 'POST', '/login/challenge', { body: { user: who.name } });
  const statement = { user: who.name, deviceId: who.deviceId, nonce: ch.body.nonce, certThumbprint };
  return { ...statement, signature: signLogin(who.privateKey, statement) };
}

/** Challenge → signature with the device key + a fresh TOTP code, over a new client certificate. */
export async function loginWith(
  relay: Relay,
  user: TestUser,
  over: { cert?: ClientCert; totp?: string } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- success or error body
): Promise<ApiResult<any> & { cert: ClientCert }> {
  const cert = over.cert ?? (await mintCert());
  const body = await signedLoginBody(relay, user, cert.thumbprint);
  const res = await api(relay, 'POST', '/login', { body: { ...body, totp: over.totp ?? nextTotp(relay, user) }, cert });
  if (res.status === 200) certOfToken.set(res.body.accessToken, cert);
  return { ...res, cert };
}

/** An admin API client with these scopes, and a bearer token for it from `POST /admin/token`. */
export async function adminToken(relay: Relay, scopes: AdminScope[]): Promise<string> {
  const c = await must(
    relay.admin.createClient('test', `client-${scopes.join('-')}-${randomUUID().slice(0, 8)}`, scopes),
  );
  const res = await api<{ access_token: string }>(relay, 'POST', '/admin/token', {
    body: { grant_type: 'client_credentials', client_id: c.client.clientId, client_secret: c.clientSecret },
  });
  if (res.status !== 200) throw new Error(`admin token failed: ${JSON.stringify(res.body)}`);
  return res.body.access_token;
}

export async function login(relay: Relay, user: TestUser): Promise<string> {
  const res = await loginWith(relay, user);
  if (res.status !== 200) throw new Error(`login failed: ${JSON.stringify(res.body)}`);
  return res.body.accessToken;
}

/** The client certificate a token from `login` is bound to. */
export function certOf(token: string): ClientCert | undefined {
  return certOfToken.get(token);
}

/** Polls until `check` returns true, failing after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly headerReason: string | undefined,
  ) {
    super(`upgrade refused ${status}: ${body}`);
  }
}

/** Opens a WebSocket over pinned TLS; rejects with UpgradeRefused when the relay answers with an HTTP status instead. */
export function openWs(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 5000,
  onCreated?: (ws: WebSocket) => void,
  cert?: ClientCert,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const pin = pinOfOrigin.get(new URL(url).host);
    if (!pin) return reject(new Error(`no relay pin known for ${url}`));
    const agent = createPinnedHttpsAgent({ pin, ...(cert ? { clientCert: cert } : {}) });
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, agent });
    // Messages can arrive together with the upgrade response, before 'open' resolves.
    onCreated?.(ws);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`WebSocket ${url} did not open within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        clearTimeout(timer);
        ws.terminate();
        reject(new UpgradeRefused(res.statusCode ?? 0, body.trim(), res.headers['x-airlock-reason'] as string));
      });
    });
    ws.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Resolves with the close code and reason of a socket. */
export function closed(ws: WebSocket, timeoutMs = 5000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket did not close within ${timeoutMs} ms`)), timeoutMs);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

/** A fake agent control link: registers, then records dial requests. */
export class FakeAgent {
  readonly dials: Array<{ sessionId: string; ticket: string }> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as RelayToAgent;
      if (msg.type === 'dial') this.dials.push({ sessionId: msg.sessionId, ticket: msg.ticket });
    });
  }

  static async connect(relay: Relay, credential: string, hostKey: string): Promise<FakeAgent> {
    const ws = await openWs(relay.wsUrl + WS_PATHS.agentControl, { authorization: `Bearer ${credential}` });
    const registered = new Promise<RelayToAgent>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString()) as RelayToAgent));
      ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason}`)));
    });
    ws.send(JSON.stringify({ type: 'register', hostKey, version: 'test' }));
    const reply = await registered;
    if (reply.type !== 'registered') throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
    return new FakeAgent(ws);
  }

  /** Opens the agent's data socket for a session. */
  openSession(relay: Relay, credential: string, sid: string, onCreated?: (ws: WebSocket) => void): Promise<WebSocket> {
    return openWs(
      `${relay.wsUrl}${WS_PATHS.agentSession}?${SESSION_ID_PARAM}=${sid}`,
      { authorization: `Bearer ${credential}` },
      5000,
      onCreated,
    );
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Connect's data socket for a session, presenting `cert` (default: the one the token of `startSession` used). */
export function openConnect(
  relay: Relay,
  sid: string,
  ticket: string | undefined,
  onCreated?: (ws: WebSocket) => void,
  cert?: ClientCert,
): Promise<WebSocket> {
  return openWs(
    `${relay.wsUrl}${WS_PATHS.connect}?${SESSION_ID_PARAM}=${sid}`,
    ticket === undefined ? {} : { authorization: `Bearer ${ticket}` },
    5000,
    onCreated,
    cert ?? certOfSession.get(sid),
  );
}

/** Logs alice in, connects the demo-vm agent and creates a session. */
export async function startSession(
  h: Harness,
): Promise<{ agent: FakeAgent; session: SessionResponse; token: string; cert: ClientCert }> {
  const agent = await FakeAgent.connect(h.relay, h.credential, h.hostKey);
  const token = await login(h.relay, h.alice);
  const res = await api<SessionResponse>(h.relay, 'POST', '/sessions', { token, body: { vm: TEST_VM } });
  if (res.status !== 200) throw new Error(`session failed: ${JSON.stringify(res.body)}`);
  const cert = certOfToken.get(token)!;
  certOfSession.set(res.body.sessionId, cert);
  await waitFor(() => agent.dials.some((d) => d.sessionId === res.body.sessionId), 'dial request');
  return { agent, session: res.body, token, cert };
}

/** A paired session between a fake agent and a Connect data socket. */
export async function pairedSession(h: Harness) {
  const s = await startSession(h);
  const agentWs = await s.agent.openSession(h.relay, h.credential, s.session.sessionId);
  const connectWs = await openConnect(h.relay, s.session.sessionId, s.session.ticket);
  await waitFor(() => h.relay.sessionStats(s.session.sessionId)?.state === 'paired', 'pairing');
  return { ...s, agentWs, connectWs };
}
