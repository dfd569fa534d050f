import {
  CloseCode,
  closeReason,
  DATA_FRAME_MAX_BYTES,
  err,
  ok,
  runInSession,
  SESSION_ID_PARAM,
  TicketVerifier,
  TlsPinMismatchError,
  WS_PATHS,
  type Result,
  type TicketClaims,
} from '@airlock/shared';
import { describeSshEnd, printable, webSocketSshStream } from '@airlock/shared/ssh';
import type { KeyPair } from '@microsoft/dev-tunnels-ssh';
import type { Agent as HttpsAgent } from 'node:https';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import type { AgentConfig } from './config.js';
import type { Connector } from './direct-tcpip.js';
import type { AgentOrgTrust, SessionTrust } from './org-trust.js';
import type { OsUser } from './os-user.js';
import type { RefusalReporter } from './refusal-reporter.js';
import { AgentSshSession } from './ssh-session.js';

export interface SessionHostOptions {
  config: AgentConfig;
  hostKey: KeyPair;
  user: OsUser;
  log: Logger;
  /** Tells the relay a dial was refused (over the control link). */
  refuse: (sessionId: string, reason: string) => void;
  /** Tells the relay about channels and forwards refused inside a session (rate limited). */
  refusals: RefusalReporter;
  /** Pinned to the relay's TLS key, like the control link. */
  tlsAgent: HttpsAgent;
  connector?: Connector;
  now?: () => number;
  /** Told whenever a session starts or ends (the status file). */
  onSessionsChanged?: () => void;
  /** The organisation this agent pinned; without one every dial runs on the relay's word alone. */
  org?: AgentOrgTrust;
}

/** What the relay's dial message carries. */
export interface Dial {
  sessionId: string;
  ticket: string;
  userChain?: string[];
  crl?: string[];
}

interface HostedSession {
  ws: WebSocket;
  ssh?: AgentSshSession;
  user: string;
  since: string;
}

const DATA_SOCKET_OPEN_TIMEOUT_MS = 10_000;

/** Handles dial requests: verify the ticket, open the data socket, run the SSH server side. */
export class SessionHost {
  private readonly verifier: TicketVerifier;
  private readonly sessions = new Map<string, HostedSession>();
  private closing = false;

  constructor(private readonly opts: SessionHostOptions) {
    this.verifier = new TicketVerifier(opts.config.relayPublicKey, opts.now);
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /** The sessions open now: id, the user the ticket names, since when. */
  list(): { sid: string; user: string; since: string }[] {
    return [...this.sessions].map(([sid, s]) => ({ sid, user: s.user, since: s.since }));
  }

  private forget(sid: string): void {
    if (this.sessions.delete(sid)) this.opts.onSessionsChanged?.();
  }

  /**
   * Never throws; failures are logged with the session id and, for ticket problems, reported to
   * the relay. Everything the session does runs in its session context, so a bug anywhere in it
   * is reported with its `sid` and closes this session alone (see installProcessGuards).
   */
  handleDial(dial: Dial): void {
    const sid = dial.sessionId;
    runInSession({ sid, abort: (reason) => this.abort(sid, reason) }, () => {
      void this.dial(dial).catch((e: unknown) => {
        this.opts.log.error({ sid, err: (e as Error).message }, 'session failed');
        this.abort(sid, `session failed: ${(e as Error).message}`);
      });
    });
  }

  /** Ends one session after a bug in its handling; the relay audits the close reason. */
  private abort(sid: string, reason: string): void {
    const entry = this.sessions.get(sid);
    if (!entry) return;
    void closeDataSocket(entry.ws, CloseCode.internalError, reason);
    void entry.ssh?.close(reason);
  }

  private async dial({ sessionId: sid, ticket, userChain, crl }: Dial): Promise<void> {
    const { config, log: baseLog } = this.opts;
    const log = baseLog.child({ sid });
    if (this.closing) return;
    if (this.sessions.has(sid)) {
      log.warn('duplicate dial for a live session; ignored');
      return;
    }
    if (this.atSessionLimit(sid, log)) return;
    const verified = await this.verifier.verify(ticket, { vm: config.vmId, sessionId: sid });
    if (!verified.ok) {
      const reason = `ticket rejected (${verified.error.code}): ${verified.error.message}`.slice(0, 200);
      log.warn({ audit: 'dial-refused', code: verified.error.code }, reason);
      this.opts.refuse(sid, reason);
      return;
    }
    // Checked again: other dials may have taken the last places while this ticket was verified.
    if (this.atSessionLimit(sid, log)) return;
    const claims: TicketClaims = verified.value;
    // The ticket is the relay's authorization; who the user is, the organisation says (or nobody).
    const judged = await this.userTrust(claims, userChain, crl, log);
    if (!judged.ok) {
      this.opts.refuse(sid, judged.error.slice(0, 200));
      return;
    }
    const trust = judged.value;
    log.info(
      { audit: 'dial-accepted', user: claims.sub, ports: claims.ports, trust },
      'ticket verified; opening data socket',
    );

    const url = `${config.relayUrl}${WS_PATHS.agentSession}?${SESSION_ID_PARAM}=${encodeURIComponent(sid)}`;
    const ws = new WebSocket(url, {
      agent: this.opts.tlsAgent,
      headers: { Authorization: `Bearer ${config.credential}` },
      handshakeTimeout: DATA_SOCKET_OPEN_TIMEOUT_MS,
      maxPayload: DATA_FRAME_MAX_BYTES,
      perMessageDeflate: false,
    });
    // The adapter must listen before the socket opens, or the first SSH frames are lost.
    const stream = webSocketSshStream(ws);
    // The SSH server speaks only after the client's first frame. The relay holds what a side
    // sends before pairing, so this is a second safeguard, not a need: it keeps the agent from
    // talking into a socket that no client will ever join. NodeStream keeps the frame for the
    // handshake to read.
    const clientSpoke = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), config.authTimeoutMs);
      ws.once('message', () => {
        clearTimeout(t);
        resolve(true);
      });
      ws.once('close', () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    const startedAt = Date.now();
    const entry: HostedSession = { ws, user: claims.sub, since: new Date(startedAt).toISOString() };
    this.sessions.set(sid, entry);
    this.opts.onSessionsChanged?.();
    ws.once('close', (code, reason) => {
      this.forget(sid);
      this.opts.refusals.endSession(sid);
      log.info({ code, reason: reason.toString(), durationMs: Date.now() - startedAt }, 'session data socket closed');
      void entry.ssh?.close('data socket closed');
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
        log.error(
          { expected: e.expected, presented: e.actual },
          "could not open the session data socket: the relay's TLS key does not match the pinned key; nothing was sent",
        );
      else log.warn({ err: (e as Error).message }, 'could not open the session data socket');
      this.forget(sid);
      ws.terminate();
      return;
    }
    if (!(await clientSpoke)) {
      if (ws.readyState === WebSocket.OPEN) {
        log.warn({ timeoutMs: config.authTimeoutMs }, 'the client never joined the session; closing');
        ws.close(CloseCode.unpairedTimeout, 'the client did not join the session');
      }
      return;
    }
    if (this.closing) {
      ws.close(CloseCode.shuttingDown, 'agent shutting down');
      return;
    }

    const ssh = new AgentSshSession({
      sid,
      claims,
      hostKey: this.opts.hostKey,
      log,
      user: this.opts.user,
      shell: config.shell,
      sftpServerPath: config.sftpServerPath,
      allowedPorts: config.policy.allowedPorts,
      forwardConnectTimeoutMs: config.forwardConnectTimeoutMs,
      maxForwards: config.maxForwardsPerSession,
      authTimeoutMs: config.authTimeoutMs,
      connector: this.opts.connector,
      onRefused: (r) => {
        if (this.opts.refusals.report(sid, r) === 'link-down')
          log.warn({ channel: r.channel }, 'could not report the refused channel: control link is down');
      },
    });
    entry.ssh = ssh;
    // The close reason travels to the relay, which audits it for this session, and on to Connect.
    ssh.server.onClosed((e) => {
      const end = describeSshEnd(e);
      if (end.failure) log.warn({ audit: 'session-failed' }, `closing the session: ${end.text}`);
      void closeDataSocket(ws, end.failure ? CloseCode.protocolError : CloseCode.normal, end.text);
    });
    const started = await ssh.start(stream);
    if (started.ok) {
      log.debug('ssh handshake done');
      return;
    }
    // The client's bytes were not SSH: this session ends with the reason; nothing else is touched.
    const reason = `SSH handshake failed: ${printable(started.error.message)}`;
    log.warn({ audit: 'session-failed' }, `closing the session: ${reason}`);
    await closeDataSocket(ws, CloseCode.protocolError, reason);
    await ssh.close(reason);
  }

  /** The trust this dial runs under, or why it is refused (logged here, reported to the relay). */
  private async userTrust(
    claims: TicketClaims,
    userChain: string[] | undefined,
    crl: string[] | undefined,
    log: Logger,
  ): Promise<Result<SessionTrust, string>> {
    const org = this.opts.org;
    if (!org) return ok('relay-only');
    if (!userChain && this.opts.config.acceptRelayOnlyUsers) {
      if (crl) await org.crl.offer(crl);
      log.warn({ user: claims.sub }, 'admitting a user without a certificate chain (acceptRelayOnlyUsers)');
      return ok('relay-only');
    }
    const checked = await org.checkUser(claims, userChain, crl);
    if (checked.ok) return ok('org-root');
    const { code, message } = checked.error;
    const reason = `user certificate chain refused (${code}): ${message}`;
    log.warn({ audit: 'dial-refused', code, user: claims.sub }, reason);
    return err(reason);
  }

  private atSessionLimit(sid: string, log: Logger): boolean {
    const limit = this.opts.config.maxSessions;
    if (this.sessions.size < limit) return false;
    const reason = 'agent is at its session limit';
    log.warn({ audit: 'dial-refused', limit }, reason);
    this.opts.refuse(sid, reason);
    return true;
  }

  /** Ends every session: closes SSH (children get SIGHUP) and the data sockets. */
  async closeAll(): Promise<void> {
    this.closing = true;
    const all = [...this.sessions.values()];
    await Promise.all(
      all.map(async ({ ws, ssh }) => {
        await ssh?.close('agent shutting down');
        const closed = new Promise<void>((r) =>
          ws.readyState === WebSocket.CLOSED ? r() : ws.once('close', () => r()),
        );
        if (ws.readyState === WebSocket.OPEN) ws.close(CloseCode.shuttingDown, 'agent shutting down');
        else ws.terminate();
        const t = setTimeout(() => ws.terminate(), 1000);
        await closed;
        clearTimeout(t);
      }),
    );
    this.sessions.clear();
    this.opts.onSessionsChanged?.();
  }
}

/**
 * Closes a session's data socket with a code and reason the relay records, and resolves once it
 * is closed (or after a second, terminating it): the SSH layer must not tear the socket down
 * before the close frame is out.
 */
function closeDataSocket(ws: WebSocket, code: number, reason: string): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  if (ws.readyState === WebSocket.OPEN) ws.close(code, closeReason(reason));
  else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
  const t = setTimeout(() => ws.terminate(), 1000);
  return closed.finally(() => clearTimeout(t));
}
