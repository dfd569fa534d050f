import { closeReason, DATA_FRAME_MAX_BYTES, SESSION_ID_PARAM, TlsPinMismatchError, WS_PATHS } from '@airlock/shared';
import { webSocketSshStream, zeroMask } from '@airlock/shared/ssh';
import type { Stream } from '@microsoft/dev-tunnels-ssh';
import type { Agent as HttpsAgent } from 'node:https';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';

const DATA_SOCKET_OPEN_TIMEOUT_MS = 10_000;

export interface SessionDataSocket {
  ws: WebSocket;
  stream: Stream;
  /** Resolves true once the client's first bytes arrived through the relay, false if it never spoke. */
  clientSpoke: Promise<boolean>;
}

/**
 * Opens a session's data socket to the relay (pinned TLS, the agent credential) and resolves
 * once it is open; undefined (logged) when it cannot be opened. Used for a new session and for
 * each resume of one.
 */
export async function openSessionDataSocket(o: {
  relayUrl: string;
  credential: string;
  tlsAgent: HttpsAgent;
  sid: string;
  /** How long the client has to say something once the socket is open. */
  clientTimeoutMs: number;
  log: Logger;
}): Promise<SessionDataSocket | undefined> {
  const url = `${o.relayUrl}${WS_PATHS.agentSession}?${SESSION_ID_PARAM}=${encodeURIComponent(o.sid)}`;
  const ws = new WebSocket(url, {
    agent: o.tlsAgent,
    headers: { Authorization: `Bearer ${o.credential}` },
    handshakeTimeout: DATA_SOCKET_OPEN_TIMEOUT_MS,
    maxPayload: DATA_FRAME_MAX_BYTES,
    perMessageDeflate: false,
    generateMask: zeroMask,
  });
  // The adapter must listen before the socket opens, or the first SSH frames are lost.
  const stream = webSocketSshStream(ws);
  // The SSH server speaks only after the client's first frame. The relay holds what a side
  // sends before pairing, so this is a second safeguard, not a need: it keeps the agent from
  // talking into a socket that no client will ever join. NodeStream keeps the frame for the
  // handshake to read.
  const clientSpoke = new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), o.clientTimeoutMs);
    ws.once('message', () => {
      clearTimeout(t);
      resolve(true);
    });
    ws.once('close', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (req, res) => {
        res.resume();
        req.destroy();
        reject(new Error(`relay answered the data socket with HTTP ${res.statusCode}`));
      });
      ws.once('error', reject);
    });
  } catch (e) {
    if (e instanceof TlsPinMismatchError)
      o.log.error(
        { expected: e.expected, presented: e.actual },
        "could not open the session data socket: the relay's TLS key does not match the pinned key; nothing was sent",
      );
    else o.log.warn({ err: (e as Error).message }, 'could not open the session data socket');
    ws.terminate();
    return undefined;
  }
  return { ws, stream, clientSpoke };
}

/**
 * Closes a session's data socket with a code and reason the relay records, and resolves once it
 * is closed (or after a second, terminating it): the SSH layer must not tear the socket down
 * before the close frame is out.
 */
export function closeDataSocket(ws: WebSocket, code: number, reason: string): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  if (ws.readyState === WebSocket.OPEN) ws.close(code, closeReason(reason));
  else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
  const t = setTimeout(() => ws.terminate(), 1000);
  return closed.finally(() => clearTimeout(t));
}
