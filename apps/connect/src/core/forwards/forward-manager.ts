import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { err, ok, resetSocket, type Result } from '@airlock/shared';
import { bridgeChannel } from '@airlock/shared/ssh';
import { portNotAllowed, portUnreachable } from '../session/channel-opener.js';
import type { ChannelError, VmSession } from '../session/types.js';

/** Forwards bind loopback only: a forward must never expose the VM to the user's network. */
export const FORWARD_BIND_HOST = '127.0.0.1';

export interface Forward {
  remotePort: number;
  localPort: number;
  /** Always 127.0.0.1. */
  localHost: string;
  /** `127.0.0.1:<localPort>` */
  localAddress: string;
}

export type ForwardError =
  | Extract<ChannelError, { code: 'port_not_allowed' }>
  | { code: 'local_port_in_use'; localPort: number; message: string }
  | { code: 'local_bind_failed'; localPort: number; message: string }
  | { code: 'session_closed'; sessionId: string; message: string };

export type ForwardEvent =
  | { type: 'connection-opened'; sessionId: string; remotePort: number; localPort: number; connectionId: number }
  | {
      type: 'connection-closed';
      sessionId: string;
      remotePort: number;
      localPort: number;
      connectionId: number;
      /** Set when the connection was reset rather than closed cleanly: why. */
      reset?: string;
      /** Set when the agent could not connect to the port inside the VM. */
      failure?: Extract<ChannelError, { code: 'port_unreachable' }>;
    }
  | {
      type: 'connection-refused';
      sessionId: string;
      remotePort: number;
      localPort: number;
      connectionId: number;
      error: ChannelError;
    };

interface Listener {
  forward: Forward;
  server: Server;
  sockets: Set<Socket>;
  /** Bytes of connections that have closed: to the local client (from the VM), and from it. */
  closedBytesIn: number;
  closedBytesOut: number;
}

/** A forward's traffic: open connections, and bytes since it started (from the VM, and to it). */
export interface ForwardStats {
  connections: number;
  bytesIn: number;
  bytesOut: number;
}

export interface ForwardManagerOptions {
  /**
   * Keep the listeners when the session ends, for `replaceSession` to put a new one under them
   * (`airlock forward` re-opening after an agent restart or a network drop). Default false: the
   * manager closes with its session.
   */
  keepListeners?: boolean;
  /** With `keepListeners`: how long a new local connection waits for a replacement session. */
  replacementWaitMs?: number;
}

/**
 * Local TCP listeners on 127.0.0.1 whose connections each become a `direct-tcpip` channel to
 * the VM, bridged with half-close and flow control. Several forwards share one session, which
 * can be swapped for a new one under the same listeners.
 */
export class ForwardManager {
  private readonly listeners: Listener[] = [];
  private readonly eventListeners = new Set<(e: ForwardEvent) => void>();
  private readonly waiting = new Set<(s: VmSession | undefined) => void>();
  private nextConnectionId = 1;
  private closed = false;
  private session: VmSession;
  private unsubscribe: () => void;
  private readonly keepListeners: boolean;
  private readonly replacementWaitMs: number;

  constructor(session: VmSession, options: ForwardManagerOptions = {}) {
    this.session = session;
    this.keepListeners = options.keepListeners ?? false;
    this.replacementWaitMs = options.replacementWaitMs ?? 30_000;
    this.unsubscribe = this.follow(session);
  }

  private follow(session: VmSession): () => void {
    return session.onClosed(() => {
      if (!this.keepListeners) void this.close();
    });
  }

  /** The session new connections use. */
  get currentSession(): VmSession {
    return this.session;
  }

  /**
   * Puts `next` (a session to the same VM) under the listeners: new connections use it, and
   * connections waiting for a session get it. Connections on the old session end with it.
   */
  replaceSession(next: VmSession): void {
    if (next.vm !== this.session.vm)
      throw new Error(`replaceSession: ${next.vm} is not the forwarded VM ${this.session.vm}`);
    if (this.closed) return;
    this.unsubscribe();
    this.session = next;
    this.unsubscribe = this.follow(next);
    next.log.info({ forwards: this.listeners.length }, 'forwards moved to a new session');
    for (const w of [...this.waiting]) w(next);
  }

  /** The open session for a new connection: the current one, or (keeping listeners) the next one. */
  private sessionForConnection(): Promise<VmSession | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    if (!this.session.isClosed || !this.keepListeners) return Promise.resolve(this.session);
    return new Promise((resolve) => {
      const done = (s: VmSession | undefined) => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve(s);
      };
      const timer = setTimeout(() => done(undefined), this.replacementWaitMs);
      this.waiting.add(done);
    });
  }

  get forwards(): Forward[] {
    return this.listeners.map((l) => ({ ...l.forward }));
  }

  /**
   * The traffic of the forward on `localPort` (undefined if there is none), counted at the local
   * sockets — nothing is counted on the data path.
   */
  stats(localPort: number): ForwardStats | undefined {
    const l = this.listeners.find((x) => x.forward.localPort === localPort);
    if (!l) return undefined;
    let bytesIn = l.closedBytesIn;
    let bytesOut = l.closedBytesOut;
    for (const s of l.sockets) {
      bytesIn += s.bytesWritten;
      bytesOut += s.bytesRead;
    }
    return { connections: l.sockets.size, bytesIn, bytesOut };
  }

  onEvent(listener: (e: ForwardEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  private emit(e: ForwardEvent): void {
    for (const l of this.eventListeners) l(e);
  }

  /**
   * Refuses a port the ticket does not allow — after asking the agent all the same: it refuses
   * too and reports the refusal to the relay's audit log, which a refusal made here alone would
   * never reach.
   */
  async checkPort(remotePort: number): Promise<Result<void, Extract<ChannelError, { code: 'port_not_allowed' }>>> {
    const { session } = this;
    if (session.ports.includes(remotePort)) return ok(undefined);
    const asked = await session.openDirectTcpip(remotePort);
    if (asked.ok) void asked.value.close().catch(() => {});
    const e = portNotAllowed(session.sessionId, session.vm, remotePort, session.ports);
    return err(e as Extract<ChannelError, { code: 'port_not_allowed' }>);
  }

  /** Starts listening on 127.0.0.1:`localPort` (0 = any free port) and resolves with the real port. */
  async add(remotePort: number, localPort = 0): Promise<Result<Forward, ForwardError>> {
    const { session } = this;
    // Keeping listeners, a forward may be added while a new session is on its way: its
    // connections wait for it like the others'.
    if (this.closed || (session.isClosed && !this.keepListeners)) return this.sessionClosed();
    const allowed = await this.checkPort(remotePort);
    if (!allowed.ok) return allowed;
    const sockets = new Set<Socket>();
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) =>
      this.accept(listener, socket),
    );
    const listener: Listener = {
      forward: { remotePort, localPort: 0, localHost: FORWARD_BIND_HOST, localAddress: '' },
      server,
      sockets,
      closedBytesIn: 0,
      closedBytesOut: 0,
    };
    server.listen({ host: FORWARD_BIND_HOST, port: localPort, exclusive: true });
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e as Error))]);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      server.close();
      if (code === 'EADDRINUSE')
        return err({
          code: 'local_port_in_use',
          localPort,
          message: `local port ${localPort} is already in use; pick another (e.g. ${remotePort}:0 for any free port)`,
        });
      return err({
        code: 'local_bind_failed',
        localPort,
        message: `cannot listen on ${FORWARD_BIND_HOST}:${localPort}: ${code ?? (e as Error).message}`,
      });
    }
    // The manager closed while this add was on its way (a dropped session, a logout): the
    // listener it has just opened would outlive it, unlisted and holding the port.
    if (this.closed) {
      server.close();
      return this.sessionClosed();
    }
    server.on('error', (e) => this.session.log.warn({ remotePort, error: e.message }, 'forward listener error'));
    const port = (server.address() as AddressInfo).port;
    listener.forward = {
      remotePort,
      localPort: port,
      localHost: FORWARD_BIND_HOST,
      localAddress: `${FORWARD_BIND_HOST}:${port}`,
    };
    this.listeners.push(listener);
    session.log.info({ remotePort, localPort: port }, 'forward listening');
    return ok({ ...listener.forward });
  }

  private sessionClosed(): Result<never, ForwardError> {
    const { session } = this;
    return err({
      code: 'session_closed',
      sessionId: session.sessionId,
      message: `the session to ${session.vm} is closed`,
    });
  }

  private accept(listener: Listener, socket: Socket): void {
    const { remotePort, localPort } = listener.forward;
    const connectionId = this.nextConnectionId++;
    listener.sockets.add(socket);
    socket.on('close', () => {
      listener.sockets.delete(socket);
      listener.closedBytesIn += socket.bytesWritten;
      listener.closedBytesOut += socket.bytesRead;
    });
    socket.on('error', () => {}); // reported through the bridge's outcome
    void this.sessionForConnection().then(async (session) => {
      const sessionId = session?.sessionId ?? this.session.sessionId;
      const base = { sessionId, remotePort, localPort, connectionId };
      const opened = session
        ? await session.openDirectTcpip(remotePort)
        : err<ChannelError>({
            code: 'session_closed',
            sessionId,
            message: `no session to ${this.session.vm} (waiting for a new one timed out)`,
          });
      const log = (session ?? this.session).log;
      if (!opened.ok) {
        log.info({ ...base, code: opened.error.code }, `forwarded connection refused: ${opened.error.message}`);
        resetSocket(socket);
        this.emit({ type: 'connection-refused', ...base, error: opened.error });
        return;
      }
      if (socket.destroyed || this.closed) {
        void opened.value.close().catch(() => {});
        resetSocket(socket);
        return;
      }
      this.emit({ type: 'connection-opened', ...base });
      bridgeChannel(opened.value, socket, {
        onDone: (outcome) => {
          if (outcome.kind === 'completed') {
            log.debug(base, 'forwarded connection closed');
            return this.emit({ type: 'connection-closed', ...base });
          }
          const failure =
            outcome.kind === 'channel-lost' && outcome.connectFailed !== undefined
              ? portUnreachable(sessionId, this.session.vm, remotePort, outcome.connectFailed)
              : undefined;
          log.info(
            { ...base, reason: outcome.reason },
            `forwarded connection reset: ${failure?.message ?? outcome.reason}`,
          );
          this.emit({ type: 'connection-closed', ...base, reset: outcome.reason, ...(failure ? { failure } : {}) });
        },
      });
      socket.resume();
    });
  }

  /** Stops one forward's listener (open connections keep running until they end). */
  async remove(localPort: number): Promise<boolean> {
    const i = this.listeners.findIndex((l) => l.forward.localPort === localPort);
    if (i < 0) return false;
    const [l] = this.listeners.splice(i, 1);
    await new Promise<void>((r) => l!.server.close(() => r()));
    return true;
  }

  /** Stops all listeners and resets their open connections (RST: a cut transfer must not look complete). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const w of [...this.waiting]) w(undefined);
    const all = this.listeners.splice(0);
    await Promise.all(
      all.map(
        (l) =>
          new Promise<void>((r) => {
            for (const s of l.sockets) resetSocket(s);
            l.server.close(() => r());
          }),
      ),
    );
  }
}
