import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import { CloseCode, runInSession, SESSION_ID_PARAM, SessionId, WS_PATHS, type TicketVerifier } from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import { bearerToken } from '../control/require-access-token.js';
import { connectionThumbprint, sourceAddress, sourceNetwork } from '../control/request-source.js';
import { authenticateAgent } from '../identity/agent-auth.js';
import type { RequestRateLimiter } from '../identity/rate-limiter.js';
import type { RelayStore } from '../store/types.js';
import { refuseUpgrade } from './http-refusal.js';
import type { SessionPairer, Side } from './session-pairer.js';

export interface UpgradeDeps {
  wss: WebSocketServer;
  store: RelayStore;
  audit: AuditRecorder;
  tickets: TicketVerifier;
  pairer: SessionPairer;
  logger: Logger;
  onAgentControl(ws: WebSocket, agent: { vm: string; credentialId: string; source: string }): void;
  /**
   * Refused upgrades per source address and window. Past it, a source's upgrades are refused at
   * once, before any lookup, and no longer audited one by one: anonymous junk must not be able
   * to grow the audit chain or load the loop that carries live sessions.
   */
  refusals: RequestRateLimiter;
  /** Every socket the relay accepts, so shutdown can close it. */
  track(ws: WebSocket): void;
  /** Told of every refusal, audited or not (metrics). */
  onRefused?(endpoint: UpgradeEndpoint, status: number): void;
}

export type UpgradeEndpoint = 'agent_control' | 'agent_session' | 'connect' | 'other';
const ENDPOINTS: Record<string, UpgradeEndpoint> = {
  [WS_PATHS.agentControl]: 'agent_control',
  [WS_PATHS.agentSession]: 'agent_session',
  [WS_PATHS.connect]: 'connect',
};

class Refusal {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {}
}

/**
 * Routes `upgrade` requests. Every check (credential, session, ticket) runs before the
 * WebSocket handshake completes; a refusal is a plain HTTP status with a one-line reason.
 * Logs carry the path and session id only — never the query string or headers.
 */
export function createUpgradeHandler(deps: UpgradeDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const agentAuth = async (req: IncomingMessage): Promise<{ vm: string; credentialId: string }> => {
    const credential = bearerToken(req.headers.authorization);
    if (!credential) throw new Refusal(401, 'missing agent credential: send "Authorization: Bearer <vmId>.<secret>"');
    const agent = await authenticateAgent(deps.store.agentCredentials, credential);
    if (!agent) throw new Refusal(401, 'agent credential rejected: unknown VM, wrong or revoked secret');
    return agent;
  };

  const sessionId = (url: URL): string => {
    const sid = url.searchParams.get(SESSION_ID_PARAM);
    if (!sid) throw new Refusal(400, `missing ?${SESSION_ID_PARAM}=<session id>`);
    if (!SessionId.safeParse(sid).success) throw new Refusal(400, `${SESSION_ID_PARAM}: must be a UUID`);
    return sid;
  };

  const join = (
    side: Side,
    sid: string,
    vm: string | undefined,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ) => {
    // Checked again right before the handshake: the awaits above may have let another socket in.
    const check = deps.pairer.canAttach(side, sid, vm);
    if (!check.ok) throw new Refusal(check.status, check.reason);
    const abort = (reason: string) => deps.pairer.terminate(sid, CloseCode.internalError, reason);
    deps.wss.handleUpgrade(req, socket, head, (ws) =>
      runInSession({ sid, abort }, () => {
        deps.track(ws);
        deps.pairer.attach(side, sid, ws);
      }),
    );
  };

  const route = async (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> => {
    switch (url.pathname) {
      case WS_PATHS.agentControl: {
        const agent = await agentAuth(req);
        deps.wss.handleUpgrade(req, socket, head, (ws) => {
          deps.track(ws);
          deps.onAgentControl(ws, { ...agent, source: sourceAddress(req) });
        });
        return;
      }
      case WS_PATHS.agentSession: {
        const { vm } = await agentAuth(req);
        const sid = sessionId(url);
        return join('agent', sid, vm, req, socket, head);
      }
      case WS_PATHS.connect: {
        const sid = sessionId(url);
        const session = deps.pairer.describe(sid);
        if (!session)
          throw new Refusal(404, `no pending session ${sid}; it expired or never existed — start a new one`);
        const ticket = bearerToken(req.headers.authorization);
        if (!ticket) throw new Refusal(401, 'missing session ticket: send "Authorization: Bearer <ticket>"');
        const r = await deps.tickets.verify(ticket, { vm: session.vm, sessionId: sid });
        if (!r.ok) throw new Refusal(401, `ticket rejected: ${r.error.message}`);
        if (r.value.sub !== session.user) throw new Refusal(401, 'ticket rejected: ticket is for another user');
        // The ticket alone is not enough: the data socket must come from the client certificate
        // the user's access token is bound to.
        if (session.certThumbprint && connectionThumbprint(req) !== session.certThumbprint)
          throw new Refusal(401, 'this session must be joined with the client certificate it was opened with');
        return join('connect', sid, undefined, req, socket, head);
      }
      default:
        throw new Refusal(404, `no WebSocket endpoint at ${url.pathname}`);
    }
  };

  return (req, socket, head) => {
    socket.on('error', () => {}); // a client vanishing mid-check is not an error of ours
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://relay.invalid');
    } catch {
      deps.onRefused?.('other', 400);
      return refuseUpgrade(socket, 400, 'malformed request URL');
    }
    const sid = url.searchParams.get(SESSION_ID_PARAM)?.slice(0, 64);
    const source = sourceAddress(req);
    const endpoint = ENDPOINTS[url.pathname] ?? 'other';
    const budget = deps.refusals.peek(sourceNetwork(source));
    // Only a source's own refusals close the door: the count that addresses beyond a full table
    // share (an attack from very many) must not shut agents and sessions from new addresses out.
    if (!budget.allowed && !budget.shared) {
      deps.onRefused?.(endpoint, 429);
      return refuseUpgrade(
        socket,
        429,
        `too many refused connections from your address; try again in ${budget.retryAfterSeconds} s`,
      );
    }
    route(req, socket, head, url).catch((error: unknown) => {
      if (error instanceof Refusal) {
        deps.onRefused?.(endpoint, error.status);
        deps.logger.info({ path: url.pathname, sid, status: error.status, reason: error.reason }, 'upgrade refused');
        const budget = deps.refusals.take(sourceNetwork(source));
        if (!budget.allowed) {
          deps.logger.warn(
            { source, shared: budget.shared ?? false },
            budget.shared
              ? 'refused-upgrade budget of addresses beyond the counted ones used up; their refusals are not audited'
              : 'refused-upgrade budget used up; further refusals from this source are not audited',
          );
          return refuseUpgrade(socket, error.status, error.reason);
        }
        void deps.audit.record({
          type: url.pathname.startsWith(WS_PATHS.agentControl) ? 'agent.refused' : 'session.join_refused',
          actor: 'anonymous',
          outcome: 'failure',
          ...(sid && SessionId.safeParse(sid).success ? { sid } : {}),
          source,
          data: { path: url.pathname, status: error.status, reason: error.reason },
        });
        return refuseUpgrade(socket, error.status, error.reason);
      }
      deps.logger.error({ path: url.pathname, sid, error: (error as Error).message }, 'upgrade failed');
      refuseUpgrade(socket, 500, 'internal error in the relay; see the relay log');
    });
  };
}
