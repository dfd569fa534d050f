import {
  SshAuthenticationType,
  SshChannelOpenFailureReason,
  SshDisconnectReason,
  SshServerSession,
  type KeyPair,
  type Stream,
} from '@microsoft/dev-tunnels-ssh';
import { sshFingerprint, type TicketClaims } from '@airlock/shared';
import { BULK_WINDOW_BYTES, createSshConfig, DirectTcpipOpenMessage } from '@airlock/shared/ssh';
import type { Logger } from 'pino';
import { checkForward, runForward, type Connector } from './direct-tcpip.js';
import type { OsUser } from './os-user.js';
import { SessionChannel } from './session-channel.js';
import { releaseSession } from './ssh-dispose.js';

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
}

/** Keep-alive failures in a row after which a silent client is given up. */
const KEEPALIVE_FAILURES_TO_CLOSE = 2;

/**
 * The SSH server side of one Airlock session over the agent's data socket: the user key named
 * in the verified ticket is the only credential accepted; channels follow the forward policy.
 */
export class AgentSshSession {
  readonly server: SshServerSession;
  private readonly channels = new Set<SessionChannel>();
  private authTimer: NodeJS.Timeout | undefined;
  readonly closed: Promise<void>;

  constructor(private readonly opts: SshSessionOptions) {
    const { log, claims } = opts;
    const server = new SshServerSession(createSshConfig());
    this.server = server;
    server.credentials = { publicKeys: [opts.hostKey] };

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
    });

    server.onChannelOpening((e) => {
      const type = e.request.channelType;
      if (type === 'session') {
        // Session channels may carry sftp: a large window keeps transfers fast through the relay.
        e.channel.maxWindowSize = BULK_WINDOW_BYTES;
        const sc = new SessionChannel(e.channel, { ...opts, log });
        this.channels.add(sc);
        e.channel.onClosed(() => this.channels.delete(sc));
        return;
      }
      if (type === 'direct-tcpip') {
        const m = e.request.convertTo(new DirectTcpipOpenMessage()) as DirectTcpipOpenMessage;
        const decision = checkForward(m.host, m.port, opts.allowedPorts, claims.ports);
        if (!decision.ok) {
          log.warn({ host: m.host, port: m.port }, `refused forward: ${decision.reason}`);
          e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
          e.failureDescription = decision.reason;
          return;
        }
        e.channel.maxWindowSize = BULK_WINDOW_BYTES;
        // Accepted now; the TCP connect happens in the background (never await in this handler).
        runForward(e.channel, m.port, {
          timeoutMs: opts.forwardConnectTimeoutMs,
          log: log.child({ channel: e.channel.channelId }),
          connector: opts.connector,
        });
        return;
      }
      log.warn({ channelType: type }, 'refused channel type');
      e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
      e.failureDescription = `channel type ${type} is not allowed`;
    });

    let keepAliveFailures = 0;
    server.onKeepAliveFailed(() => {
      if (++keepAliveFailures >= KEEPALIVE_FAILURES_TO_CLOSE) {
        log.warn('client stopped answering keep-alives; closing session');
        void this.close('keep-alive timeout');
      }
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

  /** Runs the handshake on the data stream; the session closes itself if not authenticated in time. */
  async connect(stream: Stream): Promise<void> {
    this.authTimer = setTimeout(() => {
      if (this.server.principal) return;
      this.opts.log.warn({ authTimeoutMs: this.opts.authTimeoutMs }, 'client did not authenticate in time; closing');
      void this.close('authentication timed out');
    }, this.opts.authTimeoutMs);
    await this.server.connect(stream);
  }

  async close(reason = 'closed by agent'): Promise<void> {
    clearTimeout(this.authTimer);
    if (!this.server.isClosed) await this.server.close(SshDisconnectReason.byApplication, reason).catch(() => {});
    releaseSession(this.server);
  }
}
