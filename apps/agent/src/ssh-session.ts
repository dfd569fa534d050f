import type { SshServerSession } from '@microsoft/dev-tunnels-ssh';
import {
  SshAuthenticationType,
  SshChannelOpenFailureReason,
  SshDisconnectReason,
  type KeyPair,
  type SshChannelOpeningEventArgs,
  type Stream,
} from '@microsoft/dev-tunnels-ssh';
import { sshFingerprint, type Result, type TicketClaims } from '@airlock/shared';
import {
  BULK_WINDOW_BYTES,
  createServerSession,
  DirectTcpipOpenMessage,
  enforceReceiveWindow,
  limitUnacknowledged,
  MAX_UNACKNOWLEDGED_BYTES,
  ReceiptAcknowledger,
  startSshSession,
  type SshStartFailure,
} from '@airlock/shared/ssh';
import type { Logger } from 'pino';
import { checkForward, runForward, type Connector } from './direct-tcpip.js';
import type { OsUser } from './os-user.js';
import type { ChannelRefusal } from './refusal-reporter.js';
import { SessionChannel } from './session-channel.js';
import { releaseSession } from '@airlock/shared/ssh';

export interface SshSessionOptions {
  sid: string;
  claims: TicketClaims;
  hostKey: KeyPair;
  log: Logger;
  user: OsUser;
  shell: string;
  sftpServerPath: string;
  allowedPorts: number[];
  forwardConnectTimeoutMs: number;
  authTimeoutMs: number;
  connector?: Connector;
  /** Session channels (shells, commands, sftp) open at once (default 32); further opens are refused. */
  maxChannels?: number;
  /** Forwarded connections (direct-tcpip) open at once (default 1024); further opens are refused. */
  maxForwards?: number;
  /** Told of every refused channel open or forward request (the relay audits them). */
  onRefused?: (refusal: ChannelRefusal) => void;
  /**
   * The client stopped answering keep-alives: its connection is dead without having closed.
   * Default: close the session; the session host drops the connection instead, keeping the
   * session for a resume.
   */
  onConnectionSilent?: () => void;
  /** What the session may keep sent and unacknowledged before it ends (default MAX_UNACKNOWLEDGED_BYTES). */
  maxUnacknowledgedBytes?: number;
}

export const MAX_CHANNELS_PER_SESSION = 32;
export const DEFAULT_MAX_FORWARDS_PER_SESSION = 1024;
/**
 * How many of a session's open forwards get the bulk window (fast through a distant relay); the
 * rest get a small one. The window is what the client may send before the agent acknowledges,
 * i.e. what the agent may have to hold for a target that does not read: 1024 forwards can then
 * hold 16 × 16 MiB + 1008 × 256 KiB ≈ 0.5 GiB, as much as the 32 bulk channels of any kind a
 * session was limited to before (session channels, at most 32, add their own).
 */
export const BULK_FORWARDS_PER_SESSION = 16;
export const SMALL_FORWARD_WINDOW_BYTES = 256 * 1024;

/** Keep-alive failures in a row after which a silent client is given up. */
const KEEPALIVE_FAILURES_TO_CLOSE = 2;

/**
 * The SSH server side of one Airlock session over the agent's data socket: the user key named
 * in the verified ticket is the only credential accepted; channels follow the forward policy.
 */
export class AgentSshSession {
  readonly server: SshServerSession;
  /** This session alone: what a resume connection may take over (see createServerSession). */
  private readonly reconnectable: SshServerSession[] = [];
  private readonly channels = new Set<SessionChannel>();
  private sessionChannels = 0;
  private forwards = 0;
  private bulkForwards = 0;
  private readonly maxChannels: number;
  private readonly maxForwards: number;
  private authTimer: NodeJS.Timeout | undefined;
  /** Connect bounds what it keeps for resending too (see ReceiptAcknowledger). */
  private readonly acknowledger: ReceiptAcknowledger;
  readonly closed: Promise<void>;

  constructor(private readonly opts: SshSessionOptions) {
    const { log, claims } = opts;
    const server = createServerSession(this.reconnectable);
    this.server = server;
    this.maxChannels = opts.maxChannels ?? MAX_CHANNELS_PER_SESSION;
    this.maxForwards = opts.maxForwards ?? DEFAULT_MAX_FORWARDS_PER_SESSION;
    server.credentials = { publicKeys: [opts.hostKey] };
    this.acknowledger = new ReceiptAcknowledger(server);
    limitUnacknowledged(server, opts.maxUnacknowledgedBytes ?? MAX_UNACKNOWLEDGED_BYTES, (kept) =>
      this.unacknowledged(kept),
    );

    server.onAuthenticating((e) => {
      const type = e.authenticationType;
      if (type !== SshAuthenticationType.clientPublicKey && type !== SshAuthenticationType.clientPublicKeyQuery) {
        log.warn(
          { method: SshAuthenticationType[type] ?? type },
          'refused authentication method (only the ticket key)',
        );
        return;
      }
      const key = e.publicKey;
      if (!key) return;
      const query = type === SshAuthenticationType.clientPublicKeyQuery;
      e.authenticationPromise = (async () => {
        const bytes = await key.getPublicKeyBytes();
        const fp = bytes ? sshFingerprint(Buffer.from(bytes)) : '';
        if (fp !== claims.ukey) {
          log.warn(
            { keyFingerprint: fp, expected: claims.ukey, user: claims.sub },
            'refused client key: not the key in the ticket',
          );
          return null;
        }
        if (!query) log.info({ user: claims.sub, keyFingerprint: fp }, 'client authenticated');
        return { user: claims.sub, sid: opts.sid };
      })();
    });
    server.onClientAuthenticated(() => clearTimeout(this.authTimer));

    server.onRequest((e) => {
      log.warn({ request: e.requestType }, 'refused session request');
      e.isAuthorized = false;
      // Reverse forwards are forwards too; other global requests are not the audit's business.
      if (/forward/.test(e.requestType))
        this.refused({ channel: e.requestType, reason: 'reverse forwarding is not allowed' });
    });

    server.onChannelOpening((e) => {
      // Refused unless every check below passes: the library swallows a throwing handler and
      // would otherwise accept the channel (e.g. a direct-tcpip open too short to parse).
      e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
      e.failureDescription = 'channel open refused';
      try {
        this.onChannelOpening(e);
      } catch (err) {
        e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
        e.failureDescription = 'malformed channel open';
        log.warn(
          { channelType: e.request.channelType, err: (err as Error).message },
          'refused channel: malformed open request',
        );
        this.refused({ channel: String(e.request.channelType), reason: 'malformed channel open' });
      }
    });

    let keepAliveFailures = 0;
    server.onKeepAliveFailed(() => {
      if (++keepAliveFailures < KEEPALIVE_FAILURES_TO_CLOSE) return;
      keepAliveFailures = 0;
      if (opts.onConnectionSilent) {
        log.warn('client stopped answering keep-alives; dropping its connection (the session waits for a resume)');
        opts.onConnectionSilent();
        return;
      }
      log.warn('client stopped answering keep-alives; closing session');
      void this.close('keep-alive timeout');
    });
    server.onKeepAliveSucceeded(() => (keepAliveFailures = 0));

    this.closed = new Promise((resolve) => server.onClosed(() => resolve()));
    void this.closed.then(() => {
      clearTimeout(this.authTimer);
      for (const c of this.channels) c.terminate();
      this.channels.clear();
      setImmediate(() => releaseSession(server));
    });
  }

  private onChannelOpening(e: SshChannelOpeningEventArgs): void {
    const { log, claims } = this.opts;
    const type = e.request.channelType;
    // Before any handler that consumes the channel's data (see enforceReceiveWindow).
    enforceReceiveWindow(e.channel, (unconsumed, window) => this.windowIgnored(type ?? '(none)', unconsumed, window));
    this.acknowledger.watch(e.channel);
    if (type === 'session') {
      if (this.sessionChannels >= this.maxChannels)
        return this.refuseForLimit(
          e,
          `too many open session channels (shells, commands, sftp) on this session`,
          this.maxChannels,
        );
      // Session channels may carry sftp: a large window keeps transfers fast through the relay.
      e.channel.maxWindowSize = BULK_WINDOW_BYTES;
      const sc = new SessionChannel(e.channel, { ...this.opts, log, onRefused: (r) => this.refused(r) });
      this.channels.add(sc);
      this.sessionChannels++;
      this.accept(e, () => {
        this.sessionChannels--;
        this.channels.delete(sc);
      });
      return;
    }
    if (type === 'direct-tcpip') {
      const m = e.request.convertTo(new DirectTcpipOpenMessage()) as DirectTcpipOpenMessage;
      const decision = checkForward(m.host, m.port, this.opts.allowedPorts, claims.ports);
      if (!decision.ok) {
        log.warn({ host: m.host, port: m.port }, `refused forward: ${decision.reason}`);
        e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
        e.failureDescription = decision.reason;
        this.refused({ channel: type, target: `${m.host}:${m.port}`, reason: decision.reason });
        return;
      }
      if (this.forwards >= this.maxForwards)
        return this.refuseForLimit(e, 'too many forwarded connections open on this session', this.maxForwards, m);
      const bulk = this.bulkForwards < BULK_FORWARDS_PER_SESSION;
      e.channel.maxWindowSize = bulk ? BULK_WINDOW_BYTES : SMALL_FORWARD_WINDOW_BYTES;
      // Accepted now; the TCP connect happens in the background (never await in this handler).
      runForward(e.channel, m.port, {
        timeoutMs: this.opts.forwardConnectTimeoutMs,
        log: log.child({ channel: e.channel.channelId }),
        connector: this.opts.connector,
        bulk,
      });
      this.forwards++;
      if (bulk) this.bulkForwards++;
      this.accept(e, () => {
        this.forwards--;
        if (bulk) this.bulkForwards--;
      });
      return;
    }
    log.warn({ channelType: type }, 'refused channel type');
    e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
    const reason = `channel type ${type} is not allowed`;
    e.failureDescription = reason;
    this.refused({ channel: type ?? '(none)', reason });
  }

  /** A limit was hit: `resourceShortage` with the limit in the description (Connect shows it), logged and reported. */
  private refuseForLimit(
    e: SshChannelOpeningEventArgs,
    what: string,
    limit: number,
    target?: DirectTcpipOpenMessage,
  ): void {
    const type = e.request.channelType ?? '(none)';
    const reason = `${what} (limit ${limit})`;
    this.opts.log.warn({ channelType: type, limit }, `refused channel: ${reason}`);
    e.failureReason = SshChannelOpenFailureReason.resourceShortage;
    e.failureDescription = reason;
    this.refused({ channel: type, ...(target ? { target: `${target.host}:${target.port}` } : {}), reason });
  }

  /** The client sent more than a channel's window: it is broken or hostile, and the session ends. */
  private windowIgnored(channelType: string, unconsumed: number, window: number): void {
    const reason = 'the client ignored the channel window';
    this.opts.log.warn({ channelType, unconsumed, window }, `closing session: ${reason}`);
    this.refused({ channel: channelType, reason: `${reason} (${unconsumed} bytes unread, window ${window})` });
    void this.close(reason);
  }

  /**
   * The client keeps taking data without acknowledging it (session resume keeps all of it): it is
   * broken or hostile, and the session ends before it can fill the agent's memory.
   */
  private unacknowledged(kept: number): void {
    const reason = 'the client stopped acknowledging what it received';
    this.opts.log.warn({ unacknowledged: kept }, `closing session: ${reason}`);
    this.refused({ channel: '(session)', reason: `${reason} (${kept} bytes kept for resending)` });
    void this.close(reason);
  }

  /** Never lets a reporting problem change the refusal itself. */
  private refused(r: ChannelRefusal): void {
    try {
      this.opts.onRefused?.(r);
    } catch (err) {
      this.opts.log.error({ err: (err as Error).message }, 'could not report a channel refusal');
    }
  }

  /** Every check passed: clear the default refusal; `onClosed` (once) gives the channel's place back. */
  private accept(e: SshChannelOpeningEventArgs, onClosed: () => void): void {
    e.failureReason = SshChannelOpenFailureReason.none;
    e.failureDescription = null;
    let counted = true;
    e.channel.onClosed(() => {
      if (counted) onClosed();
      counted = false;
    });
  }

  /**
   * Runs the handshake on the data stream (never throws: a peer that does not speak SSH is a
   * failed result); the session closes itself if not authenticated in time.
   */
  start(stream: Stream): Promise<Result<void, SshStartFailure>> {
    this.authTimer = setTimeout(() => {
      if (this.server.principal) return;
      this.opts.log.warn({ authTimeoutMs: this.opts.authTimeoutMs }, 'client did not authenticate in time; closing');
      void this.close('authentication timed out');
    }, this.opts.authTimeoutMs);
    return startSshSession(this.server, stream);
  }

  /**
   * A server session for one resume of this session over a new connection: the client's SSH
   * reconnect request (which proves it holds this session's keys) moves the new connection into
   * this session, and the transport session is disposed. It authenticates nobody and opens
   * nothing itself.
   */
  resumeTransport(): SshServerSession {
    const t = createServerSession(this.reconnectable);
    t.credentials = { publicKeys: [this.opts.hostKey] };
    t.onAuthenticating((e) => {
      this.opts.log.warn(
        { method: SshAuthenticationType[e.authenticationType] ?? e.authenticationType },
        'refused authentication on a resume connection',
      );
    });
    t.onChannelOpening((e) => {
      e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
      e.failureDescription = 'a resume connection opens no channels';
    });
    return t;
  }

  /**
   * True while the SSH library moves a resume connection into this session: from its answer to
   * the client's reconnect request until it says the session resumed. The library keeps that in a
   * field its types do not declare (`reconnecting`); an update that renames it fails every resume
   * test, as each resume would then be taken for a failure.
   */
  get handingOver(): boolean {
    return (this.server as unknown as { reconnecting?: unknown }).reconnecting === true;
  }

  /** Told each time a resume connection took this session over, until disposed. */
  onResumed(listener: () => void): { dispose(): void } {
    return this.server.onReconnected(listener);
  }

  async close(reason = 'closed by agent'): Promise<void> {
    clearTimeout(this.authTimer);
    // A suspended (disconnected) session ignores close(): dispose below ends it and its channels.
    if (!this.server.isClosed) await this.server.close(SshDisconnectReason.byApplication, reason).catch(() => {});
    releaseSession(this.server);
  }
}
