import { CloseCode, isResumableClose, printableText, runInSession } from '@airlock/shared';
import { describeSshEnd } from '@airlock/shared/ssh';
import type { KeyPair } from '@microsoft/dev-tunnels-ssh';
import type { Agent as HttpsAgent } from 'node:https';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import type { AgentConfig } from './config.js';
import { closeDataSocket, openSessionDataSocket, type SessionDataSocket } from './data-socket.js';
import type { Connector } from './direct-tcpip.js';
import { DialAdmission } from './dial-admission.js';
import type { AgentOrgTrust } from './org-trust.js';
import type { OsUser } from './os-user.js';
import type { RefusalReporter } from './refusal-reporter.js';
import { HostedSessions, type HostedSession } from './hosted-sessions.js';
import { takeOverConnection } from './resume-takeover.js';
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
  /** A resume of a session this agent holds (its connection dropped), not a new one. */
  resume?: boolean;
}

/** Handles dial requests: verify the ticket, open the data socket, run the SSH server side; and resumes. */
export class SessionHost {
  private readonly admission: DialAdmission;
  private readonly sessions: HostedSessions;
  /** Dials past the limit check and not yet in `sessions`: each holds its place (and its id). */
  private readonly dialing = new Set<string>();
  /** Dials the relay ended while they were being checked, with its reason: they host nothing. */
  private readonly endedWhileDialing = new Map<string, string>();
  private closing = false;

  constructor(private readonly opts: SessionHostOptions) {
    this.admission = new DialAdmission(opts);
    this.sessions = new HostedSessions({
      resumeWindowMs: opts.config.resumeWindowMs,
      onForgotten: (sid) => opts.refusals.endSession(sid),
      ...(opts.onSessionsChanged ? { onSessionsChanged: opts.onSessionsChanged } : {}),
    });
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /** The sessions held now: id, the user the ticket names, since when, and whether it waits for a resume. */
  list(): ReturnType<HostedSessions['list']> {
    return this.sessions.list();
  }

  /**
   * Never throws; failures are logged with the session id and, for ticket problems, reported to
   * the relay. Everything the session does runs in its session context, so a bug anywhere in it
   * is reported with its `sid` and closes this session alone (see installProcessGuards).
   */
  handleDial(dial: Dial): void {
    const sid = dial.sessionId;
    runInSession({ sid, abort: (reason) => this.abort(sid, reason) }, () => {
      const work = dial.resume ? this.resume(dial) : this.dial(dial);
      void work.catch((e: unknown) => {
        const reason = `session failed: ${(e as Error).message}`;
        this.opts.log.error({ sid, err: (e as Error).message }, 'session failed');
        // Before the session had a data socket there is nothing to close: the relay (and the
        // user waiting on it) hears of the failure as a refused dial instead of a timeout.
        if (!this.sessions.has(sid)) this.opts.refuse(sid, reason.slice(0, 200));
        this.abort(sid, reason);
      });
    });
  }

  /** The relay ended a session (revocation, an admin's kill): connected or waiting for a resume. */
  end(sid: string, reason: string): void {
    if (this.dialing.has(sid)) this.endedWhileDialing.set(sid, reason);
    const entry = this.sessions.get(sid);
    if (!entry) return;
    entry.log.warn({ audit: 'session-ended-by-relay', reason }, `the relay ended the session: ${reason}`);
    void closeDataSocket(entry.ws, CloseCode.revoked, reason);
    void entry.ssh?.close(reason);
    this.sessions.forget(sid, entry);
  }

  /** Ends one session after a bug in its handling; the relay audits the close reason. */
  private abort(sid: string, reason: string): void {
    const entry = this.sessions.get(sid);
    if (!entry) return;
    void closeDataSocket(entry.ws, CloseCode.internalError, reason);
    void entry.ssh?.close(reason);
    this.sessions.forget(sid, entry);
  }

  private async dial({ sessionId: sid, ticket, userChain, crl }: Dial): Promise<void> {
    const log = this.opts.log.child({ sid });
    if (this.closing) return;
    if (this.sessions.has(sid) || this.dialing.has(sid)) {
      log.warn('duplicate dial for a live session; ignored');
      return;
    }
    // The place is taken before the first await: dials that arrive together cannot all pass the
    // limit while each verifies its ticket, nor two dials of one session both become it.
    if (this.admission.full(sid, this.sessions.size + this.dialing.size, log)) return;
    this.dialing.add(sid);
    try {
      await this.admitAndHost(sid, ticket, userChain, crl, log);
    } finally {
      this.dialing.delete(sid);
      this.endedWhileDialing.delete(sid);
    }
  }

  private async admitAndHost(
    sid: string,
    ticket: string,
    userChain: Dial['userChain'],
    crl: Dial['crl'],
    log: Logger,
  ): Promise<void> {
    const { config } = this.opts;
    const claims = await this.admission.ticket(ticket, sid, log);
    if (!claims) return;
    // The ticket is the relay's authorization; who the user is, the organisation says (or nobody).
    const trust = await this.admission.user(sid, claims, userChain, crl, log);
    if (!trust) return;
    log.info(
      { audit: 'dial-accepted', user: claims.sub, ports: claims.ports, trust },
      'ticket verified; opening data socket',
    );

    // The relay may have ended the session (a revocation) while its ticket was checked.
    const ended = () => this.endedWhileDialing.get(sid);
    if (ended()) return this.refuseEnded(sid, log, ended()!);
    const socket = await this.openSocket(sid, log);
    if (!socket) return;
    if (ended()) {
      await closeDataSocket(socket.ws, CloseCode.revoked, ended()!);
      return this.refuseEnded(sid, log, ended()!);
    }
    const { ws, stream } = socket;
    const startedAt = Date.now();
    const entry: HostedSession = { ws, user: claims.sub, since: new Date(startedAt).toISOString(), log };
    this.dialing.delete(sid);
    this.sessions.add(sid, entry);
    this.watchSocket(sid, entry, ws, startedAt);
    if (!(await this.clientJoined(socket, log))) return;

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
      maxUnacknowledgedBytes: config.maxUnacknowledgedMiB * 1024 * 1024,
      authTimeoutMs: config.authTimeoutMs,
      connector: this.opts.connector,
      onRefused: (r) => {
        if (this.opts.refusals.report(sid, r) === 'link-down')
          log.warn({ channel: r.channel }, 'could not report the refused channel: control link is down');
      },
      // A connection that went silent is dropped, not the session: it waits for a resume.
      onConnectionSilent: () => entry.ws.terminate(),
    });
    entry.ssh = ssh;
    // The close reason travels to the relay, which audits it for this session, and on to Connect.
    ssh.server.onClosed((e) => {
      const end = describeSshEnd(e);
      if (end.failure) log.warn({ audit: 'session-failed' }, `closing the session: ${end.text}`);
      void closeDataSocket(entry.ws, end.failure ? CloseCode.protocolError : CloseCode.normal, end.text);
      this.sessions.forget(sid, entry);
    });
    ssh.onResumed(() => this.sessions.resumed(entry));
    const started = await ssh.start(stream);
    if (started.ok) {
      log.debug('ssh handshake done');
      return;
    }
    // The client's bytes were not SSH: this session ends with the reason; nothing else is touched.
    const reason = `SSH handshake failed: ${printableText(started.error.message, 200)}`;
    log.warn({ audit: 'session-failed' }, `closing the session: ${reason}`);
    await closeDataSocket(ws, CloseCode.protocolError, reason);
    await ssh.close(reason);
  }

  /**
   * A resume: Connect lost its connection and asked the relay for the session again. The agent
   * joins only for a session it still holds, for the ticket's user; the SSH reconnect on the new
   * socket must then prove it is the same client (it needs the session's keys), or nothing moves.
   */
  private async resume({ sessionId: sid, ticket, userChain, crl }: Dial): Promise<void> {
    const log = this.opts.log.child({ sid });
    const entry = this.sessions.get(sid);
    if (this.closing) return;
    if (!entry?.ssh || entry.ssh.server.isClosed)
      return this.refuseResume(sid, log, 'this agent holds no such session: it ended, or the agent restarted since');
    const claims = await this.admission.ticket(ticket, sid, log);
    if (!claims) return;
    if (claims.sub !== entry.user) {
      const reason = 'resume refused: the ticket names another user than the session';
      log.warn({ audit: 'resume-refused', user: claims.sub, owner: entry.user }, reason);
      this.opts.refuse(sid, reason);
      return;
    }
    // Under an organisation root the user is judged again, as for a new session: a device or
    // user revoked in the newest list does not get its session back, whatever the relay says.
    if (!(await this.admission.user(sid, claims, userChain, crl, log))) return;
    // The session may have ended while the ticket was checked (its window ran out, the relay
    // ended it): nothing is opened for it then.
    const stillHeld = () => this.sessions.get(sid) === entry && !entry.ssh!.server.isClosed && !this.closing;
    if (!stillHeld()) return this.refuseResume(sid, log, 'the session ended while its resume was checked');
    log.info({ audit: 'resume-accepted', user: claims.sub }, 'resume ticket verified; opening a new data socket');
    const socket = await this.openSocket(sid, log);
    if (!socket) return;
    if (!stillHeld()) {
      await closeDataSocket(socket.ws, CloseCode.agentRefused, 'the session ended');
      return this.refuseResume(sid, log, 'the session ended while its resume connection was opened');
    }
    const ssh = entry.ssh;
    const old = entry.ws;
    entry.ws = socket.ws;
    // The old connection is history now; its close must not be taken for the session's.
    if (old.readyState !== WebSocket.CLOSED) old.terminate();
    if (!entry.suspended) this.sessions.suspend(sid, entry, 'a resume took over its connection');
    this.watchSocket(sid, entry, socket.ws, Date.now());
    if (!(await this.clientJoined(socket, log))) return;
    await takeOverConnection({
      ssh,
      socket,
      // Not once the session itself has ended (its window ran out, the agent stops): then the
      // resume connection's end is no resume failure of its own.
      stillPending: () =>
        this.sessions.get(sid) === entry && entry.ws === socket.ws && !!entry.suspended && !ssh.server.isClosed,
      timeoutMs: this.opts.config.authTimeoutMs,
      log,
    });
  }

  private refuseEnded(sid: string, log: Logger, reason: string): void {
    log.warn({ audit: 'dial-refused', reason }, `the relay ended the session while it was being opened: ${reason}`);
    this.opts.refuse(sid, `the relay ended the session: ${reason}`.slice(0, 200));
  }

  private refuseResume(sid: string, log: Logger, reason: string): void {
    log.warn({ audit: 'resume-refused' }, reason);
    this.opts.refuse(sid, reason);
  }

  private openSocket(sid: string, log: Logger) {
    const { config, tlsAgent } = this.opts;
    return openSessionDataSocket({
      relayUrl: config.relayUrl,
      credential: config.credential,
      tlsAgent,
      sid,
      clientTimeoutMs: config.authTimeoutMs,
      log,
    });
  }

  /** Waits for the client's first bytes; closes the socket if it never speaks (or the agent is stopping). */
  private async clientJoined(socket: SessionDataSocket, log: Logger): Promise<boolean> {
    const { ws } = socket;
    if (!(await socket.clientSpoke)) {
      if (ws.readyState === WebSocket.OPEN) {
        log.warn({ timeoutMs: this.opts.config.authTimeoutMs }, 'the client never joined the session; closing');
        ws.close(CloseCode.unpairedTimeout, 'the client did not join the session');
      }
      return false;
    }
    if (this.closing) {
      ws.close(CloseCode.shuttingDown, 'agent shutting down');
      return false;
    }
    return true;
  }

  /**
   * What the end of a data socket means: a connection that vanished (or that the relay lost the
   * other side of) suspends the session for the resume window; any other end ends it.
   */
  private watchSocket(sid: string, entry: HostedSession, ws: WebSocket, startedAt: number): void {
    ws.once('close', (code, buf) => {
      const reason = buf.toString();
      entry.log.info({ code, reason, durationMs: Date.now() - startedAt }, 'session data socket closed');
      if (entry.ws !== ws) return;
      const ssh = entry.ssh;
      if (ssh && !ssh.server.isClosed && !this.closing && isResumableClose(code)) {
        this.sessions.suspend(sid, entry, reason || `code ${code}`);
        return;
      }
      if (entry.suspended && !ssh?.server.isClosed) return; // a failed resume: still waiting for the next
      this.sessions.forget(sid, entry);
      void ssh?.close('data socket closed');
    });
  }

  /** Ends every session: closes SSH (children get SIGHUP) and the data sockets. */
  async closeAll(): Promise<void> {
    this.closing = true;
    await this.sessions.closeAll();
  }
}
