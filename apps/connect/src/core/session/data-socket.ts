import type { IncomingMessage } from 'node:http';
import type { Stream } from '@microsoft/dev-tunnels-ssh';
import { WebSocket } from 'ws';
import {
  CloseCode,
  closeReason,
  createPinnedHttpsAgent,
  DATA_FRAME_MAX_BYTES,
  type PinnedHttpsAgent,
  SESSION_ID_PARAM,
  WS_PATHS,
} from '@airlock/shared';
import { webSocketSshStream, zeroMask } from '@airlock/shared/ssh';
import type { RelayError } from '../relay/relay-error.js';
import type { RelayEndpoint } from '../relay/relay-endpoint.js';
import { findPinMismatch, pinMismatchError } from '../relay/relay-failure.js';
import type { VmSessionError } from './types.js';

/** The data-plane URL for a session: the ticket goes in a header, never here. */
export function dataSocketUrl(relayUrl: string, sessionId: string): string {
  const url = new URL(relayUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = url.pathname.replace(/\/+$/, '') + WS_PATHS.connect;
  url.search = `?${SESSION_ID_PARAM}=${encodeURIComponent(sessionId)}`;
  return url.toString();
}

/** How a data socket ended: refused over HTTP, closed with a code, failed, or met the wrong relay. */
export type SocketEnd =
  | { kind: 'refused'; status: number; reason: string }
  | { kind: 'closed'; code: number; reason: string }
  | { kind: 'error'; message: string }
  | { kind: 'pin-mismatch'; error: Extract<RelayError, { code: 'relay_pin_mismatch' }> };

/** A session's data WebSocket through the relay: the SSH byte stream over it, and how it ended. */
export interface DataSocket {
  readonly url: string;
  readonly ws: WebSocket;
  /** The SSH stream over the socket; writes after the socket closed are dropped. */
  readonly stream: Stream;
  /** Resolves once the socket has ended, with how. */
  readonly ended: Promise<SocketEnd>;
  /** How the socket ended; undefined while it has not. */
  readonly end: SocketEnd | undefined;
  /** How the socket ended, waiting up to `ms` for it; undefined if it is still up then. */
  endWithin(ms: number): Promise<SocketEnd | undefined>;
  /** After the SSH layer failed: the socket's end usually says why (relay or agent refusal). */
  explainFailure(sshMessage: string): Promise<VmSessionError>;
}

/**
 * Opens the data WebSocket for a session, the ticket in the Authorization header, over a TLS
 * connection pinned to the relay's key and presenting the login's client certificate (the relay
 * refuses a ticket from any other); does not wait for 'open'.
 */
export function openDataSocket(options: {
  endpoint: RelayEndpoint;
  sessionId: string;
  ticket: string;
  handshakeTimeoutMs: number;
  /**
   * The relay client's kept-alive connections (`RelayClient.handOverConnections`), pinned and with
   * the same certificate: the upgrade goes out on the one the ticket came over. Owned from here on.
   * It was answering a moment ago, well inside the relay's keep-alive time; a relay that closes it
   * now is stopping, and would refuse a new connection as well.
   */
  connections?: PinnedHttpsAgent | undefined;
}): DataSocket {
  const { sessionId, endpoint } = options;
  const url = dataSocketUrl(endpoint.url, sessionId);
  const agent =
    options.connections ??
    createPinnedHttpsAgent({
      pin: endpoint.pin,
      clientCert: endpoint.clientCert,
      timeoutMs: options.handshakeTimeoutMs,
    });
  const ws = new WebSocket(url, {
    agent,
    headers: { authorization: `Bearer ${options.ticket}` },
    handshakeTimeout: options.handshakeTimeoutMs,
    perMessageDeflate: false,
    maxPayload: DATA_FRAME_MAX_BYTES,
    generateMask: zeroMask,
  });
  // Before awaiting 'open' (docs/dev-tunnels-ssh.md, trap 7).
  const stream = quietAfterClose(
    webSocketSshStream(ws),
    () => ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING,
  );

  let end: SocketEnd | undefined;
  const ended = new Promise<SocketEnd>((resolve) => {
    const settle = (e: SocketEnd) => {
      end ??= e;
      resolve(end);
    };
    ws.on('unexpected-response', (req, res: IncomingMessage) => {
      readRefusal(res).then((reason) => {
        settle({ kind: 'refused', status: res.statusCode ?? 0, reason });
        req.destroy();
      });
    });
    ws.on('close', (code, reason) => settle({ kind: 'closed', code, reason: reason.toString('utf8') }));
    ws.on('error', (e) => {
      const mismatch = findPinMismatch(e);
      if (mismatch) settle({ kind: 'pin-mismatch', error: pinMismatchError(endpoint.url, mismatch) });
      else settle({ kind: 'error', message: e.message });
    });
  });
  // Node's agent turns TCP keep-alive on (after 1 s idle) for the connections it pools; kept on a
  // data socket, a network gap of some seconds could end it by probes and force a resume. A data
  // socket has its own liveness (pings, the SSH keep-alive), as before the hand-over.
  ws.once('upgrade', (res: IncomingMessage) => res.socket.setKeepAlive(false));
  // The upgraded socket is the WebSocket's own (Node takes it out of the agent before 'open');
  // whatever else the agent holds is idle and not needed.
  ws.once('open', () => agent.destroy());
  void ended.then(() => agent.destroy());

  const endWithin = async (ms: number): Promise<SocketEnd | undefined> =>
    end ?? (await Promise.race([ended, delay(ms).then(() => undefined)]));
  return {
    url,
    ws,
    stream,
    ended,
    get end() {
      return end;
    },
    endWithin,
    explainFailure: async (sshMessage) => socketEndError(sessionId, await endWithin(1000), sshMessage),
  };
}

/** Closes the data socket with a code and reason (the relay records them), terminating it after a second. */
export function closeWithReason(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === WebSocket.OPEN) ws.close(code, closeReason(reason));
  else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
  setTimeout(() => ws.terminate(), 1000).unref();
}

/** Maps how the data socket ended to a typed error, falling back to the SSH layer's message. */
export function socketEndError(sessionId: string, end: SocketEnd | undefined, fallback: string): VmSessionError {
  if (!end) return { code: 'session_closed', sessionId, message: `the session closed: ${fallback}` };
  if (end.kind === 'refused') {
    if (end.status === 401 || end.status === 403)
      return {
        code: 'ticket_rejected',
        sessionId,
        message: `the relay rejected the session ticket: ${end.reason || `HTTP ${end.status}`}`,
      };
    return {
      code: 'session_refused',
      sessionId,
      status: end.status,
      message: `the relay refused the data connection (HTTP ${end.status}): ${end.reason || 'no reason given'}`,
    };
  }
  if (end.kind === 'pin-mismatch') return end.error;
  if (end.kind === 'error')
    return { code: 'session_closed', sessionId, message: `the data connection failed: ${end.message}` };
  const reason = end.reason;
  switch (end.code) {
    case CloseCode.agentRefused:
      return {
        code: 'agent_refused',
        sessionId,
        reason,
        message: `the agent refused the session: ${reason || 'no reason given'}`,
      };
    case CloseCode.ticketRejected:
    case CloseCode.unauthorized:
      return {
        code: 'ticket_rejected',
        sessionId,
        message: `the relay rejected the session ticket: ${reason || 'no reason given'}`,
      };
    case CloseCode.unpairedTimeout:
      return {
        code: 'agent_unavailable',
        sessionId,
        message: `the VM's agent did not join the session in time${reason ? ` (${reason})` : ''}`,
      };
    case CloseCode.agentOffline:
      return {
        code: 'agent_unavailable',
        sessionId,
        message: `the VM's agent went offline${reason ? ` (${reason})` : ''}`,
      };
    case CloseCode.peerClosed:
      return {
        code: 'session_closed',
        sessionId,
        message: `the agent closed the session${reason ? `: ${reason}` : ''}`,
      };
    case CloseCode.revoked:
      return {
        code: 'revoked',
        sessionId,
        message: `the relay ended the session: ${reason || 'access was revoked'}`,
      };
    case CloseCode.shuttingDown:
      return { code: 'session_closed', sessionId, message: `the relay is shutting down${reason ? `: ${reason}` : ''}` };
    default:
      return {
        code: 'session_closed',
        sessionId,
        message: `the data connection closed (code ${end.code}${reason ? `: ${reason}` : ''}); ${fallback}`,
      };
  }
}

/** The reason an HTTP refusal gives: its body (first 300 characters) or the x-airlock-reason header. */
async function readRefusal(res: IncomingMessage): Promise<string> {
  const header = res.headers['x-airlock-reason'];
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      res.on('data', (c: Buffer) => {
        if (size < 1024) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => (clearTimeout(t), resolve()));
      res.on('error', () => (clearTimeout(t), resolve()));
    });
  } catch {
    // fall through with what we have
  }
  const body = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 300);
  return body || (typeof header === 'string' ? header : '');
}

/**
 * The SSH library starts writing its version line and only then reads; when the relay closes the
 * socket at once (agent refused, ticket rejected) that write fails in a promise nobody awaits,
 * which would crash the process. Writes after the socket closed are dropped instead — the read
 * side reports the closure, and the close code says why.
 */
function quietAfterClose(inner: Stream, isOpen: () => boolean): Stream {
  return {
    read: (count, cancellation) => inner.read(count, cancellation),
    write: (data, cancellation) =>
      isOpen()
        ? inner.write(data, cancellation).catch((e: unknown) => (isOpen() ? Promise.reject(e as Error) : undefined))
        : Promise.resolve(),
    close: (error, cancellation) => inner.close(error, cancellation),
    dispose: () => inner.dispose(),
    get closed() {
      return inner.closed;
    },
    get isDisposed() {
      return inner.isDisposed;
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
