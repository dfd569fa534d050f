import type { SessionTrust } from './org-trust.js';
import { SshDisconnectReason, type SshChannel, type SshClientSession } from '@microsoft/dev-tunnels-ssh';
import { CloseCode, type Result, type SessionResponse } from '@airlock/shared';
import { describeSshEnd } from '@airlock/shared/ssh';
import { ChannelOpener } from './channel-opener.js';
import { closeWithReason, socketEndError, type DataSocket } from './data-socket.js';
import { sshProtocolError } from './ssh-handshake.js';
import type { Logger } from '../logger.js';
import type {
  ChannelError,
  ExecChannel,
  SessionClosedEvent,
  ShellChannel,
  ShellOptions,
  SubsystemChannel,
  VmSession,
} from './types.js';

/**
 * An established session: the authenticated SSH client over its data socket. Owns both, reports
 * once how the session ended, and leaves opening channels to a ChannelOpener.
 */
export class ConnectedVmSession implements VmSession {
  readonly sessionId: string;
  readonly vm: string;
  readonly ports: readonly number[];
  readonly hostKeyFingerprint: string;
  private closedEvent: SessionClosedEvent | undefined;
  private closing = false;
  private readonly listeners = new Set<(e: SessionClosedEvent) => void>();
  private readonly channels: ChannelOpener;

  constructor(
    session: SessionResponse,
    private readonly client: SshClientSession,
    private readonly socket: DataSocket,
    readonly log: Logger,
    readonly trust: SessionTrust = 'relay-only',
  ) {
    this.sessionId = session.sessionId;
    this.vm = session.vm;
    this.ports = [...session.ports];
    this.hostKeyFingerprint = session.hostKeyFingerprint;
    this.channels = new ChannelOpener(client, this, log, () => this.closedError());
    client.onClosed((e) => {
      const ssh = describeSshEnd(e);
      // The VM side broke the protocol (bad packet, MAC, message…): the library has closed the
      // SSH session; the data socket is closed with the reason, which the relay audits.
      if (ssh.failure && !this.closing) {
        log.warn({ reason: ssh.text }, 'closing the session: the VM side broke the SSH protocol');
        closeWithReason(socket.ws, CloseCode.protocolError, ssh.text);
      }
      // The socket's close code (if it comes) explains more than the SSH layer's message.
      void socket.endWithin(300).then((end) => {
        if (this.closing) return this.emitClosed({ sessionId: this.sessionId, reason: 'closed' });
        // After a protocol failure the socket's end is our own close: the failure is the news.
        const error = ssh.failure
          ? sshProtocolError(this.sessionId, this.vm, ssh.detail)
          : socketEndError(this.sessionId, end, e.message || 'SSH session closed');
        this.emitClosed({ sessionId: this.sessionId, reason: error.message, error });
      });
    });
    client.onKeepAliveFailed((count) => {
      log.warn({ count }, 'keep-alive failed');
      if (count >= 2) socket.ws.terminate();
    });
    void socket.ended.then((end) => {
      if (!this.closing) log.info({ end }, 'data socket ended');
      if (!client.isClosed) client.dispose();
    });
  }

  get isClosed(): boolean {
    return this.closing || this.client.isClosed;
  }

  onClosed(listener: (e: SessionClosedEvent) => void): () => void {
    if (this.closedEvent) {
      const e = this.closedEvent;
      queueMicrotask(() => listener(e));
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emitClosed(e: SessionClosedEvent): void {
    if (this.closedEvent) return;
    this.closedEvent = e;
    if (e.error) this.log.warn({ code: e.error.code }, `session ended: ${e.reason}`);
    else this.log.info('session closed');
    for (const l of [...this.listeners]) l(e);
    this.listeners.clear();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    try {
      await this.client.close(SshDisconnectReason.byApplication, 'closed by user');
    } catch {
      // already gone
    }
    this.client.dispose();
    this.socket.ws.close(CloseCode.normal, 'closed by user');
    setTimeout(() => this.socket.ws.terminate(), 1000).unref();
    this.emitClosed({ sessionId: this.sessionId, reason: 'closed' });
  }

  private closedError(): ChannelError | undefined {
    if (!this.isClosed) return undefined;
    return {
      code: 'session_closed',
      sessionId: this.sessionId,
      message: this.closedEvent?.reason ?? `the session to ${this.vm} is closed`,
    };
  }

  openShell(options?: ShellOptions): Promise<Result<ShellChannel, ChannelError>> {
    return this.channels.openShell(options);
  }

  exec(command: string): Promise<Result<ExecChannel, ChannelError>> {
    return this.channels.exec(command);
  }

  openSubsystem(name: string): Promise<Result<SubsystemChannel, ChannelError>> {
    return this.channels.openSubsystem(name);
  }

  openDirectTcpip(port: number): Promise<Result<SshChannel, ChannelError>> {
    return this.channels.openDirectTcpip(port);
  }
}
