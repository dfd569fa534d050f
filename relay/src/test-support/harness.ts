/** Helpers for the relay's tests: a relay on 127.0.0.1 with a seeded directory, HTTP and WebSocket clients. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { WebSocket } from 'ws';
import {
  API_PREFIX,
  SESSION_ID_PARAM,
  WS_PATHS,
  generateRelaySigningKey,
  signLogin,
  sshPublicKeyBlob,
  type RelayToAgent,
  type SessionResponse,
} from '@airlock/shared';
import { createRelay, type Relay, type RelayOptions } from '../relay.js';
import type { RelayConfigInput } from '../config.js';
import { MemoryDirectory } from '../directory/document.js';
import { enrollVm } from '../directory/agent-credential.js';
import { createRelayLogger } from '../logger.js';

export const TEST_VM = 'demo-vm';
export const OTHER_VM = 'other-vm';

export interface TestUser {
  name: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

export interface Harness {
  relay: Relay;
  alice: TestUser;
  /** Registered user with no grants. */
  bob: TestUser;
  credential: string;
  otherCredential: string;
  hostKey: string;
  close(): Promise<void>;
}

export function newUser(name: string): TestUser {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { name, privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function newHostKey(): string {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return sshPublicKeyBlob(publicKey).toString('base64');
}

/** Starts a relay on an ephemeral port with alice granted demo-vm (ports 22, 8888) and bob granted nothing. */
export async function startHarness(
  config: RelayConfigInput = {},
  extra: Omit<RelayOptions, 'config'> = {},
): Promise<Harness> {
  const directory = new MemoryDirectory();
  const alice = newUser('alice');
  const bob = newUser('bob');
  await directory.addUser(alice);
  await directory.addUser(bob);
  const credential = await enrollVm(directory, TEST_VM, [22, 8888]);
  const otherCredential = await enrollVm(directory, OTHER_VM, [22]);
  await directory.grant({ user: 'alice', vm: TEST_VM });
  await directory.grant({ user: 'alice', vm: OTHER_VM });
  const relay = await createRelay({
    config: { port: 0, pingIntervalMs: 60_000, ...config },
    directory,
    signingKey: generateRelaySigningKey(),
    logger: createRelayLogger(process.env.RELAY_TEST_LOG ? 'debug' : 'silent'),
    ...extra,
  });
  return { relay, alice, bob, credential, otherCredential, hostKey: newHostKey(), close: () => relay.close() };
}

export interface ApiResult<T = unknown> {
  status: number;
  body: T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test bodies are inspected loosely
export async function api<T = any>(
  relay: Relay,
  method: string,
  path: string,
  opts: { body?: unknown; rawBody?: string; token?: string; contentType?: string } = {},
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined || opts.body !== undefined) {
    headers['content-type'] = opts.contentType ?? 'application/json';
    body = opts.rawBody ?? JSON.stringify(opts.body);
  }
  const res = await fetch(
    relay.url + (path.startsWith('/api') || path.startsWith('/healthz') ? path : API_PREFIX + path),
    {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(5000),
    },
  );
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed as T };
}

export async function login(relay: Relay, user: TestUser): Promise<string> {
  const ch = await api<{ nonce: string }>(relay, 'POST', '/login/challenge', { body: { user: user.name } });
  const signature = signLogin(user.privateKey, user.name, ch.body.nonce);
  const res = await api<{ accessToken: string }>(relay, 'POST', '/login', {
    body: { user: user.name, nonce: ch.body.nonce, signature },
  });
  if (res.status !== 200) throw new Error(`login failed: ${JSON.stringify(res.body)}`);
  return res.body.accessToken;
}

/** Polls until `check` returns true, failing after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
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

/** Opens a WebSocket; rejects with UpgradeRefused when the relay answers with an HTTP status instead. */
export function openWs(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 5000,
  onCreated?: (ws: WebSocket) => void,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
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

/** Resolves with the close code and reason of a socket (immediately if already closed with them recorded). */
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

export function openConnect(
  relay: Relay,
  sid: string,
  ticket: string | undefined,
  onCreated?: (ws: WebSocket) => void,
): Promise<WebSocket> {
  return openWs(
    `${relay.wsUrl}${WS_PATHS.connect}?${SESSION_ID_PARAM}=${sid}`,
    ticket === undefined ? {} : { authorization: `Bearer ${ticket}` },
    5000,
    onCreated,
  );
}

/** Logs alice in, connects the demo-vm agent and creates a session. */
export async function startSession(h: Harness): Promise<{ agent: FakeAgent; session: SessionResponse; token: string }> {
  const agent = await FakeAgent.connect(h.relay, h.credential, h.hostKey);
  const token = await login(h.relay, h.alice);
  const res = await api<SessionResponse>(h.relay, 'POST', '/sessions', { token, body: { vm: TEST_VM } });
  if (res.status !== 200) throw new Error(`session failed: ${JSON.stringify(res.body)}`);
  await waitFor(() => agent.dials.some((d) => d.sessionId === res.body.sessionId), 'dial request');
  return { agent, session: res.body, token };
}
