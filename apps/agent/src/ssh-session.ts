import type { SshServerSession } from '@microsoft/dev-tunnels-ssh';
import {
  SshAuthenticationType,
  SshChannelOpenFailureReason,
  SshDisconnectReason,
  type KeyPair,
  type Stream,
} from '@microsoft/dev-tunnels-ssh';
import { sshFingerprint, type Result } from '@airlock/shared';
import {
  createServerSession,
  limitUnacknowledged,
  MAX_UNACKNOWLEDGED_BYTES,
  ReceiptAcknowledger,
  releaseSession,
  startSshSession,
  type SshStartFailure,
} from '@airlock/shared/ssh';
import { ChannelAdmission, type ChannelPolicy } from './channel-admission.js';
import type { ChannelRefusal } from './refusal-reporter.js';

export interface SshSessionOptions extends ChannelPolicy {
  hostKey: KeyPair;
  authTimeoutMs: number;
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
  private readonly channels: ChannelAdmission;
  private authTimer: NodeJS.Timeout | undefined;
  /** Connect bounds what it keeps for resending too (see ReceiptAcknowledger). */
  private readonly acknowledger: ReceiptAcknowledger;
  readonly closed: Promise<void>;

  constructor(private readonly opts: SshSessionOptions) {
    const { log, claims } = opts;
    const server = createServerSession(this.reconnectable);
    this.server = server;
    server.credentials = { publicKeys: [opts.hostKey] };
    this.acknowledger = new ReceiptAcknowledger(server);
    this.channels = new ChannelAdmission({
      opts,
      acknowledger: this.acknowledger,
      refused: (r) => this.refused(r),
      windowIgnored: (type, unconsumed, window) => this.windowIgnored(type, unconsumed, window),
    });
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

    server.onChannelOpening((e) => this.channels.opening(e));

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
      this.channels.terminateAll();
      setImmediate(() => releaseSession(server));
    });
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
