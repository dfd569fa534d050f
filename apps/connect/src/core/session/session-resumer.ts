import { once } from 'node:events';
import { SshReconnectError, type SshClientSession } from '@microsoft/dev-tunnels-ssh';
import { CloseCode, DEFAULT_RESUME_WINDOW_SECONDS, sshFingerprint, type SessionRequest } from '@airlock/shared';
import type { RelayCredentials } from '../login/login.js';
import { RelayClient } from '../relay/relay-client.js';
import type { RelayFetch } from '../relay/relay-http.js';
import type { RelayError } from '../relay/relay-error.js';
import { openDataSocket, socketEndError, type DataSocket, type SocketEnd } from './data-socket.js';

/** What a session needs to be asked for again after its connection dropped. */
export interface ResumeOptions {
  /** The relay's resume token for the session (each resume hands out a new one). */
  resumeToken: string;
  /** The login to ask with, read at every attempt (a renewed login is used). */
  credentials: () => Promise<RelayCredentials | undefined>;
  /** How long after the drop to keep trying (default DEFAULT_RESUME_WINDOW_SECONDS). */
  windowMs?: number;
  /** With an organisation root: the login's user chain and revocation list, as for a new session. */
  sessionRequest?: (credentials: RelayCredentials) => Promise<Omit<SessionRequest, 'vm'> | undefined>;
  fetch?: RelayFetch;
}

export type ResumeAttempt =
  | { ok: true; socket: DataSocket }
  /** `final`: trying again cannot help (refused, the VM restarted, the session is gone). */
  | { ok: false; final: boolean; message: string };

/** Failures that a later attempt may get past: the relay or the agent is on its way back. */
const RETRYABLE: ReadonlySet<RelayError['code']> = new Set(['relay_unreachable', 'vm_offline', 'rate_limited']);
const RECONNECT_TIMEOUT_MS = 15_000;

export const resumeWindowMs = (o: ResumeOptions) => o.windowMs ?? DEFAULT_RESUME_WINDOW_SECONDS * 1000;

/**
 * One attempt at taking a dropped session up again: the relay is asked for it (same user, same
 * device, the session's resume token), a new data socket is opened with the new ticket, and the
 * SSH client reconnects over it — a new key exchange with the same host key, then the library's
 * reconnect request, which proves to the agent that we hold the session's keys; both sides then
 * send again what the other had not received.
 */
export class SessionResumer {
  constructor(
    private readonly sessionId: string,
    private readonly hostKeyFingerprint: string,
    private readonly options: ResumeOptions,
  ) {}

  get windowMs(): number {
    return resumeWindowMs(this.options);
  }

  async attempt(client: SshClientSession): Promise<ResumeAttempt> {
    const credentials = await this.options.credentials();
    if (!credentials) return { ok: false, final: true, message: 'you are logged out; log in and start a new session' };
    const relay = new RelayClient({
      endpoint: credentials.endpoint,
      token: credentials.token,
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
    });
    const asked = await relay.closeIfThrows(async () => {
      const org = await this.options.sessionRequest?.(credentials);
      return relay.resumeSession(this.sessionId, { resumeToken: this.options.resumeToken, ...org });
    });
    const connections = relay.handOverConnections();
    if (!asked.ok) {
      connections?.destroy();
      const e = asked.error;
      const retry = RETRYABLE.has(e.code) || (e.code === 'http_error' && e.status >= 500);
      return { ok: false, final: !retry, message: e.message };
    }
    const session = asked.value;
    // The relay's word is not needed here: the key exchange checks the key the VM presents
    // against the session's own. This only says early, and clearly, that the VM restarted.
    const now = sshFingerprint(Buffer.from(session.hostKey, 'base64'));
    if (now !== this.hostKeyFingerprint) {
      connections?.destroy();
      return {
        ok: false,
        final: true,
        message: `the VM restarted (its host key is now ${now}, not ${this.hostKeyFingerprint}); start a new session`,
      };
    }
    if (session.resumeToken) this.options.resumeToken = session.resumeToken;
    const socket = openDataSocket({
      endpoint: credentials.endpoint,
      sessionId: this.sessionId,
      ticket: session.ticket,
      handshakeTimeoutMs: RECONNECT_TIMEOUT_MS,
      connections,
    });
    const opened = await Promise.race([
      once(socket.ws, 'open').then(
        () => true,
        () => false,
      ),
      socket.ended.then(() => false),
    ]);
    if (!opened) return failed(await socket.explainFailure('the new data connection did not open'));
    const timer = setTimeout(() => socket.ws.terminate(), RECONNECT_TIMEOUT_MS);
    try {
      await client.reconnect(socket.stream);
      return { ok: true, socket };
    } catch (e) {
      socket.ws.terminate();
      const end = await socket.endWithin(500);
      if (end && refusedByAgent(end)) return failed(socketEndError(this.sessionId, end, ''));
      // The agent answered and said no: not this session, or not these keys. Final.
      if (e instanceof SshReconnectError) return { ok: false, final: true, message: `the VM refused: ${e.message}` };
      return { ok: false, final: false, message: `the new connection failed: ${(e as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }
}

function refusedByAgent(end: SocketEnd): boolean {
  return end.kind === 'closed' && (end.code === CloseCode.agentRefused || end.code === CloseCode.revoked);
}

function failed(e: { code: string; message: string }): ResumeAttempt {
  const final = e.code === 'agent_refused' || e.code === 'revoked' || e.code === 'ticket_rejected';
  return { ok: false, final, message: e.message };
}
