import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import {
  ChannelOpenMessage,
  ChannelRequestMessage,
  CommandRequestMessage,
  SshAuthenticationType,
  SshChannelError,
  SshChannelOpenFailureReason,
  SshClientSession,
  SshDisconnectReason,
  type SshChannel,
  type Stream,
} from '@microsoft/dev-tunnels-ssh';
import { WebSocket } from 'ws';
import {
  CloseCode,
  err,
  ok,
  sshFingerprint,
  WS_PATHS,
  SESSION_ID_PARAM,
  type Result,
  type SessionResponse,
} from '@airlock/shared';
import {
  BULK_WINDOW_BYTES,
  createSshConfig,
  ptyRequest,
  publicKeyBlob,
  subsystemRequest,
  webSocketSshStream,
  windowChange,
} from '@airlock/shared/ssh';
import { channelStreams, type ChannelStreams } from './channel-streams.js';
import { directTcpipOpen } from './direct-tcpip.js';
import { silentLogger, type Logger } from './logger.js';
import { RelayClient, type RelayError } from './relay-client.js';
import type { UserKey } from './user-key-store.js';

/** Why a session could not be opened (or ended), typed for callers; `message` is for people. */
export type VmSessionError =
  | RelayError
  | { code: 'ticket_rejected'; sessionId: string; message: string }
  | { code: 'session_refused'; sessionId: string; status: number; message: string }
  | { code: 'agent_refused'; sessionId: string; reason: string; message: string }
  | { code: 'agent_unavailable'; sessionId: string; message: string }
  | { code: 'auth_failed'; sessionId: string; message: string }
  | { code: 'host_key_mismatch'; sessionId: string; presented: string; registered: string; message: string }
  | { code: 'connect_timeout'; sessionId: string; message: string }
  | { code: 'session_closed'; sessionId: string; message: string };

/** Why a channel on an open session could not be opened. */
export type ChannelError =
  | { code: 'port_not_allowed'; sessionId: string; port: number; allowed: number[]; message: string }
  | { code: 'port_unreachable'; sessionId: string; port: number; message: string }
  | { code: 'channel_refused'; sessionId: string; message: string }
  | { code: 'request_refused'; sessionId: string; request: string; message: string }
  | { code: 'session_closed'; sessionId: string; message: string };

export interface ShellOptions {
  /** Ask for a pseudo-terminal (default true). Without one the remote shell reads commands from stdin. */
  pty?: boolean;
  term?: string;
  cols?: number;
  rows?: number;
}

export interface ShellChannel extends ChannelStreams {
  channel: SshChannel;
  /** Sends `window-change`; a no-op without a pty or once the channel is closed. */
  resize(cols: number, rows: number): void;
}

export interface ExecChannel extends ChannelStreams {
  channel: SshChannel;
}

export interface SubsystemChannel extends ChannelStreams {
  channel: SshChannel;
}

export interface SessionClosedEvent {
  sessionId: string;
  /** One line for people: why the session ended. */
  reason: string;
  /** Set when the end was a failure rather than our own close(). */
  error?: VmSessionError;
}

export interface VmSession {
  readonly sessionId: string;
  readonly vm: string;
  /** Ports the ticket allows forwarding to (intersection of grant and agent policy). */
  readonly ports: readonly number[];
  readonly hostKeyFingerprint: string;
  readonly log: Logger;
  readonly isClosed: boolean;
  openShell(options?: ShellOptions): Promise<Result<ShellChannel, ChannelError>>;
  exec(command: string): Promise<Result<ExecChannel, ChannelError>>;
  openSubsystem(name: string): Promise<Result<SubsystemChannel, ChannelError>>;
  /** A `direct-tcpip` channel to 127.0.0.1:`port` inside the VM, with a bulk window. */
  openDirectTcpip(port: number): Promise<Result<SshChannel, ChannelError>>;
  close(): Promise<void>;
  /** Called once when the session ends for any reason; returns an unsubscribe function. */
  onClosed(listener: (e: SessionClosedEvent) => void): () => void;
}

export interface OpenVmSessionOptions {
  relayUrl: string;
  token: string;
  vm: string;
  /** The user name the relay knows (SSH username). */
  user: string;
  userKey: UserKey;
  logger?: Logger;
  /** Whole setup (ticket → authenticated SSH session); default 20 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** POST /sessions, then the encrypted SSH session to the VM's agent through the relay. */
export async function openVmSession(options: OpenVmSessionOptions): Promise<Result<VmSession, VmSessionError>> {
  const relay = new RelayClient({ relayUrl: options.relayUrl, token: options.token, fetch: options.fetch });
  const created = await relay.createSession(options.vm);
  if (!created.ok) return created;
  return connectVmSession({
    relayUrl: relay.relayUrl,
    session: created.value,
    user: options.user,
    userKey: options.userKey,
    logger: options.logger,
    timeoutMs: options.timeoutMs,
  });
}

export interface ConnectVmSessionOptions {
  relayUrl: string;
  session: SessionResponse;
  user: string;
  userKey: UserKey;
  logger?: Logger;
  timeoutMs?: number;
}

/** The data-plane URL for a session: the ticket goes in a header, never here. */
export function dataSocketUrl(relayUrl: string, sessionId: string): string {
  const url = new URL(relayUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = url.pathname.replace(/\/+$/, '') + WS_PATHS.connect;
  url.search = `?${SESSION_ID_PARAM}=${encodeURIComponent(sessionId)}`;
  return url.toString();
}

export type SocketEnd =
  | { kind: 'refused'; status: number; reason: string }
  | { kind: 'closed'; code: number; reason: string }
  | { kind: 'error'; message: string };

/** Step 4–5 of a session: data WebSocket with the ticket, SSH handshake, host key pin, user key auth. */
export async function connectVmSession(options: ConnectVmSessionOptions): Promise<Result<VmSession, VmSessionError>> {
  const { session } = options;
  const sessionId = session.sessionId;
  const log = (options.logger ?? silentLogger).child({ sessionId, vm: session.vm });
  const timeoutMs = options.timeoutMs ?? 20_000;
  const registeredBlob = Buffer.from(session.hostKey, 'base64');
  const registered = sshFingerprint(registeredBlob);

  const url = dataSocketUrl(options.relayUrl, sessionId);
  log.debug({ url }, 'opening data socket');
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${session.ticket}` },
    handshakeTimeout: Math.min(timeoutMs, 15_000),
    perMessageDeflate: false,
  });
  // Before awaiting 'open' (notes, trap 7).
  const stream = quietAfterClose(
    webSocketSshStream(ws),
    () => ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING,
  );

  let socketEnd: SocketEnd | undefined;
  const socketEnded = new Promise<SocketEnd>((resolve) => {
    const settle = (e: SocketEnd) => {
      socketEnd ??= e;
      resolve(socketEnd);
    };
    ws.on('unexpected-response', (req, res: IncomingMessage) => {
      readRefusal(res).then((reason) => {
        settle({ kind: 'refused', status: res.statusCode ?? 0, reason });
        req.destroy();
      });
    });
    ws.on('close', (code, reason) => settle({ kind: 'closed', code, reason: reason.toString('utf8') }));
    ws.on('error', (e) => settle({ kind: 'error', message: e.message }));
  });

  const client = new SshClientSession(createSshConfig());
  client.onClosed(() => clearKeepAliveTimer(client));
  let presented: string | undefined;
  client.onAuthenticating((e) => {
    if (e.authenticationType !== SshAuthenticationType.serverPublicKey || !e.publicKey) return;
    const key = e.publicKey;
    e.authenticationPromise = (async () => {
      const blob = await publicKeyBlob(key);
      if (blob.equals(registeredBlob)) return { vm: session.vm, hostKey: registered };
      presented = sshFingerprint(blob);
      return null;
    })();
  });

  const fail = (error: VmSessionError): Result<never, VmSessionError> => {
    log.warn({ code: error.code }, error.message);
    client.dispose();
    ws.terminate();
    return err(error);
  };

  /** After the SSH layer failed, the socket's close code usually says why (relay/agent refusal). */
  const explainFailure = async (sshMessage: string): Promise<VmSessionError> => {
    const end = socketEnd ?? (await Promise.race([socketEnded, delay(1000).then(() => undefined)]));
    return socketEndError(sessionId, end, sshMessage);
  };

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const secs = Math.round(timeoutMs / 1000);
  const timeoutError = (phase: 'open' | 'handshake' | 'auth'): VmSessionError => ({
    code: 'connect_timeout',
    sessionId,
    message:
      phase === 'open'
        ? `the relay did not accept the data connection within ${secs} s`
        : phase === 'handshake'
          ? `no SSH handshake from the agent of ${session.vm} within ${secs} s (the relay accepted the connection, but nothing came back)`
          : `SSH authentication with the agent of ${session.vm} did not finish within ${secs} s`,
  });

  try {
    const opened = await Promise.race([
      once(ws, 'open').then(
        () => 'open' as const,
        () => 'failed' as const,
      ),
      socketEnded,
      timedOut,
    ]);
    if (opened === 'timeout') return fail(timeoutError('open'));
    if (opened !== 'open') return fail(await explainFailure('the data socket did not open'));
    log.debug('data socket open; starting SSH handshake');

    const connected = await Promise.race([
      client.connect(stream).then(
        () => ({ ok: true as const }),
        (e: unknown) => ({ ok: false as const, message: (e as Error).message }),
      ),
      timedOut,
    ]);
    if (connected === 'timeout') return fail(timeoutError('handshake'));
    if (!connected.ok) return fail(await explainFailure(connected.message));

    const sshKey = await options.userKey.sshKeyPair();
    const authed = await Promise.race([
      client.authenticate({ username: options.user, publicKeys: [sshKey] }).then(
        (r) => ({ ok: r, message: '' }),
        (e: unknown) => ({ ok: false, message: (e as Error).message }),
      ),
      timedOut,
    ]);
    if (authed === 'timeout') return fail(timeoutError('auth'));
    if (presented)
      return fail({
        code: 'host_key_mismatch',
        sessionId,
        presented,
        registered,
        message:
          `the VM presented host key ${presented} but the relay registered ${registered}; ` +
          'someone may be intercepting — refusing',
      });
    if (!authed.ok) {
      if (client.isClosed || socketEnd)
        return fail(await explainFailure(authed.message || 'session closed during authentication'));
      return fail({
        code: 'auth_failed',
        sessionId,
        message: `the agent on ${session.vm} refused your user key ${options.userKey.fingerprint} (it accepts only the key the relay put in the session ticket)`,
      });
    }
  } finally {
    clearTimeout(timer);
  }
  log.info({ hostKey: registered }, 'session established');
  return ok(new ConnectedVmSession(session, client, ws, socketEnded, log));
}

class ConnectedVmSession implements VmSession {
  readonly sessionId: string;
  readonly vm: string;
  readonly ports: readonly number[];
  readonly hostKeyFingerprint: string;
  private closedEvent: SessionClosedEvent | undefined;
  private closing = false;
  private readonly listeners = new Set<(e: SessionClosedEvent) => void>();

  constructor(
    session: SessionResponse,
    private readonly client: SshClientSession,
    private readonly ws: WebSocket,
    socketEnded: Promise<SocketEnd>,
    readonly log: Logger,
  ) {
    this.sessionId = session.sessionId;
    this.vm = session.vm;
    this.ports = [...session.ports];
    this.hostKeyFingerprint = session.hostKeyFingerprint;
    client.onClosed((e) => {
      // The socket's close code (if it comes) explains more than the SSH layer's message.
      void Promise.race([socketEnded, delay(300).then(() => undefined)]).then((end) => {
        if (this.closing) return this.emitClosed({ sessionId: this.sessionId, reason: 'closed' });
        const error = socketEndError(this.sessionId, end, e.message || 'SSH session closed');
        this.emitClosed({ sessionId: this.sessionId, reason: error.message, error });
      });
    });
    client.onKeepAliveFailed((count) => {
      log.warn({ count }, 'keep-alive failed');
      if (count >= 2) ws.terminate();
    });
    void socketEnded.then((end) => {
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
    this.ws.close(CloseCode.normal, 'closed by user');
    setTimeout(() => this.ws.terminate(), 1000).unref();
    this.emitClosed({ sessionId: this.sessionId, reason: 'closed' });
  }

  private closedError(): ChannelError {
    return {
      code: 'session_closed',
      sessionId: this.sessionId,
      message: this.closedEvent?.reason ?? `the session to ${this.vm} is closed`,
    };
  }

  private async openSessionChannel(): Promise<Result<SshChannel, ChannelError>> {
    if (this.isClosed) return err(this.closedError());
    try {
      const channel = await this.client.openChannel(SessionChannelType);
      return ok(channel);
    } catch (e) {
      return err(this.channelOpenError(e));
    }
  }

  private channelOpenError(e: unknown, port?: number): ChannelError {
    if (e instanceof SshChannelError) {
      const description = e.message;
      if (port !== undefined && e.reason === SshChannelOpenFailureReason.administrativelyProhibited)
        return {
          code: 'port_not_allowed',
          sessionId: this.sessionId,
          port,
          allowed: [...this.ports],
          message: `the agent refused port ${port}: ${description}`,
        };
      if (port !== undefined && e.reason === SshChannelOpenFailureReason.connectFailed)
        return {
          code: 'port_unreachable',
          sessionId: this.sessionId,
          port,
          message: `nothing answered on port ${port} inside ${this.vm}: ${description}`,
        };
      return {
        code: 'channel_refused',
        sessionId: this.sessionId,
        message: `the agent refused the channel: ${description}`,
      };
    }
    if (this.isClosed) return this.closedError();
    return { code: 'channel_refused', sessionId: this.sessionId, message: (e as Error).message };
  }

  private async request(
    channel: SshChannel,
    message: ChannelRequestMessage,
    what: string,
  ): Promise<Result<void, ChannelError>> {
    try {
      if (await channel.request(message)) return ok(undefined);
      void channel.close().catch(() => {});
      return err({
        code: 'request_refused',
        sessionId: this.sessionId,
        request: what,
        message: `the agent refused ${what}`,
      });
    } catch (e) {
      void channel.close().catch(() => {});
      if (this.isClosed) return err(this.closedError());
      return err({
        code: 'request_refused',
        sessionId: this.sessionId,
        request: what,
        message: `${what} failed: ${(e as Error).message}`,
      });
    }
  }

  async openShell(options: ShellOptions = {}): Promise<Result<ShellChannel, ChannelError>> {
    const opened = await this.openSessionChannel();
    if (!opened.ok) return opened;
    const channel = opened.value;
    const streams = channelStreams(channel);
    const pty = options.pty ?? true;
    if (pty) {
      const r = await this.request(
        channel,
        ptyRequest({ term: options.term ?? 'xterm-256color', cols: options.cols ?? 80, rows: options.rows ?? 24 }),
        'a terminal (pty-req)',
      );
      if (!r.ok) return r;
    }
    const r = await this.request(channel, new ChannelRequestMessage('shell', true), 'a shell');
    if (!r.ok) return r;
    this.log.debug({ channel: channel.channelId, pty }, 'shell open');
    const resize = (cols: number, rows: number) => {
      if (!pty || channel.isClosed) return;
      channel.request(windowChange(cols, rows)).catch(() => {});
    };
    return ok({ channel, resize, ...streams });
  }

  async exec(command: string): Promise<Result<ExecChannel, ChannelError>> {
    const opened = await this.openSessionChannel();
    if (!opened.ok) return opened;
    const channel = opened.value;
    const streams = channelStreams(channel);
    const message = new CommandRequestMessage();
    message.command = command;
    message.wantReply = true;
    const r = await this.request(channel, message, 'the command');
    if (!r.ok) return r;
    this.log.debug({ channel: channel.channelId }, 'exec started');
    return ok({ channel, ...streams });
  }

  async openSubsystem(name: string): Promise<Result<SubsystemChannel, ChannelError>> {
    const open = new ChannelOpenMessage();
    open.channelType = SessionChannelType;
    open.maxWindowSize = BULK_WINDOW_BYTES;
    if (this.isClosed) return err(this.closedError());
    let channel: SshChannel;
    try {
      channel = await this.client.openChannel(open);
    } catch (e) {
      return err(this.channelOpenError(e));
    }
    const streams = channelStreams(channel);
    const r = await this.request(channel, subsystemRequest(name), `the ${name} subsystem`);
    if (!r.ok) return r;
    this.log.debug({ channel: channel.channelId, subsystem: name }, 'subsystem open');
    return ok({ channel, ...streams });
  }

  async openDirectTcpip(port: number): Promise<Result<SshChannel, ChannelError>> {
    if (!this.ports.includes(port)) return err(portNotAllowed(this.sessionId, this.vm, port, this.ports));
    if (this.isClosed) return err(this.closedError());
    try {
      const channel = await this.client.openChannel(
        directTcpipOpen({ host: '127.0.0.1', port, maxWindowSize: BULK_WINDOW_BYTES }),
      );
      this.log.debug({ channel: channel.channelId, port }, 'direct-tcpip open');
      return ok(channel);
    } catch (e) {
      const error = this.channelOpenError(e, port);
      this.log.info({ port, code: error.code }, error.message);
      return err(error);
    }
  }
}

const SessionChannelType = 'session';

export function portNotAllowed(sessionId: string, vm: string, port: number, allowed: readonly number[]): ChannelError {
  return {
    code: 'port_not_allowed',
    sessionId,
    port,
    allowed: [...allowed],
    message:
      `port ${port} on ${vm} is not allowed for you` +
      (allowed.length ? ` (allowed: ${allowed.join(', ')})` : ' (no ports are allowed on this VM)'),
  };
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
 * dev-tunnels-ssh 3.12.42: `close()` marks the session disposed before calling `dispose()`, which
 * then skips clearing the keep-alive timer — a closed session keeps the process alive for up to
 * `keepAliveTimeoutInSeconds`. Clear it ourselves once the session has closed.
 */
function clearKeepAliveTimer(session: SshClientSession): void {
  const s = session as unknown as { keepAliveTimer?: NodeJS.Timeout };
  if (s.keepAliveTimer) {
    clearTimeout(s.keepAliveTimer);
    s.keepAliveTimer = undefined;
  }
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
