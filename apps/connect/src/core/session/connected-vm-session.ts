import type { SessionTrust } from './org-trust.js';
import { SshDisconnectReason, type SshChannel, type SshClientSession } from '@microsoft/dev-tunnels-ssh';
import { CloseCode, isResumableClose, type Result, type SessionResponse } from '@airlock/shared';
import { describeSshEnd } from '@airlock/shared/ssh';
import { ChannelOpener } from './channel-opener.js';
import { closeWithReason, socketEndError, type DataSocket, type SocketEnd } from './data-socket.js';
import type { SessionResumer } from './session-resumer.js';
import { sshProtocolError } from './ssh-handshake.js';
import type { Logger } from '../logger.js';
import type {
  ChannelError,
  ConnectionState,
  ExecChannel,
  SessionClosedEvent,
  ShellChannel,
  ShellOptions,
  SubsystemChannel,
  VmSession,
  VmSessionError,
} from './types.js';

/** Delay before resume attempt `n` (1-based): quick at first (a blip), then every few seconds. */
function retryDelayMs(attempt: number): number {
  return Math.min(250 * 2 ** (attempt - 1), 4000);
}

/**
 * An established session: the authenticated SSH client over its data socket. Owns both, takes
 * the session up again over a new socket when the connection drops (with a resumer), reports once
 * how the session ended, and leaves opening channels to a ChannelOpener.
 */
export class ConnectedVmSession implements VmSession {
  readonly sessionId: string;
  readonly vm: string;
  readonly ports: readonly number[];
  readonly hostKeyFingerprint: string;
  private closedEvent: SessionClosedEvent | undefined;
  private closing = false;
  private readonly listeners = new Set<(e: SessionClosedEvent) => void>();
  private readonly stateListeners = new Set<(e: ConnectionState) => void>();
  private readonly channels: ChannelOpener;
  private socket: DataSocket;
  private reconnecting = false;
  /** Why Connect ended the session (it could not be taken up again; the VM side broke the protocol); the close reports it. */
  private lostError: VmSessionError | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    session: SessionResponse,
    private readonly client: SshClientSession,
    socket: DataSocket,
    readonly log: Logger,
    readonly trust: SessionTrust = 'relay-only',
    private readonly resumer?: SessionResumer,
  ) {
    this.socket = socket;
    this.sessionId = session.sessionId;
    this.vm = session.vm;
    this.ports = [...session.ports];
    this.hostKeyFingerprint = session.hostKeyFingerprint;
    this.channels = new ChannelOpener(
      client,
      this,
      log,
      () => this.closedError(),
      (detail) => this.breakOff(detail),
    );
    client.onClosed((e) => {
      clearTimeout(this.retryTimer);
      if (this.lostError)
        return this.emitClosed({ sessionId: this.sessionId, reason: this.lostError.message, error: this.lostError });
      const ssh = describeSshEnd(e);
      const socket = this.socket;
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
      if (this.reconnecting) return;
      log.warn({ count }, 'keep-alive failed');
      // A silent connection is dropped; the session then resumes over a new one.
      if (count >= 2) this.socket.ws.terminate();
    });
    this.watch(socket);
  }

  /** What the end of the current data socket means: a resume, or the end of the session. */
  private watch(socket: DataSocket): void {
    void socket.ended.then((end) => {
      if (socket !== this.socket) return;
      if (!this.closing) this.log.info({ end }, 'data socket ended');
      if (this.closing || this.client.isClosed) return;
      if (this.resumer && resumable(end)) return void this.resume(describeEnd(end));
      this.client.dispose();
    });
  }

  /** Tries to take the session up again until it works, is refused, or the window has passed. */
  private async resume(reason: string): Promise<void> {
    const resumer = this.resumer!;
    this.reconnecting = true;
    const since = Date.now();
    const windowMs = resumer.windowMs;
    this.log.warn({ reason, windowMs }, 'connection lost; resuming the session');
    for (let attempt = 1; ; attempt++) {
      this.emitState({ state: 'reconnecting', attempt, reason, downMs: Date.now() - since, windowMs });
      const r = await resumer.attempt(this.client);
      if (this.closing || this.client.isClosed) {
        if (r.ok) r.socket.ws.terminate();
        return;
      }
      if (r.ok) {
        this.socket = r.socket;
        this.reconnecting = false;
        this.watch(r.socket);
        const downMs = Date.now() - since;
        this.log.info({ attempts: attempt, downMs }, 'session resumed');
        this.emitState({ state: 'resumed', attempts: attempt, downMs });
        this.emitState({ state: 'connected' });
        return;
      }
      reason = r.message;
      const delay = retryDelayMs(attempt);
      if (r.final || Date.now() - since + delay > windowMs) {
        const why = r.final ? r.message : `not resumed within ${Math.round(windowMs / 1000)} s (last: ${r.message})`;
        return this.lose(`could not resume: ${why}`);
      }
      this.log.info({ attempt, reason, retryInMs: delay }, 'resume attempt failed; trying again');
      await new Promise<void>((resolve) => (this.retryTimer = setTimeout(resolve, delay)));
    }
  }

  /**
   * The VM side broke a rule of SSH that the library does not check (a channel's window): the
   * session ends as it does when the VM side sends bad SSH, and the data socket says why.
   */
  private breakOff(detail: string): void {
    if (this.isClosed || this.lostError) return;
    this.lostError = sshProtocolError(this.sessionId, this.vm, detail);
    this.log.warn({ reason: detail }, 'closing the session: the VM side broke the SSH protocol');
    closeWithReason(this.socket.ws, CloseCode.protocolError, detail);
    this.client.dispose();
  }

  private lose(message: string): void {
    this.lostError = { code: 'resume_failed', sessionId: this.sessionId, message };
    this.log.warn(message);
    this.emitState({ state: 'lost', reason: message });
    this.client.dispose();
  }

  onConnectionState(listener: (e: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private emitState(e: ConnectionState): void {
    for (const l of [...this.stateListeners]) {
      try {
        l(e);
      } catch (error) {
        this.log.error({ err: (error as Error).message }, 'a connection-state listener threw');
      }
    }
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
    clearTimeout(this.retryTimer);
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

/** A socket that vanished or that the relay lost the other side of; not one somebody closed. */
function resumable(end: SocketEnd): boolean {
  if (end.kind === 'error') return true;
  return end.kind === 'closed' && isResumableClose(end.code);
}

function describeEnd(end: SocketEnd): string {
  if (end.kind === 'error') return end.message;
  if (end.kind === 'closed') return end.reason || `connection closed (code ${end.code})`;
  return end.kind;
}
