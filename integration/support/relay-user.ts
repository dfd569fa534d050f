// The tests' own client of the relay, as the logged-in user of a Connect home: its session file,
// pinned mutual-TLS API calls and data sockets — what a hostile or curious client can send, without
// going through Connect.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetch as undiciFetch } from 'undici';
import { WebSocket } from 'ws';
import type { Relay } from '@airlock/relay';
import {
  API_PREFIX,
  SESSION_ID_PARAM,
  WS_PATHS,
  createPinnedDispatcher,
  createPinnedHttpsAgent,
} from '@airlock/shared';

export interface ClientCert {
  certPem: string;
  keyPem: string;
}

export interface UserSession {
  accessToken: string;
  cert: ClientCert;
}

export interface ApiReply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests inspect bodies loosely
  body: any;
}

/** Connect's data socket for a session, presenting the client certificate of the login in `home` (or `cert`). */
export function dataSocket(
  relay: Relay,
  home: string,
  sid: string,
  ticket: string,
  cert?: ClientCert | null,
): WebSocket {
  const presented = cert === null ? undefined : (cert ?? readUserSession(home).cert);
  return new WebSocket(`${relay.wsUrl}${WS_PATHS.connect}?${SESSION_ID_PARAM}=${sid}`, {
    headers: { authorization: `Bearer ${ticket}` },
    agent: createPinnedHttpsAgent({ pin: relay.tls.pin, ...(presented ? { clientCert: presented } : {}) }),
  });
}

export function readUserSession(home: string): UserSession {
  const s = JSON.parse(readFileSync(join(home, 'session.json'), 'utf8')) as {
    accessToken: string;
    clientCertPem: string;
    clientKeyPem: string;
  };
  return { accessToken: s.accessToken, cert: { certPem: s.clientCertPem, keyPem: s.clientKeyPem } };
}

export async function relayApi(
  relay: Relay,
  session: UserSession,
  method: string,
  path: string,
  body?: unknown,
  as: { token?: string; cert?: ClientCert | null } = {},
): Promise<ApiReply> {
  const cert = as.cert === null ? undefined : (as.cert ?? session.cert);
  const res = await undiciFetch(`${relay.url}${API_PREFIX}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${as.token ?? session.accessToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    dispatcher: createPinnedDispatcher({ pin: relay.tls.pin, ...(cert ? { clientCert: cert } : {}) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}
